"""Closing lines read as httpd reads them (server/config.c): an active conditional section ends
only at a line that is exactly `</IfModule>`, any other section at a line whose first word closes
it (the rest is ignored), an inactive section is skipped up to a line whose first word closes it.
Each case is checked against the real `apache2 -t`: same verdict, same line, same words."""

from __future__ import annotations

import re

import pytest

from certlint.parsers.apache import parse_apache
from tests.support.apache import ApacheServer, modules

HEAD = modules("mpm_event", "authz_core") + "ServerName localhost\nListen 8080\n"
SSL = modules("ssl")
VHOST_A = "<VirtualHost *:8080>\nServerName a\n"
VHOST_B = "<VirtualHost *:8080>\nServerName b\n</VirtualHost>\n"
SYNTAX_ERROR = re.compile(r"Syntax error on line (\d+) of [^\n]*?:\s*(.+)")

CASES = {
    # one line closes the vhost; the <IfModule> runs on to the end of the file: accepted
    "extra-words-active": SSL + "<IfModule mod_ssl.c>\n" + VHOST_A
    + "</VirtualHost> </IfModule>\n" + VHOST_B,
    # the same inside an inactive <IfModule>: nothing closes it
    "extra-words-inactive": "<IfModule mod_ssl.c>\n" + VHOST_A + "</VirtualHost> </IfModule>\n"
    + VHOST_B,
    "extra-words-inactive-closed-later": "<IfModule mod_ssl.c>\n" + VHOST_A
    + "</VirtualHost> </IfModule>\n" + VHOST_B + "</IfModule>\n",
    "active-conditional-ends-with-file": SSL + "<IfModule mod_ssl.c>\n" + VHOST_A
    + "</VirtualHost>\n",
    "space-before-bracket": VHOST_A + "</VirtualHost >\n",
    "vhost-not-closed": VHOST_A,
    "active-close-with-words": SSL + "<IfModule mod_ssl.c>\nServerAdmin x\n</IfModule> junk\n",
    "inactive-close-with-words": "<IfModule mod_ssl.c>\nServerAdmin x\n</IfModule> junk\n",
    "inactive-close-misspelled": "<IfModule mod_ssl.c>\nServerAdmin x\n</IfModulX\n",
    "vhost-close-with-words": SSL + "<IfModule mod_ssl.c>\n" + VHOST_A
    + "</VirtualHost> junk\n</IfModule>\n",
    "active-close-with-space": SSL + "<IfModule mod_ssl.c>\n" + VHOST_A
    + "</VirtualHost>\n</IfModule >\n",
    "close-case-insensitive": "<IfDefine !NOPE>\n" + VHOST_A + "</virtualhost>\n</IFDEFINE>\n",
}


def apache_says(conf: str, tmp_path) -> tuple[int, str] | None:
    result = ApacheServer(conf, str(tmp_path / "state")).syntax()
    if result.ok:
        return None
    found = SYNTAX_ERROR.search(result.output)
    assert found, result.output
    return int(found.group(1)), found.group(2).strip()


@pytest.mark.parametrize("case", sorted(CASES))
def test_closing_lines_as_apache_reads_them(case, tmp_path):
    conf = tmp_path / "apache2.conf"
    conf.write_text(HEAD + CASES[case])
    apache = apache_says(str(conf), tmp_path)
    ours = [(e.line, e.message) for e in parse_apache(str(conf)).errors]
    if apache is None:
        assert ours == []
        return
    line, message = apache
    assert [n for n, _ in ours] == [line], (ours, apache)
    words = message.split(": ", 1)[-1] if message.startswith("/") else message
    assert words in ours[0][1] or ours[0][1].startswith(words.split(" was not")[0]), (ours, apache)


def test_vhosts_after_a_one_line_close_are_read(tmp_path):
    conf = tmp_path / "apache2.conf"
    conf.write_text(HEAD + CASES["extra-words-active"])
    names = [v["name"] for v in parse_apache(str(conf)).extra["vhosts"]]
    assert names == ["a", "b"]
