"""A Debian Apache tree checked out into an infra repo, linted and fixed with --root: the
absolute sites-enabled link (`a2ensite` makes relative ones, admins and config management often
absolute ones) is read and edited under the root, never from this host's /etc/apache2."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.support.paths import REPO

FIXTURE_PKI = os.path.join(REPO, "fixtures", "pki")

APACHE2_CONF = """ErrorLog ${APACHE_LOG_DIR}/error.log
IncludeOptional mods-enabled/*.load
IncludeOptional mods-enabled/*.conf
Include ports.conf
IncludeOptional sites-enabled/*.conf
"""

# the name of the file Debian's apache2 package installs: a host with apache2 has its own
SITE = """<IfModule mod_ssl.c>
\t<VirtualHost _default_:443>
\t\tServerName example.test
\t\tSSLEngine on
\t\tSSLCertificateFile\t${SSL_DIR}/certs/example.crt
\t\tSSLCertificateKeyFile ${SSL_DIR}/private/example.key
\t</VirtualHost>
</IfModule>
"""


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch, certlint):
    monkeypatch.setenv("CERTLINT_CACHE_DIR", str(tmp_path / "aia-cache"))
    certlint.workstation()  # loopback AIA allowed, as outside CI (network/test_fetch.py)


@pytest.fixture
def repo(tmp_path) -> str:
    root = tmp_path / "repo"
    a2 = root / "etc/apache2"
    for sub in ("sites-available", "sites-enabled", "mods-available", "mods-enabled"):
        (a2 / sub).mkdir(parents=True)
    (root / "etc/ssl/certs").mkdir(parents=True)
    (root / "etc/ssl/private").mkdir(parents=True)
    shutil.copy(os.path.join(FIXTURE_PKI, "leaf.pem"), root / "etc/ssl/certs/example.crt")
    shutil.copy(os.path.join(FIXTURE_PKI, "inter.pem"), root / "etc/ssl/certs/example-chain.crt")
    shutil.copy(os.path.join(FIXTURE_PKI, "demo-keys/leaf.key"),
                root / "etc/ssl/private/example.key")
    (a2 / "apache2.conf").write_text(APACHE2_CONF)
    (a2 / "envvars").write_text("export APACHE_LOG_DIR=/var/log/apache2\n"
                                "export SSL_DIR=/etc/ssl\n")
    (a2 / "ports.conf").write_text("Listen 80\n<IfModule ssl_module>\n\tListen 443\n"
                                   "</IfModule>\n")
    (a2 / "mods-available/ssl.load").write_text(
        "LoadModule ssl_module /usr/lib/apache2/modules/mod_ssl.so\n")
    os.symlink("../mods-available/ssl.load", a2 / "mods-enabled/ssl.load")
    (a2 / "sites-available/default-ssl.conf").write_text(SITE)
    os.symlink("/etc/apache2/sites-available/default-ssl.conf",
               a2 / "sites-enabled/default-ssl.conf")
    return str(root)


def _args(repo: str) -> list[str]:
    return ["--root", repo, "--ca-bundle", os.path.join(FIXTURE_PKI, "root.pem"),
            os.path.join(repo, "etc/apache2/apache2.conf")]


def test_check_reads_the_checked_out_site_not_the_hosts(certlint, repo):
    code, payload = certlint.json(*_args(repo))
    assert code == 1
    assert [(f["rule"], os.path.relpath(f["path"], repo), f["line"], f["site"])
            for f in payload["findings"]] == [
        ("apache-chain-file-missing", "etc/apache2/sites-available/default-ssl.conf", 5,
         "example.test:443")]


def test_fix_write_edits_the_link_target_under_root_keeping_variables(certlint, repo):
    result = certlint("fix", "--offline", "--write", *_args(repo))
    assert result.exit_code == 0, result.output
    link = os.path.join(repo, "etc/apache2/sites-enabled/default-ssl.conf")
    assert os.path.islink(link)
    with open(os.path.join(repo, "etc/apache2/sites-available/default-ssl.conf")) as fh:
        text = fh.read()
    assert "\t\tSSLCertificateFile\t${SSL_DIR}/certs/example.fullchain.pem\n" in text
    assert os.path.isfile(os.path.join(repo, "etc/ssl/certs/example.fullchain.pem"))
    code, payload = certlint.json(*_args(repo))
    assert (code, payload["findings"]) == (0, [])
    again = certlint("fix", "--offline", *_args(repo))
    assert (again.exit_code, again.stdout) == (0, "")
