"""The parser sees the virtual hosts real Apache sees: certlint's vhost list (file, line, name)
against `apache2 -S` on every fixture Apache accepts, and on the Debian tree.

Conditionals, includes, macros and defines decide which `<VirtualHost>` blocks exist; if the
parser evaluated one differently from httpd, the two lists would differ here.
"""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from certlint.parsers.apache import parse_apache
from tests.support.apache import ApacheServer, apache_binary, apache_env
from tests.support.paths import REPO

ROOT = REPO
FIXTURES = os.path.join(ROOT, "fixtures", "apache")
# "         port 443 namevhost NAME (FILE:LINE)" or, for a lone vhost, "*:443   NAME (FILE:LINE)"
VHOST = re.compile(r"^(?:\s+port \d+ namevhost|\S+:\S+\s+) ?(\S+) \((.*)\)$")
MACRO = re.compile(r"^macro '[^']+' \(defined on line \d+ of \"(.+)\"\) used on line \d+ of "
                   r"\"(.+)\":\d+$")


def apache_vhosts(entry: str, state: str, server_root: str | None = None) -> list[tuple]:
    server = ApacheServer(entry, state, server_root)
    proc = subprocess.run(server.args("-S"), capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL, env=apache_env(entry, state))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    found = []
    for line in proc.stdout.splitlines():
        m = VHOST.match(line)
        if not m:
            continue
        name, where = m.groups()
        macro = MACRO.match(where)
        if macro:
            found.append((name, macro.group(1), "macro"))
        else:
            path, _, number = where.rpartition(":")
            found.append((name, path, int(number)))
    return sorted(set(found))


def certlint_vhosts(entry: str, macro_files: set[str]) -> list[tuple]:
    config = parse_apache(entry)
    out = []
    for v in config.extra["vhosts"]:
        if v["name"] is None:
            continue
        # httpd numbers a continued `<VirtualHost \` by its last physical line
        line = "macro" if v["path"] in macro_files and _in_macro(v) else v["end"]
        out.append((v["name"], v["path"], line))
    return sorted(set(out))


def _in_macro(vhost: dict) -> bool:
    with open(vhost["path"], encoding="utf-8") as fh:
        lines = fh.read().splitlines()[: vhost["line"]]
    opened = sum(1 for x in lines if x.strip().lower().startswith("<macro"))
    closed = sum(1 for x in lines if x.strip().lower().startswith("</macro"))
    return opened > closed


def accepted_cases():
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    for case in sorted(os.listdir(FIXTURES)):
        expect = os.path.join(FIXTURES, case, "expect.toml")
        if os.path.exists(expect):
            with open(expect, "rb") as fh:
                if tomllib.load(fh).get("starts") or case in ("wrong-order", "key-mismatch"):
                    yield case


@pytest.mark.parametrize("case", list(accepted_cases()))
def test_parser_sees_the_vhosts_apache_sees(case, tmp_path):
    apache_binary()
    entry = os.path.join(FIXTURES, case, "apache2.conf")
    theirs = apache_vhosts(entry, str(tmp_path))
    # the runner copies the entry file into the state folder: map it back
    copied = os.path.join(str(tmp_path), "certlint-apache2.conf")
    theirs = sorted((n, entry if p == copied else p, line) for n, p, line in theirs)
    macro_files = {p for _n, p, line in theirs if line == "macro"}
    assert certlint_vhosts(entry, macro_files) == theirs
