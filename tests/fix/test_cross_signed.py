"""A served cross-signed intermediate that leads nowhere: `fix` finds the path that works.

The intermediate's cross-sign (same subject and key, issued by a root nobody trusts) is served
after the leaf. OpenSSL clients follow it and fail. The intermediate that reaches the trusted
root is at the leaf's AIA URL, in an `--intermediates` folder, or in a bundle file beside the
certificate: `fix` tries those alternatives before refusing, and after `fix --write` the real
apache2 serves a chain `openssl s_client -verify_return_error` accepts.
"""

from __future__ import annotations

import os

import pytest

from tests.support import servers
from tests.support.apache import ApacheServer, apache_binary, modules
from tests.support.ca_http import CaHttp
from tests.support.pki import CA, cert_der, cert_pem, write


@pytest.fixture(autouse=True)
def _env(tmp_path, monkeypatch):
    apache_binary()
    monkeypatch.setenv("CERTLINT_CACHE_DIR", str(tmp_path / "aia-cache"))


def make_site(tmp_path, aia_url: str | None) -> dict:
    root = CA("certlint Trusted Root")
    untrusted = CA("certlint Untrusted Old Root")
    inter = root.intermediate("certlint Cross Intermediate")
    cross = untrusted.cross_sign(inter)
    leaf = inter.leaf("example.test", ca_issuers=[aia_url] if aia_url else None)
    folder = tmp_path / "site"
    site = {
        "cert": write(folder / "site.pem", cert_pem(leaf.cert, cross)),
        "key": write(folder / "site.key", leaf.key_pem, 0o600),
        "root": write(tmp_path / "root.pem", root.pem),
        "inter": inter,
        "folder": str(folder),
    }
    conf = folder / "apache2.conf"
    conf.write_text(modules("mpm_event", "authz_core", "ssl") + "ServerName localhost\n"
                    "Listen 443\n<VirtualHost *:443>\n    ServerName example.test\n"
                    "    SSLEngine on\n    SSLCertificateFile site.pem\n"
                    "    SSLCertificateKeyFile site.key\n</VirtualHost>\n")
    site["conf"] = str(conf)
    return site


def hello(site: dict, tmp_path, name: str) -> servers.Result:
    with ApacheServer(site["conf"], str(tmp_path / name)) as server:
        return servers.s_client(server.port(443), "example.test", site["root"])


def assert_fixed(site, tmp_path, certlint, result):
    assert result.exit_code == 0, result.output
    code, payload = certlint.json(site["conf"], "--ca-bundle", site["root"])
    assert payload["findings"] == [] and code == 0, payload["findings"]
    after = hello(site, tmp_path, "after")
    assert after.ok, after.output


def test_before_the_fix_certlint_and_clients_agree_it_fails(tmp_path, certlint):
    site = make_site(tmp_path, None)
    code, payload = certlint.json(site["conf"], "--ca-bundle", site["root"])
    assert [f["rule"] for f in payload["findings"]] == ["chain-incomplete"] and code == 1
    before = hello(site, tmp_path, "before")
    assert not before.ok and "unable to get local issuer certificate" in before.output


def test_without_any_alternative_fix_refuses(tmp_path, certlint):
    site = make_site(tmp_path, None)
    result = certlint("fix", "--write", "--offline", "--ca-bundle", site["root"], site["conf"])
    assert result.exit_code == 1
    assert "not fixed" in result.stderr and "Untrusted Old Root" in result.stderr


def test_fix_takes_the_intermediate_from_the_leafs_aia_url(tmp_path, certlint):
    with CaHttp() as ca:
        url = ca.url("/inter.crt")
        site = make_site(tmp_path, url)
        ca.serve("/inter.crt", cert_der(site["inter"].cert))

        result = certlint("fix", "--write", "--aia-private", "--ca-bundle", site["root"],
                          site["conf"])

        assert ca.count("/inter.crt") == 1
    assert_fixed(site, tmp_path, certlint, result)


def test_fix_takes_the_intermediate_from_an_intermediates_folder(tmp_path, certlint):
    site = make_site(tmp_path, None)
    folder = os.path.dirname(write(tmp_path / "intermediates" / "i.pem", site["inter"].pem))
    result = certlint("fix", "--write", "--offline", "--intermediates", folder, "--ca-bundle",
                      site["root"], site["conf"])
    assert_fixed(site, tmp_path, certlint, result)


def test_fix_takes_the_intermediate_from_a_bundle_beside_the_certificate(tmp_path, certlint):
    site = make_site(tmp_path, None)
    write(os.path.join(site["folder"], "site.ca-bundle"), site["inter"].pem)
    result = certlint("fix", "--write", "--offline", "--ca-bundle", site["root"], site["conf"])
    assert_fixed(site, tmp_path, certlint, result)
