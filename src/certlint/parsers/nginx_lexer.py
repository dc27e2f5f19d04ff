"""nginx's own lexical rules, for the one question crossplane answers differently: does
`nginx -t` refuse this file's syntax, and with which words at which line?

It follows `ngx_conf_read_token` (src/core/ngx_conf_file.c) rule for rule, with regular
expressions over whole tokens instead of one character at a time:
- only space, tab, CR and LF separate words; `#` starts a comment only at a token's start;
- a word ends at whitespace, `;` or `{`, but `}` inside a word is part of it, and `{` right
  after `$` is part of it too (`${uri}/` is one word, not a block);
- a backslash takes the next character literally, in words and in quotes;
- a quoted string must be followed by whitespace, `;`, `{` or `)`: `"a.test"-x` is
  `unexpected "-"`;
- `;` or `{` with no directive before it, `}` inside a statement or at the top of a file, and
  the end of the file inside a statement or a block are errors.

`first_error` returns nginx's message and line for the first of these, or None. nginx stops at
the first error, so does this. Errors that need the directive table ("is not terminated by
";"", unknown directives, argument counts) are not lexical and not decided here.
"""

from __future__ import annotations

import re

TOKEN = re.compile(r"""
    (?P<ws>[ \t\r\n]+)
  | (?P<comment>\#[^\n]*)
  | (?P<quote>"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*')
  | (?P<special>[;{}])
  | (?P<word>(?![\"'])(?:\\.|\$\{|[^ \t\r\n;{\\])+)
""", re.X | re.S)
AFTER_QUOTE_OK = " \t\r\n;{)"
EOF_IN_STATEMENT = 'unexpected end of file, expecting ";" or "}"'
EOF_IN_BLOCK = 'unexpected end of file, expecting "}"'


def first_error(text: str) -> tuple[str, int] | None:
    """(nginx's message, line) of the first lexical error in a file's text, or None."""
    pos, line, end = 0, 1, len(text)
    depth = 0
    args = 0  # words of the statement being read
    match = TOKEN.match
    while pos < end:
        m = match(text, pos)
        if m is None:  # an unterminated quote, or a backslash as the file's last character
            return EOF_IN_STATEMENT, 1 + text.count("\n")
        kind = m.lastgroup
        token = m.group()
        if kind == "special":
            if token == "}":
                if args or depth == 0:
                    return 'unexpected "}"', line
                depth -= 1
            elif not args:
                return f'unexpected "{token}"', line
            else:
                depth += token == "{"
                args = 0
        elif kind == "quote":
            line += token.count("\n")
            args += 1
            nxt = text[m.end()] if m.end() < end else ""
            if nxt and nxt not in AFTER_QUOTE_OK:
                return f'unexpected "{nxt}"', line
        elif kind == "word":
            line += token.count("\n")  # only through an escaped newline
            args += 1
        elif kind == "ws":
            line += token.count("\n")
        pos = m.end()
    if args:
        return EOF_IN_STATEMENT, line
    if depth:
        return EOF_IN_BLOCK, line
    return None
