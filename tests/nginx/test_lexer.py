"""certlint reads nginx syntax as nginx does: the real `nginx -t` beside certlint's verdict.

crossplane's lexer differs from nginx's both ways: it refuses `try_files $uri ${uri}/ =404;`
(nginx: one word) and accepts `"quoted"-suffix` (nginx: unexpected "-"). Every case here is run
through the real nginx; certlint must report the same lexical error at the same line, or none.
"""

from __future__ import annotations

import random
import re

import pytest

from certlint.parsers import nginx_lexer
from tests.support import servers

NGINX_ERROR = re.compile(r"\[emerg\] (.*) in \S+:(\d+)")
LEXICAL = ("unexpected ", "unexpected end of file")


def nginx_says(tmp_path, text: str) -> tuple[bool, tuple[str, int] | None]:
    """(accepted, (message, line) when nginx's error is a lexical one)."""
    conf = tmp_path / "nginx.conf"
    conf.write_text(text)
    result = servers.nginx_test(str(conf), state_dir=str(tmp_path))
    m = NGINX_ERROR.search(result.output)
    if result.ok or m is None or not m.group(1).startswith(LEXICAL):
        return result.ok, None
    return False, (m.group(1), int(m.group(2)))


WRAP = "events {}\nhttp {\n  server {\n    listen 8443;\n%s\n  }\n}\n"
CASES = [
    "    location / { try_files $uri ${uri}/ =404; }",  # issue 11, class 13
    '    server_name "a.test"-suffix;',  # class 14: unexpected "-"
    "    server_name 'a.test'\"b\";",
    '    if ($host = "a") { return 404; }',  # ")" may follow a quote
    "    return 200 a}b;",  # "}" inside a word is part of it
    "    return 200 x }",
    "    return 200 x ; ;",
    "    server_name a#b c; # a comment",
    '    server_name "multi\nline"x;',
    "    server_name a\\;b;",
    "    add_header X ${host}}y;",
    "    server_name x",
    "    }",
    '    server_name "unterminated;',
]


@pytest.mark.parametrize("body", CASES)
def test_lexical_errors_match_nginx(tmp_path, body):
    text = WRAP % body
    accepted, error = nginx_says(tmp_path, text)
    ours = nginx_lexer.first_error(text)
    if accepted:
        assert ours is None, (text, ours)
    elif error is not None:
        assert ours == error, text


def test_certlint_reports_nginx_message_at_nginx_line(tmp_path, certlint):
    text = WRAP % '    server_name ok.test;\n    server_name "a.test"-suffix;'
    (tmp_path / "nginx.conf").write_text(text)
    accepted, error = nginx_says(tmp_path, text)
    assert not accepted and error == ('unexpected "-"', 6)
    code, payload = certlint.json(str(tmp_path / "nginx.conf"), "--server", "nginx")
    errors = [(f["message"].split(":")[0], f["line"]) for f in payload["findings"]
              if f["rule"] == "config-error"]
    assert errors == [('unexpected "-"', 6)] and code == 1


def test_braced_variable_is_not_a_block_close(tmp_path, certlint):
    text = WRAP % "    location / { try_files $uri ${uri}/ =404; }"
    (tmp_path / "nginx.conf").write_text(text)
    assert nginx_says(tmp_path, text)[0]
    code, payload = certlint.json(str(tmp_path / "nginx.conf"), "--server", "nginx")
    assert payload["findings"] == [] and code == 0


ATOMS = ["a", "b.test", " ", "\n", "\t", ";", "{", "}", '"q"', "'s'", '"', "\\", "$", "${",
         "${v}", "#", "# c\n", "x\\;", ")", "(", "-", "é", "\\\n", '"a b"', "=", "}x"]


def test_random_soup_matches_nginx(tmp_path):
    """Seeded soup inside a server_name statement (any number of words is fine there): where
    nginx gives a lexical error certlint gives the same one; where nginx accepts, none."""
    rng = random.Random(1125)
    compared = accepted_seen = 0
    for _ in range(150):
        soup = "".join(rng.choice(ATOMS) for _ in range(rng.randint(1, 12)))
        text = WRAP % f"    server_name w {soup};"
        accepted, error = nginx_says(tmp_path, text)
        ours = nginx_lexer.first_error(text)
        if accepted:
            accepted_seen += 1
            assert ours is None, text
        elif error is not None:
            compared += 1
            assert ours == error, text
    assert compared > 30 and accepted_seen > 10
