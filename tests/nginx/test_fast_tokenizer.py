"""The fast nginx tokenizer agrees with crossplane statement for statement.

Where the fast path answers, its statements must equal crossplane's; where crossplane reports an
error, the fast path must step aside (return None) so crossplane's message is what users see.
Checked on every fixture, on hand-written tricky lines, and on seeded random token soup.
"""

from __future__ import annotations

import glob
import os
import random

import crossplane
import pytest

from certlint.parsers import nginx_fast, nginx_lexer
from tests.support.paths import REPO

TRICKY = [
    'events {}\nhttp { server { listen 443 ssl; server_name "a b" \'c\' d; } }\n',
    'set $x "a\\"b\\\\"; set $y \'it\\\'s\'; return 200 "${x}y$y";\n',
    'if ($http_x ~* "^(a|b)$") { return 403; }\nif ( $a = 1 ) { }\nif ($a) {}\n',
    'a b # trailing comment\n# own line\nc d; # after\n',
    'map $host $m {\n  default 0;\n  "~^www\\.(?<n>.+)$" $n;\n  hostnames;\n}\n',
    'log_format main \'$remote_addr - "$request" \'\n  \'$status\';\n',
    'location ~ ^/(a|b)\\{2\\}$ { rewrite ^/x(.*)$ /y$1 break; }\n',
    'add_header X "multi\nline"; foo bar;\n',
    'a${b}c d${e f;\n', 'server_name x {}', 'http;',
    'x "a"b c\'d\';\n',
    'a \\; b\\ c;\n',
    '# only a comment at EOF',
    'a b;\r\nc d;\r\n',
    '\ufeffevents {}\n',
    'content_by_lua_block { ngx.say("}") -- a } in a comment\n local t = {a = \'{\'} }\n',
    'location / { set_by_lua_block $v { return "}" } access_by_lua_block {} }\n',
    '',
]
BROKEN = ['a {', 'a }', '}', 'a "unterminated;', 'a b', 'a {{ }',
]


def test_lua_long_brackets_read_as_openresty_does():
    """crossplane counts braces inside Lua long strings and long comments (JSON templates!)
    and fails; the fast path reads them as Lua does."""
    body = ('\n  local j = [[{"a": {"b": 1}}]] -- } in a comment\n'
            '  --[==[ a long comment with } and {\n  over lines ]==]\n  ngx.say(j)\n')
    text = "http {\n  server {\n    content_by_lua_block {" + body + "}\n  }\n}\n"
    parsed = nginx_fast.parse("t.conf", text)
    lua = parsed[0]["block"][0]["block"][0]
    assert lua == {"directive": "content_by_lua_block", "line": 3, "args": [body]}


def crossplane_parse(path: str) -> dict:
    return crossplane.parse(path, single=True, comments=True, check_ctx=False,
                            check_args=False, catch_errors=True)


def agree(tmp_path, text: str, name: str = "t.conf") -> None:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    want = crossplane_parse(str(path))
    got = nginx_fast.parse(str(path), path.read_bytes().decode("utf-8", "replace"))
    if want["errors"]:
        assert got is None, (text, want["errors"])
    elif got is not None:
        assert got == want["config"][0]["parsed"], text


@pytest.mark.parametrize("text", TRICKY)
def test_tricky_lines_match_crossplane(tmp_path, text):
    agree(tmp_path, text)
    fast = nginx_fast.parse("t.conf", text.replace("\r", ""))
    # `${...}` goes to crossplane; so does what nginx itself refuses (`"a"b`: unexpected "b")
    assert fast is not None or "${" in text or nginx_lexer.first_error(text) is not None


@pytest.mark.parametrize("text", BROKEN)
def test_broken_files_are_left_to_crossplane(tmp_path, text):
    agree(tmp_path, text)
    assert nginx_fast.parse("t.conf", text) is None


def test_every_fixture_config_matches(tmp_path):
    files = glob.glob(os.path.join(REPO, "fixtures", "nginx", "**", "*.conf"), recursive=True)
    # syntax-* cases are malformed on purpose: crossplane reads them (and errs), not the fast path
    files = [f for f in files if "/syntax-" not in f]
    assert len(files) > 30
    for path in files:
        text = open(path, encoding="utf-8", errors="replace").read()
        want = crossplane_parse(path)
        got = nginx_fast.parse(path, text)
        assert got is not None, path
        assert got == want["config"][0]["parsed"], path


def test_random_token_soup_matches(tmp_path):
    rng = random.Random(20261125)
    atoms = ["a", "bc", " ", "  ", "\n", "\t", ";", "{", "}", '"', "'", "\\", "$", "${", "}",
             "#", "# c\n", "x\\;", '"q q"', "'s'", "if", "(", ")", "server", "include",
             "listen", "\\\n", "é", "$v", "~*", "=", "\r\n", "content_by_lua_block ",
             "set_by_lua_block ", " -- x\n", "-"]
    checked = answered = 0
    for _ in range(3000):
        text = "".join(rng.choice(atoms) for _ in range(rng.randint(1, 25)))
        agree(tmp_path, text)
        checked += 1
        answered += nginx_fast.parse("t.conf", text.replace("\r\n", "\n")) is not None
    assert checked == 3000 and answered > 50  # the fast path really is exercised


def test_random_wellformed_configs_match(tmp_path):
    """Structured soup: statements and blocks whose words carry quotes, escapes, comments."""
    rng = random.Random(7)
    words = ["listen", "443", "ssl", '"a b"', "'c;d'", "x\\;y", "$host", "~*", "^/(a|b)$",
             "a#b", '"multi\nline"', '"q\\"x"', "é", "if", "(", ")", "($a", "=", "1)",
             "data:AB==", "/etc/nginx/x.pem", "\\\n"]

    def block(depth: int) -> str:
        out = []
        for _ in range(rng.randint(0, 4)):
            head = " ".join(rng.choice(words) for _ in range(rng.randint(1, 4)))
            if rng.random() < 0.2:
                out.append("# " + rng.choice(words) + "\n")
            if depth < 3 and rng.random() < 0.3:
                out.append(f"{head} {{\n{block(depth + 1)}}}\n")
            else:
                tail = " # note" if rng.random() < 0.2 else ""
                out.append(f"{head};{tail}\n")
        return "".join(out)

    answered = 0
    for _ in range(500):
        text = block(0)
        agree(tmp_path, text)
        answered += nginx_fast.parse("t.conf", text) is not None
    assert answered > 400
