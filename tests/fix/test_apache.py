"""`certlint fix --write` on Apache configs, proven with a real apache2 and `openssl s_client`.

Apache >= 2.4.8 gets the full chain in SSLCertificateFile (a redundant SSLCertificateChainFile of
the vhost is commented out); older Apache (`--apache-version 2.4.7`) gets an
SSLCertificateChainFile line. The installed apache2 reads both forms, so each is checked live.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.support import servers
from tests.support.apache import ApacheServer, apache_binary
from tests.support.ca_http import CaHttp, PublishedCA
from tests.support.paths import REPO
from tests.support.pki import StandardPKI, cert_pem, write
from tests.support.trees import TLS_MODULES, apache_vhost, write_apache


@pytest.fixture(autouse=True)
def _env(tmp_path, monkeypatch, certlint):
    apache_binary()
    servers.require("openssl")
    monkeypatch.setenv("CERTLINT_CACHE_DIR", str(tmp_path / "aia-cache"))
    monkeypatch.chdir(tmp_path)  # the checkout: fix writes only inside it (SECURITY.md 1)
    certlint.workstation()  # loopback AIA allowed, as outside CI (network/test_fetch.py)


def apache_conf(folder, vhost: str) -> str:
    return write_apache(os.path.join(folder, "apache2.conf"), apache_vhost(None, None, body=vhost),
                        modules=TLS_MODULES)


def verify_live(tmp_path, entry: str, root: str, state: str) -> servers.Result:
    server = ApacheServer(entry, str(tmp_path / state))
    started = server.start()
    if not started.ok:
        return started
    try:
        return servers.s_client(server.port(443), "example.test", root)
    finally:
        server.stop()


def read(path) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()


def leaf_only(tmp_path, http):
    ca = PublishedCA(http)
    leaf = ca.leaf("example.test")
    folder = tmp_path / "conf"
    write(folder / "site.pem", leaf.pem)
    write(folder / "site.key", leaf.key_pem, 0o600)
    root = write(tmp_path / "root.pem", ca.root.pem)
    return folder, root, ca, leaf


def test_leaf_only_apache_site_verifies_after_fix(tmp_path, certlint):
    with CaHttp() as http:
        folder, root, ca, leaf = leaf_only(tmp_path, http)
        entry = apache_conf(folder, "    SSLCertificateFile site.pem\n"
                                    "    SSLCertificateKeyFile site.key\n")
        assert not verify_live(tmp_path, entry, root, "before").ok
        key_before = read(folder / "site.key")

        result = certlint("fix", "--write", "--server", "apache", "--ca-bundle", root, entry)

        assert result.exit_code == 0, result.output
        assert http.count() == 1
    assert "    SSLCertificateFile site.fullchain.pem\n" in read(entry).decode()
    after = verify_live(tmp_path, entry, root, "after")
    assert after.ok, after.output
    assert read(folder / "site.key") == key_before
    again = certlint("fix", "--server", "apache", "--ca-bundle", root, entry)
    assert again.exit_code == 0 and again.stdout == ""


def test_old_apache_gets_a_chain_file_line(tmp_path, certlint):
    with CaHttp() as http:
        folder, root, ca, leaf = leaf_only(tmp_path, http)
        entry = apache_conf(folder, "    SSLCertificateFile site.pem\n"
                                    "    SSLCertificateKeyFile site.key\n")

        result = certlint("fix", "--write", "--server", "apache", "--apache-version", "2.4.7",
                          "--ca-bundle", root, entry)

        assert result.exit_code == 0, result.output
    text = read(entry).decode()
    assert ("    SSLCertificateFile site.pem\n    SSLCertificateChainFile site.chain.pem\n"
            in text)
    assert read(folder / "site.chain.pem") == ca.lowest.pem
    after = verify_live(tmp_path, entry, root, "after")
    assert after.ok, after.output


def test_redundant_chain_file_is_commented_out(tmp_path, certlint):
    pki = StandardPKI.make("example.test")
    folder = tmp_path / "conf"
    write(folder / "site.pem", pki.leaf.pem)
    write(folder / "site.key", pki.leaf.key_pem, 0o600)
    # the chain file sends the root too and the intermediate second: wrong, and deprecated
    write(folder / "chain.pem", cert_pem(pki.root.cert, pki.inter.cert))
    root = write(tmp_path / "root.pem", pki.root.pem)
    entry = apache_conf(folder, "    SSLCertificateFile site.pem\n"
                                "    SSLCertificateKeyFile site.key\n"
                                "    SSLCertificateChainFile chain.pem\n")

    result = certlint("fix", "--offline", "--write", "--server", "apache", "--ca-bundle", root,
                      entry)

    assert result.exit_code == 0, result.output
    text = read(entry).decode()
    assert "    SSLCertificateFile site.fullchain.pem\n" in text
    assert "    # SSLCertificateChainFile chain.pem\n" in text
    assert read(folder / "site.fullchain.pem") == cert_pem(pki.leaf.cert, pki.inter.cert)
    assert read(folder / "chain.pem") == cert_pem(pki.root.cert, pki.inter.cert)  # kept
    after = verify_live(tmp_path, entry, root, "after")
    assert after.ok, after.output


def test_wrong_order_with_key_inside_cert_file_starts_after_fix(tmp_path, certlint):
    pki = StandardPKI.make("example.test")
    folder = tmp_path / "conf"
    combined = cert_pem(pki.inter.cert, pki.leaf.cert) + pki.leaf.key_pem
    write(folder / "site.pem", combined, 0o600)
    root = write(tmp_path / "root.pem", pki.root.pem)
    entry = apache_conf(folder, "    SSLCertificateFile site.pem\n")
    refused = ApacheServer(entry, str(tmp_path / "before"))
    assert not refused.start().ok
    refused.stop()

    result = certlint("fix", "--offline", "--write", "--server", "apache", "--ca-bundle", root,
                      entry)

    assert result.exit_code == 0, result.output
    text = read(entry).decode()
    assert ("    SSLCertificateFile site.fullchain.pem\n    SSLCertificateKeyFile site.pem\n"
            in text)
    assert read(folder / "site.pem") == combined  # the file holding the key is untouched
    assert b"PRIVATE KEY" not in read(folder / "site.fullchain.pem")
    after = verify_live(tmp_path, entry, root, "after")
    assert after.ok, after.output


def test_apache_patch_applies_like_write(tmp_path, certlint, monkeypatch):
    import shutil

    pki = StandardPKI.make("example.test")
    folder = tmp_path / "conf"
    write(folder / "site.pem", cert_pem(pki.inter.cert, pki.leaf.cert))
    write(folder / "site.key", pki.leaf.key_pem, 0o600)
    root = write(tmp_path / "root.pem", pki.root.pem)
    apache_conf(folder, "    SSLCertificateFile site.pem\n"
                        "    SSLCertificateKeyFile site.key\n")
    clean = tmp_path / "clean"
    shutil.copytree(folder, clean)
    monkeypatch.chdir(folder)
    args = ["--offline", "--server", "apache", "--ca-bundle", root, "apache2.conf"]

    assert certlint("fix", "--patch", tmp_path / "p.patch", *args).exit_code == 0
    assert certlint("fix", "--write", *args).exit_code == 0
    git = servers.require("git")
    applied = subprocess.run([git, "apply", str(tmp_path / "p.patch")], cwd=clean,
                             capture_output=True, text=True)
    assert applied.returncode == 0, applied.stderr
    for name in ("apache2.conf", "site.fullchain.pem", "site.pem", "site.key"):
        assert read(clean / name) == read(folder / name)


@pytest.mark.parametrize("case", ["defines", "syntax", "leaf-only", "wrong-order",
                                  "contains-root"])
def test_apache_fixture_cases_serve_a_verified_chain_after_fix(case, tmp_path, certlint):
    """The apache fixtures (Define variables, continued directives, odd case and quotes) are
    fixed in a copy, and the real apache2 then serves a chain that verifies."""
    import shutil

    fixtures = os.path.join(REPO, "fixtures")
    copy = tmp_path / "fixtures"
    shutil.copytree(os.path.join(fixtures, "pki"), copy / "pki")
    shutil.copytree(os.path.join(fixtures, "apache", case), copy / "apache" / case)
    entry = str(copy / "apache" / case / "apache2.conf")
    root = str(copy / "pki" / "root.pem")
    keys = {n: read(copy / "pki" / "demo-keys" / n) for n in os.listdir(copy / "pki" /
                                                                       "demo-keys")}

    result = certlint("fix", "--offline", "--write", "--server", "apache", "--ca-bundle", root,
                      entry)

    assert result.exit_code == 0, result.output
    after = verify_live(tmp_path, entry, root, "after")
    assert after.ok, after.output
    assert {n: read(copy / "pki" / "demo-keys" / n) for n in keys} == keys
    again = certlint("fix", "--offline", "--server", "apache", "--ca-bundle", root, entry)
    assert again.exit_code == 0 and again.stdout == ""


def test_removing_a_shared_chain_file_gives_every_certificate_its_full_chain(tmp_path,
                                                                            certlint):
    """RSA + ECDSA in one vhost, one SSLCertificateChainFile holding only the RSA
    intermediate: fixing the ECDSA chain removes the chain file, so the RSA certificate must
    get its own full chain too, or the fix would break it."""
    rsa = StandardPKI.make("example.test", key_kind="rsa")
    ec = StandardPKI.make("example.test")
    folder = tmp_path / "conf"
    write(folder / "rsa.pem", rsa.leaf.pem)
    write(folder / "rsa.key", rsa.leaf.key_pem, 0o600)
    write(folder / "ec.pem", ec.leaf.pem)
    write(folder / "ec.key", ec.leaf.key_pem, 0o600)
    write(folder / "chain.pem", rsa.inter.pem)
    write(tmp_path / "inters" / "ec-inter.pem", ec.inter.pem)
    roots = write(tmp_path / "roots.pem", rsa.root.pem + ec.root.pem)
    entry = apache_conf(folder, "    SSLCertificateFile rsa.pem\n"
                                "    SSLCertificateKeyFile rsa.key\n"
                                "    SSLCertificateFile ec.pem\n"
                                "    SSLCertificateKeyFile ec.key\n"
                                "    SSLCertificateChainFile chain.pem\n")

    result = certlint("fix", "--offline", "--write", "--server", "apache", "--intermediates",
                      tmp_path / "inters", "--ca-bundle", roots, entry)

    assert result.exit_code == 0, result.output
    assert read(folder / "rsa.fullchain.pem") == cert_pem(rsa.leaf.cert, rsa.inter.cert)
    assert read(folder / "ec.fullchain.pem") == cert_pem(ec.leaf.cert, ec.inter.cert)
    assert "    # SSLCertificateChainFile chain.pem\n" in read(entry).decode()
    server = ApacheServer(entry, str(tmp_path / "after"))
    assert server.start().ok
    try:
        for sigalg in ("rsa_pss_rsae_sha256", "ecdsa_secp256r1_sha256"):
            live = servers.s_client(server.port(443), "example.test", roots,
                                    extra=["-sigalgs", sigalg])
            assert live.ok, (sigalg, live.output)
    finally:
        server.stop()


def test_certbot_layout_on_old_apache_names_chain_pem(tmp_path, certlint):
    pki = StandardPKI.make("example.test")
    live = tmp_path / "live"
    write(live / "cert.pem", pki.leaf.pem)
    write(live / "chain.pem", pki.inter.pem)
    write(live / "fullchain.pem", pki.fullchain())
    write(live / "privkey.pem", pki.leaf.key_pem, 0o600)
    root = write(tmp_path / "root.pem", pki.root.pem)
    entry = apache_conf(tmp_path / "conf", f"    SSLCertificateFile {live}/cert.pem\n"
                                           f"    SSLCertificateKeyFile {live}/privkey.pem\n")

    result = certlint("fix", "--offline", "--write", "--server", "apache", "--apache-version",
                      "2.4.7", "--ca-bundle", root, entry)

    assert result.exit_code == 0, result.output
    assert f"    SSLCertificateChainFile {live}/chain.pem\n" in read(entry).decode()
    assert sorted(os.listdir(live)) == ["cert.pem", "chain.pem", "fullchain.pem", "privkey.pem"]
    after = verify_live(tmp_path, entry, root, "after")
    assert after.ok, after.output
