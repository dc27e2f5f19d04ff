"""mod_ssl directives Apache refuses while reading: certlint reports them at the line and in the
words the real `apache2 -t` uses, and stays quiet where Apache is."""

from __future__ import annotations

import glob
import os
import re

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from certlint.parsers.apache import parse_apache
from certlint.parsers.apache_syntax import FLAG, MODES, STOPS, TAKE1
from tests.support.apache import ApacheServer, debian_copy, modules
from tests.support.paths import TESTS

HERE = TESTS
FIXTURES = os.path.join(os.path.dirname(HERE), "fixtures", "apache")
HEAD = modules("mpm_event", "authz_core", "socache_shmcb", "ssl") + \
    "ServerName localhost\nListen 443\n<VirtualHost *:443>\n"
SYNTAX_ERROR = re.compile(r"Syntax error on line (\d+) of [^\n]*?:\s*(.+)")


def refused(case: str) -> bool:
    with open(os.path.join(case, "expect.toml"), "rb") as fh:
        return not tomllib.load(fh)["starts"]


REFUSED_CASES = sorted(filter(refused, glob.glob(os.path.join(FIXTURES, "syntax-ssl-*"))))


def apache_says(conf: str, tmp_path) -> tuple[int, str] | None:
    """(line, message) of the real `apache2 -t` syntax error, or None when it accepts."""
    result = ApacheServer(conf, str(tmp_path / "state")).syntax()
    if result.ok:
        return None
    found = SYNTAX_ERROR.search(result.output)
    assert found, result.output
    return int(found.group(1)), found.group(2).strip()


def certlint_says(conf: str) -> list[tuple[int, str]]:
    return [(e.line, e.message) for e in parse_apache(conf).errors]


def same_words(ours: str, apache: str) -> bool:
    """certlint's message is Apache's, then maybe a hint in parentheses, then STOPS."""
    assert ours.endswith(STOPS), ours
    return ours[:-len(STOPS)] == apache or ours.startswith(apache + " (")


@pytest.mark.parametrize("case", [os.path.basename(c) for c in REFUSED_CASES])
def test_fixture_fails_in_apache_where_and_as_certlint_says(case, tmp_path):
    conf = os.path.join(FIXTURES, case, "apache2.conf")
    line, message = apache_says(conf, tmp_path)
    ours = dict(certlint_says(conf))
    assert line in ours, (line, message, ours)
    assert same_words(ours[line], message), (ours[line], message)


BAD_LINES = [f"{name} {args}".strip() for shown, _ in TAKE1.values()
             if shown.startswith("SSL") for name in (shown,) for args in ("", "a b")]
BAD_LINES += [f"{shown} {args}".strip() for shown in FLAG.values() for args in ("", "yes")]
BAD_LINES += [f"{shown} {args}".strip() for shown, modes, flags in MODES.values()
              for args in ("", "sometimes", f"{modes[0]} {flags[0]} extra")]
BAD_LINES += ["SSLEngine yes", "SSLVerifyClient 1", "sslcertficatefile /x", "SSLFoo",
              "SSLMutex default", "SSLLog x", "SSLLogLevel x", "SSLOCSPNoverify maybe"]


@pytest.mark.parametrize("bad", BAD_LINES)
def test_each_refused_line_matches_apache_word_for_word(bad, tmp_path):
    conf = tmp_path / "apache2.conf"
    conf.write_text(HEAD + bad + "\n</VirtualHost>\n")
    line, message = apache_says(str(conf), tmp_path)
    ours = certlint_says(str(conf))
    assert [n for n, _ in ours] == [line], (ours, message)
    assert same_words(ours[0][1], message), (ours[0][1], message)


GOOD_LINES = ["SSLEngine OFF", "SSLEngine optional", "SSLVerifyClient on",
              "SSLVerifyClient OPTIONAL_no_ca", "SSLCARevocationCheck CHAIN no_crl_for_cert_ok",
              "SSLOCSPEnable leaf NO_OCSP_FOR_CERT_OK", "SSLUseStapling On",
              "SSLProxyCheckPeerName off", "SSLSessionTickets off", "SSLVerifyDepth 3"]


@pytest.mark.parametrize("good", GOOD_LINES)
def test_lines_apache_accepts_are_not_reported(good, tmp_path):
    conf = tmp_path / "apache2.conf"
    conf.write_text(HEAD + good + "\n</VirtualHost>\n")
    assert apache_says(str(conf), tmp_path) is None
    assert certlint_says(str(conf)) == []


def test_misspelling_needs_mod_ssl_known_loaded(tmp_path):
    # a vhost file linted alone: no LoadModule seen, the name may be another module's
    alone = tmp_path / "site.conf"
    alone.write_text("<VirtualHost *:443>\nSSLCertficateFile /x\n</VirtualHost>\n")
    assert certlint_says(str(alone)) == []
    # read before `LoadModule ssl_module`, inside <IfModule> of a module not loaded: quiet
    later = tmp_path / "apache2.conf"
    later.write_text(modules("mpm_event") + "<IfModule ssl_module>\nSSLFoo x\n</IfModule>\n"
                     "<IfModule mod_nss.c>\nSSLCertficateFile /x\n</IfModule>\n")
    assert certlint_says(str(later)) == []


