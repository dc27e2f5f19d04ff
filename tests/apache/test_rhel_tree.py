"""RHEL/Fedora httpd checked out into a repo: ServerRoot "/etc/httpd", `Include
conf.modules.d/*.conf`, conf.d/ssl.conf with CRLF line ends and a Latin-1 comment; fixed with
--root and --patch, the patch applies with `git apply` and keeps CRLF and the odd bytes."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests.support.paths import REPO

FIXTURE_PKI = os.path.join(REPO, "fixtures", "pki")

HTTPD_CONF = """ServerRoot "/etc/httpd"
Listen 80
Include conf.modules.d/*.conf
User apache
ErrorLog "logs/error_log"
IncludeOptional conf.d/*.conf
"""

SSL_CONF = (b"Listen 443 https\r\n"
            b"SSLSessionCache         shmcb:/run/httpd/sslcache(512000)\r\n"
            b"<VirtualHost _default_:443>\r\n"
            b"SSLEngine on\r\n"
            b"# caf\xe9: certificate below\r\n"
            b"SSLCertificateFile /etc/pki/tls/certs/localhost.crt\r\n"
            b"SSLCertificateKeyFile /etc/pki/tls/private/localhost.key\r\n"
            b"</VirtualHost>\r\n")


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch, certlint):
    monkeypatch.setenv("CERTLINT_CACHE_DIR", str(tmp_path / "aia-cache"))
    certlint.workstation()  # loopback AIA allowed, as outside CI (network/test_fetch.py)


@pytest.fixture
def repo(tmp_path) -> str:
    root = tmp_path / "repo"
    httpd = root / "etc/httpd"
    for sub in ("conf", "conf.d", "conf.modules.d"):
        (httpd / sub).mkdir(parents=True)
    (root / "etc/pki/tls/certs").mkdir(parents=True)
    (root / "etc/pki/tls/private").mkdir(parents=True)
    shutil.copy(os.path.join(FIXTURE_PKI, "leaf.pem"), root / "etc/pki/tls/certs/localhost.crt")
    shutil.copy(os.path.join(FIXTURE_PKI, "inter.pem"),
                root / "etc/pki/tls/certs/server-chain.crt")
    shutil.copy(os.path.join(FIXTURE_PKI, "demo-keys/leaf.key"),
                root / "etc/pki/tls/private/localhost.key")
    (httpd / "conf/httpd.conf").write_text(HTTPD_CONF)
    (httpd / "conf.modules.d/00-ssl.conf").write_text(
        "LoadModule ssl_module modules/mod_ssl.so\n")
    (httpd / "conf.d/ssl.conf").write_bytes(SSL_CONF)
    return str(root)


def test_rhel_tree_check_and_patch(repo, certlint, tmp_path):
    if shutil.which("git") is None:
        pytest.skip("git not installed")
    entry = os.path.join(repo, "etc/httpd/conf/httpd.conf")
    ca = os.path.join(FIXTURE_PKI, "root.pem")
    code, payload = certlint.json("--root", repo, "--ca-bundle", ca, entry)
    assert code == 1
    assert [(f["rule"], os.path.relpath(f["path"], repo), f["line"])
            for f in payload["findings"]] == [
        ("apache-chain-file-missing", "etc/httpd/conf.d/ssl.conf", 6)]
    git = ["git", "-C", repo, "-c", "user.email=qa@example.test", "-c", "user.name=qa"]
    subprocess.run(git + ["init", "-q"], check=True)
    subprocess.run(git + ["add", "-A"], check=True)
    subprocess.run(git + ["commit", "-qm", "tree"], check=True)
    patch = str(tmp_path / "fix.patch")
    result = certlint("fix", "--offline", "--root", repo, "--ca-bundle", ca, "--patch", patch,
                      entry)
    assert result.exit_code == 0, result.output
    subprocess.run(git + ["apply", patch], check=True)
    with open(os.path.join(repo, "etc/httpd/conf.d/ssl.conf"), "rb") as fh:
        assert fh.read() == SSL_CONF.replace(b"/localhost.crt\r\n", b"/localhost.fullchain.pem\r\n")
    code, payload = certlint.json("--root", repo, "--ca-bundle", ca, entry)
    assert (code, payload["findings"]) == (0, [])
