"""What a user sees when the entry point is not a server config (a certificate, a key, a
binary file, a text file that is not nginx syntax): a clear message, never a blank finding."""

from __future__ import annotations

import os

import pytest

from tests.support.paths import REPO

FIXTURE_PKI = os.path.join(REPO, "fixtures", "pki")


@pytest.mark.parametrize("name", ["leaf.pem", "fullchain.pem", "demo-keys/leaf.key"])
def test_pem_file_as_entry_point_is_a_usage_error(certlint, name):
    result = certlint("check", os.path.join(FIXTURE_PKI, name))
    assert result.exit_code == 2
    assert "is a PEM file (certificates or keys), not a server config" in result.stderr
    assert "PRIVATE KEY" not in result.output


def test_binary_file_as_entry_point_is_a_usage_error(certlint):
    result = certlint("check", os.path.join(FIXTURE_PKI, "leaf.der"))
    assert result.exit_code == 2
    assert "is a binary (DER) certificate or key file, not a server config" in result.stderr


def test_text_that_is_not_nginx_syntax_says_what_nginx_says(tmp_path, certlint):
    junk = tmp_path / "notes.txt"
    junk.write_text("hello world\nsecond line\n")
    code, payload = certlint.json(str(junk))
    assert code == 1
    [finding] = payload["findings"]
    assert finding["rule"] == "config-error"
    # nginx -t: unexpected end of file, expecting ";" or "}" in notes.txt:3
    assert finding["message"].startswith('unexpected end of file, expecting ";" or "}"')
    assert finding["line"] == 3


@pytest.mark.parametrize("layout", ["nginx.conf", "conf/httpd.conf", None])
def test_directory_as_entry_point_stands_for_the_entry_point_in_it(tmp_path, certlint, layout):
    """`certlint check /etc/nginx` checks /etc/nginx/nginx.conf; a folder without an entry point
    is a one-line usage error naming the files it looked for."""
    etc = tmp_path / "etc-server"
    etc.mkdir()
    if layout:
        (etc / layout).parent.mkdir(exist_ok=True)
        (etc / layout).write_text("events {}\n" if layout == "nginx.conf" else "ServerRoot .\n")
    result = certlint("check", str(etc))
    if layout:
        assert result.exit_code == 0, result.output
        assert "0 TLS sites checked" in result.stdout
    else:
        assert result.exit_code == 2
        assert "is a folder without an entry point" in result.stderr
        assert "Traceback" not in result.output


def test_apache_from_standard_input_is_a_clear_usage_error(certlint):
    result = certlint("check", "--server", "apache", "-")
    assert result.exit_code == 2
    assert "for Apache pass the apache2.conf/httpd.conf file" in result.stderr


def test_same_entry_point_twice_is_checked_once(tmp_path, certlint):
    conf = tmp_path / "nginx.conf"
    conf.write_text(f"""events {{}}
http {{ server {{ listen 443 ssl; server_name example.test;
    ssl_certificate {FIXTURE_PKI}/leaf.pem;
    ssl_certificate_key {FIXTURE_PKI}/demo-keys/leaf.key; }} }}
""")
    code, payload = certlint.json(str(conf), str(tmp_path / ".." / tmp_path.name / "nginx.conf"),
                                  "--ca-bundle", os.path.join(FIXTURE_PKI, "root.pem"))
    assert code == 1
    assert [f["rule"] for f in payload["findings"]] == ["chain-incomplete"]
