"""mod_ssl opens certificate, key, chain and CA files while Apache reads the config, in every
virtual host, TLS or not: a missing or empty one stops the start (AH00526). certlint reports it
at the line and in the words of the real `apache2 -t`."""

from __future__ import annotations

import re

import pytest

from certlint.parsers.apache import parse_apache
from tests.support.apache import ApacheServer, modules

HEAD = modules("mpm_event", "authz_core", "ssl") + "ServerName localhost\nListen 8080\n"
SYNTAX_ERROR = re.compile(r"Syntax error on line (\d+) of [^\n]*?:\s*(.+)")


def apache_says(conf: str, tmp_path) -> tuple[int, str] | None:
    result = ApacheServer(conf, str(tmp_path / "state")).syntax()
    if result.ok:
        return None
    found = SYNTAX_ERROR.search(result.output)
    assert found, result.output
    return int(found.group(1)), found.group(2).strip()


@pytest.mark.parametrize("line", [
    "SSLCertificateFile missing.pem", "SSLCertificateFile empty.pem",
    "SSLCertificateKeyFile missing.key", "SSLCertificateChainFile missing-chain.pem",
    "SSLCACertificateFile missing-ca.pem", "SSLCACertificatePath missing-folder",
    "SSLCARevocationFile missing.crl",
])
def test_missing_file_in_a_plain_vhost_stops_apache_as_certlint_says(line, tmp_path):
    (tmp_path / "empty.pem").write_text("")
    conf = tmp_path / "apache2.conf"
    conf.write_text(HEAD + "<VirtualHost *:8080>\nServerName a\n" + line + "\n</VirtualHost>\n")
    apache = apache_says(str(conf), tmp_path)
    assert apache is not None
    ours = [(e.line, e.message) for e in parse_apache(str(conf)).errors]
    assert [n for n, _ in ours] == [apache[0]], (ours, apache)
    assert ours[0][1].startswith(apache[1] + " (AH00526"), (ours, apache)


def test_present_files_in_a_plain_vhost_are_quiet(tmp_path):
    (tmp_path / "cert.pem").write_text("not even a certificate: read later, by mod_ssl\n")
    conf = tmp_path / "apache2.conf"
    conf.write_text(HEAD + "<VirtualHost *:8080>\nServerName a\nSSLCertificateFile cert.pem\n"
                    "SSLCACertificatePath .\n</VirtualHost>\n")
    assert apache_says(str(conf), tmp_path) is None
    assert parse_apache(str(conf)).errors == []
