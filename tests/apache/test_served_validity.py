"""Validity of every certificate Apache serves, the ones it adds itself included.

With only the leaf in SSLCertificateFile, OpenSSL completes the chain from SSLCACertificateFile.
An intermediate there that is expired (or not yet valid) is sent all the same, and clients fail
(verify error 10 / 9): certlint says so at the SSLCACertificateFile line, and `fix` never copies
such a certificate into a new chain (it refuses, or takes a current one from --intermediates).
Each claim is checked with the real apache2 and `openssl s_client -verify_return_error`.
"""

from __future__ import annotations

import json
import os

import pytest

from tests.support import servers
from tests.support.apache import ApacheServer, apache_binary, modules
from tests.support.pki import CA, DAY, NOW, cert_pem, write


@pytest.fixture(autouse=True)
def _env(tmp_path, monkeypatch):
    apache_binary()
    monkeypatch.setenv("CERTLINT_CACHE_DIR", str(tmp_path / "aia-cache"))


def make_site(tmp_path, when: str) -> dict:
    """A leaf-only site whose SSLCACertificateFile holds an out-of-date intermediate (same
    name and key as the current one, which is kept aside in `current/`)."""
    root = CA("certlint Served Root")
    inter = root.intermediate("certlint Served Intermediate")
    leaf = inter.leaf("example.test")
    if when == "expired":
        dates = {"not_before": NOW - 400 * DAY, "not_after": NOW - 2 * DAY}
    elif when == "soon":
        dates = {"not_before": NOW - 400 * DAY, "not_after": NOW + 5 * DAY}
    else:
        dates = {"not_before": NOW + 5 * DAY, "not_after": NOW + 400 * DAY}
    stale = CA(inter.cn, parent=root, key=inter.key, **dates)
    folder = tmp_path / "site"
    paths = {
        "leaf": write(folder / "leaf.pem", cert_pem(leaf.cert)),
        "key": write(folder / "leaf.key", leaf.key_pem, 0o600),
        "ca": write(folder / "ca.pem", cert_pem(stale.cert)),
        "root": write(tmp_path / "root.pem", root.pem),
        "current": os.path.dirname(write(tmp_path / "current" / "inter.pem", inter.pem)),
    }
    conf = folder / "apache2.conf"
    conf.write_text(modules("mpm_event", "authz_core", "ssl") + "ServerName localhost\n"
                    "Listen 443\n<VirtualHost *:443>\n    ServerName example.test\n"
                    "    SSLEngine on\n    SSLCertificateFile leaf.pem\n"
                    "    SSLCertificateKeyFile leaf.key\n    SSLCACertificateFile ca.pem\n"
                    "</VirtualHost>\n")
    paths["conf"] = str(conf)
    return paths


def hello(site: dict, tmp_path) -> servers.Result:
    with ApacheServer(site["conf"], str(tmp_path / "state")) as server:
        return servers.s_client(server.port(443), "example.test", site["root"])


@pytest.mark.parametrize("when,rule,code", [("expired", "cert-expired", 10),
                                            ("future", "cert-not-yet-valid", 9)])
def test_out_of_date_intermediate_from_the_ca_file(when, rule, code, tmp_path, certlint):
    site = make_site(tmp_path, when)

    status, payload = certlint.json(site["conf"], "--ca-bundle", site["root"])

    found = [(f["rule"], f["line"], f["severity"]) for f in payload["findings"]]
    assert (rule, 11, "error") in found, payload["findings"]
    assert status == 1
    result = hello(site, tmp_path)
    assert not result.ok and f"verify error:num={code}:" in result.output, result.output


@pytest.mark.parametrize("when", ["expired", "future"])
def test_fix_never_copies_an_out_of_date_certificate(when, tmp_path, certlint):
    site = make_site(tmp_path, when)
    before = sorted(os.listdir(os.path.dirname(site["conf"])))

    result = certlint("fix", "--write", "--offline", "--format", "json", "--ca-bundle",
                      site["root"], site["conf"])

    assert result.exit_code == 1, result.output
    assert json.loads(result.stdout)["written"] == []
    assert sorted(os.listdir(os.path.dirname(site["conf"]))) == before


def test_fix_takes_the_current_intermediate_and_clients_verify(tmp_path, certlint):
    site = make_site(tmp_path, "expired")

    result = certlint("fix", "--write", "--offline", "--ca-bundle", site["root"],
                      "--intermediates", site["current"], site["conf"])

    status, payload = certlint.json(site["conf"], "--ca-bundle", site["root"])
    assert [f["rule"] for f in payload["findings"] if f["severity"] == "error"] == []
    assert hello(site, tmp_path).ok
    assert result.exit_code == 0, result.output


def test_root_in_the_ca_file_with_an_expired_intermediate_is_not_copied(tmp_path, certlint):
    # the chain-contains-root fix (serve leaf + intermediates from SSLCertificateFile) would
    # copy the expired intermediate: the last check refuses it
    site = make_site(tmp_path, "expired")
    with open(site["ca"], "ab") as fh, open(site["root"], "rb") as root:
        fh.write(root.read())

    result = certlint("fix", "--write", "--offline", "--format", "json", "--ca-bundle",
                      site["root"], site["conf"])

    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert report["written"] == []
    reasons = {r["rule"]: r["reason"] for r in report["remaining"]}
    assert "refused by the last check before writing" in reasons["chain-contains-root"]
    assert "expired on" in reasons["chain-contains-root"], reasons


def test_intermediate_from_the_ca_file_expiring_soon_is_reported_there(tmp_path, certlint):
    site = make_site(tmp_path, "soon")
    status, payload = certlint.json(site["conf"], "--ca-bundle", site["root"])
    found = [(f["rule"], f["line"]) for f in payload["findings"]]
    assert found == [("cert-expiring-soon", 11)], payload["findings"]
    assert "Apache adds it from SSLCACertificateFile ca.pem" in payload["findings"][0]["message"]
    assert hello(site, tmp_path).ok  # still served and verified today