def test_misspelling_suggests_the_directive(certlint, tmp_path):
    conf = tmp_path / "apache2.conf"
    conf.write_text(HEAD + "SSLCertificateKeyFle /x.key\n</VirtualHost>\n")
    code, payload = certlint.json(str(conf))
    messages = [f["message"] for f in payload["findings"] if f["line"] == 8]
    assert messages == ["Invalid command 'SSLCertificateKeyFle', perhaps misspelled or defined "
                        "by a module not included in the server configuration (did you mean "
                        "SSLCertificateKeyFile?)" + STOPS]
    assert code != 0


def test_mod_ssl_not_loaded_reported_once_where_apache_stops(tmp_path):
    conf = tmp_path / "apache2.conf"
    conf.write_text(modules("mpm_event", "authz_core") + "ServerName localhost\nListen 443\n"
                    "<VirtualHost *:443>\nSSLEngine on\nSSLCertificateFile /x.pem\n"
                    "</VirtualHost>\n<VirtualHost *:443>\nSSLEngine on\n</VirtualHost>\n")
    line, message = apache_says(str(conf), tmp_path)
    ours = [(n, m) for n, m in certlint_says(str(conf)) if "Invalid command" in m]
    assert [n for n, _ in ours] == [line] == [6]
    assert same_words(ours[0][1], message) and "a2enmod ssl" in ours[0][1]


def test_mod_ssl_not_loaded_is_not_blamed_after_an_include_that_failed(tmp_path):
    # the LoadModule may be in the file certlint could not read
    conf = tmp_path / "apache2.conf"
    conf.write_text(modules("mpm_event") + "Include mods/ssl.load\n"
                    "<VirtualHost *:443>\nSSLEngine on\n</VirtualHost>\n")
    assert [m for _, m in certlint_says(str(conf)) if "Invalid command" in m] == []


def test_debian_default_ssl_site_without_a2enmod_ssl_fails_as_apache_says(tmp_path):
    """`a2ensite default-ssl` without `a2enmod ssl`: Apache stops at the site's SSLEngine."""
    entry = str(debian_copy(tmp_path, ssl=False) / "apache2.conf")
    line, message = apache_says(entry, tmp_path)
    ours = [(e.path, e.line, e.message) for e in parse_apache(entry).errors]
    assert [(os.path.basename(p), n) for p, n, _ in ours] == [("default-ssl.conf", line)]
    assert same_words(ours[0][2], message)


def test_debian_tree_with_mod_ssl_has_no_syntax_error(tmp_path):
    entry = str(debian_copy(tmp_path, ssl=True) / "apache2.conf")
    assert apache_says(entry, tmp_path) is None
    assert certlint_says(entry) == []


SECTION_CASES = [
    ("<Directory /tmp>", "</Directory>", "SSLCertificateFile /x.pem"),
    ("<location />", "</location>", "SSLEngine on"),
    ("<FilesMatch x>", "</FilesMatch>", "SSLUseStapling on"),
    ("<If \"true\">", "</If>", "SSLOCSPEnable on"),
    ("<LocationMatch />", "</LocationMatch>", "SSLCARevocationCheck chain"),
    ("<Directory /tmp>", "</Directory>", "SSLPassPhraseDialog builtin"),
    ("<Files x>", "</Files>", "SSLRandomSeed startup builtin"),
    ("", "", "SSLSessionCache none"),
    ("", "", "sslpassphrasedialog builtin"),
    ("", "", "SSLRandomSeed startup builtin"),
    ("<Directory /tmp>", "</Directory>", "SSLSessionCache none"),
]


@pytest.mark.parametrize("opened,closed,line", SECTION_CASES)
def test_directive_in_a_section_that_does_not_take_it(opened, closed, line, tmp_path):
    conf = tmp_path / "apache2.conf"
    conf.write_text(HEAD + "\n".join(x for x in (opened, line, closed) if x)
                    + "\n</VirtualHost>\n")
    at, message = apache_says(str(conf), tmp_path)
    ours = certlint_says(str(conf))
    assert [n for n, _ in ours] == [at], (ours, message)
    assert same_words(ours[0][1], message), (ours[0][1], message)


@pytest.mark.parametrize("opened,closed,line", [
    ("<Directory /tmp>", "</Directory>", "SSLVerifyClient require"),
    ("<Location />", "</Location>", "SSLCipherSuite HIGH"),
    ("", "", "SSLSessionCacheTimeout 300"),
    ("", "", "SSLStrictSNIVHostCheck on"),
])
def test_directive_in_a_section_that_takes_it_is_quiet(opened, closed, line, tmp_path):
    conf = tmp_path / "apache2.conf"
    conf.write_text(HEAD + "\n".join(x for x in (opened, line, closed) if x)
                    + "\n</VirtualHost>\n")
    assert apache_says(str(conf), tmp_path) is None
    assert certlint_says(str(conf)) == []


def test_apache_2_2_names_are_not_misspellings_there(tmp_path):
    conf = tmp_path / "apache2.conf"
    conf.write_text(HEAD + "SSLMutex default\n</VirtualHost>\n")
    assert [n for n, _ in certlint_says(str(conf))] == [8]  # 2.4 (the default) refuses it
    assert parse_apache(str(conf), apache_version="2.2.34").errors == []
