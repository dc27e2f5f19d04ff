"""No private-key bytes in any output, whatever a user pasted where a file name belongs
(SECURITY.md promise 11)."""

from __future__ import annotations

import os

import pytest

from tests.support.paths import REPO

FIXTURE_PKI = os.path.join(REPO, "fixtures", "pki")


def _key_text() -> str:
    with open(os.path.join(FIXTURE_PKI, "demo-keys", "leaf.key")) as fh:
        return fh.read()


@pytest.fixture
def pasted_key_conf(tmp_path):
    """The key itself pasted as the value of ssl_certificate_key (no `data:` prefix)."""
    conf = tmp_path / "nginx.conf"
    conf.write_text(f"""events {{}}
http {{
    server {{
        listen 443 ssl;
        server_name example.test;
        ssl_certificate {FIXTURE_PKI}/fullchain.pem;
        ssl_certificate_key "{_key_text()}";
    }}
}}
""")
    return str(conf)


def _assert_no_key(text: str) -> None:
    body = [ln for ln in _key_text().splitlines() if not ln.startswith("-----")]
    assert "PRIVATE KEY" not in text
    for line in body:
        assert line[:24] not in text


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "github", "remediation"])
def test_pasted_key_is_never_echoed(certlint, pasted_key_conf, fmt):
    result = certlint("check", "--format", fmt, "--ca-bundle",
                      os.path.join(FIXTURE_PKI, "root.pem"), pasted_key_conf)
    assert result.exit_code == 1, result.output
    assert "cert-file-missing" in result.output
    assert "PEM text pasted in place of a file name" in result.output
    _assert_no_key(result.output)


def test_pasted_key_is_never_echoed_by_fix(certlint, pasted_key_conf, tmp_path, monkeypatch):
    monkeypatch.setenv("CERTLINT_CACHE_DIR", str(tmp_path / "cache"))
    result = certlint("fix", "--offline", pasted_key_conf)
    _assert_no_key(result.output)
