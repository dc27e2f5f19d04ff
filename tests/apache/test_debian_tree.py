"""The Debian apache2 package's own configuration tree, checked end to end.

/etc/apache2 as installed by apt is copied to a temporary folder, mod_ssl and the default-ssl
site are enabled the Debian way (symlinks, as a2enmod/a2ensite make them), and certlint must
find the snakeoil certificate through apache2.conf -> IncludeOptional mods-enabled/sites-enabled
-> ${APACHE_LOG_DIR} from envvars, and report what is really wrong with it (self-signed, so
untrusted) and nothing else. The same copy is started as a real apache2 on 127.0.0.1 and
`openssl s_client` sees the failure certlint describes.
"""

from __future__ import annotations

import os
import re
import shutil

import pytest

from certlint.parsers.apache import parse_apache
from tests.support import servers
from tests.support.apache import ApacheServer, apache_binary, remap_ports
from tests.support.paths import REPO

DEBIAN = "/etc/apache2"
SNAKEOIL = "/etc/ssl/certs/ssl-cert-snakeoil.pem"
SNAKEOIL_KEY = "/etc/ssl/private/ssl-cert-snakeoil.key"
ROOT = REPO
FIXTURE_ROOT = os.path.join(ROOT, "fixtures", "pki", "root.pem")


def _require_debian_tree() -> None:
    apache_binary()
    for path in (os.path.join(DEBIAN, "apache2.conf"), SNAKEOIL):
        if not os.path.exists(path):
            if os.environ.get("CI"):
                pytest.fail(f"{path} missing: .ci/run must install apache2 and ssl-cert")
            pytest.skip(f"{path} missing (Debian apache2 + ssl-cert packages)")


@pytest.fixture
def debian_tree(tmp_path) -> str:
    """A copy of /etc/apache2 with ssl, socache_shmcb and default-ssl enabled by symlink."""
    _require_debian_tree()
    tree = tmp_path / "apache2"
    shutil.copytree(DEBIAN, tree, symlinks=True)
    for name in ("ssl.load", "ssl.conf", "socache_shmcb.load"):
        link = tree / "mods-enabled" / name
        if not link.exists() and (tree / "mods-available" / name).exists():
            os.symlink(f"../mods-available/{name}", link)
    site = tree / "sites-enabled" / "default-ssl.conf"
    if not site.exists():
        os.symlink("../sites-available/default-ssl.conf", site)
    return str(tree)


def _snakeoil_name() -> str:
    """The name the snakeoil certificate was made for (make-ssl-cert uses the hostname)."""
    from cryptography import x509

    with open(SNAKEOIL, "rb") as fh:
        cert = x509.load_pem_x509_certificate(fh.read())
    return cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value


def _line_of(path: str, pattern: str) -> int:
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if re.match(pattern, line):
                return number
    raise AssertionError(f"{pattern} not in {path}")


def test_debian_tree_finds_the_snakeoil_certificate_and_reports_only_the_truth(
        debian_tree, certlint):
    entry = os.path.join(debian_tree, "apache2.conf")
    code, payload = certlint.json("--root", "/", entry)  # the host's snakeoil, on purpose
    # reached through sites-enabled/default-ssl.conf, a link: the finding names the file to edit
    site_conf = os.path.join(debian_tree, "sites-available", "default-ssl.conf")
    cert_line = _line_of(site_conf, r"\s*SSLCertificateFile\s")
    got = [(f["rule"], f["path"], f["line"]) for f in payload["findings"]]
    if os.access(SNAKEOIL_KEY, os.R_OK):
        assert got == [("chain-untrusted-root", site_conf, cert_line)], payload["findings"]
        assert "self-signed" in payload["findings"][0]["message"]
    else:  # non-root run: the key is root:ssl-cert 0640, and certlint says it cannot read it
        assert ("chain-untrusted-root", site_conf, cert_line) in got
        assert {f["rule"] for f in payload["findings"]} <= {"chain-untrusted-root",
                                                            "cert-file-missing"}
    assert code == 1


def test_debian_tree_is_clean_when_the_snakeoil_certificate_is_trusted(debian_tree, certlint):
    if not os.access(SNAKEOIL_KEY, os.R_OK):
        pytest.skip("the snakeoil key is readable only by root and ssl-cert")
    code, payload = certlint.json("--root", "/", os.path.join(debian_tree, "apache2.conf"),
                                  "--ca-bundle", SNAKEOIL)
    assert payload["findings"] == []
    assert code == 0


def test_debian_tree_without_ssl_has_no_tls_site(tmp_path, certlint):
    _require_debian_tree()
    tree = tmp_path / "apache2"
    shutil.copytree(DEBIAN, tree, symlinks=True)
    for name in ("ssl.load", "ssl.conf", "default-ssl.conf"):
        for folder in ("mods-enabled", "sites-enabled"):
            if (tree / folder / name).is_symlink():
                (tree / folder / name).unlink()
    result = certlint("check", str(tree / "apache2.conf"))
    assert result.exit_code == 0, result.output
    assert "0 TLS sites" in result.output


def test_real_apache_serves_the_debian_tree_as_certlint_says(debian_tree, tmp_path):
    if not os.access(SNAKEOIL_KEY, os.R_OK):
        pytest.skip("the snakeoil key is readable only by root and ssl-cert")
    ports: dict[int, int] = {}
    for rel in ("ports.conf", "sites-available/000-default.conf",
                "sites-available/default-ssl.conf"):
        path = os.path.join(debian_tree, rel)
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(remap_ports(text, ports))
    server = ApacheServer(os.path.join(debian_tree, "apache2.conf"), str(tmp_path / "state"),
                          ports=ports)
    started = server.start()
    try:
        assert started.ok, started.output
        host = _snakeoil_name()
        untrusted = servers.s_client(ports[443], host, FIXTURE_ROOT)
        assert not untrusted.ok
        assert "self-signed certificate" in untrusted.output
        trusted = servers.s_client(ports[443], host, SNAKEOIL)
        assert trusted.ok, trusted.output
    finally:
        server.stop()


def test_parser_sees_the_debian_vhosts_apache_sees(debian_tree, tmp_path):
    """000-default (*:80) and default-ssl (*:443), at the lines `apache2 -S` reports."""
    from tests.apache.test_vhosts import apache_vhosts, certlint_vhosts

    entry = os.path.join(debian_tree, "apache2.conf")
    theirs = apache_vhosts(entry, str(tmp_path / "state"))
    ours = certlint_vhosts(entry, set())
    # Apache names a vhost without ServerName after the machine; certlint leaves it unnamed
    everything = parse_apache(entry).extra["vhosts"]
    assert [(p, line) for _n, p, line in theirs] == sorted(
        (v["path"], v["end"]) for v in everything)
    assert all(item in theirs for item in ours)


def test_one_site_file_of_the_debian_tree_on_its_own(debian_tree, certlint):
    """`certlint check sites-available/default-ssl.conf`: the tree's envvars and ServerRoot
    apply, so ${APACHE_LOG_DIR} is known and only the certificate's real problem remains."""
    site_conf = os.path.join(debian_tree, "sites-available", "default-ssl.conf")
    _code, payload = certlint.json(site_conf, "--server", "apache", "--root", "/")
    rules = {f["rule"] for f in payload["findings"]}
    assert "config-error" not in rules, payload["findings"]
    assert "chain-untrusted-root" in rules
