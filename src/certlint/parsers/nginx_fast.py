"""A fast path for crossplane's per-file parse: same statements, a regex tokenizer.

crossplane lexes one character at a time through stacked generators (about 1.5 MB/s); on a
fleet of a thousand sites that alone costs more than `nginx -t` needs for the whole job. This
module tokenizes with regular expressions, following crossplane's lexer rule for rule (escapes
as units, quotes only at a token's start, comments only at a token's start), and builds the
statements the way crossplane's `_parse` does with checks off (comments inside arguments go
after the statement, `if (...)` parentheses are removed).

It is a fast path only: a file with anything unusual (an unterminated quote, unbalanced braces,
`${...}` with crossplane's own rules) returns None, and the caller lets crossplane parse it,
errors and all. tests/nginx/test_fast_tokenizer.py checks that both agree. One deliberate
difference: `*_by_lua_block` bodies are read as OpenResty reads Lua (long strings `[[...]]` and long
comments may hold braces), where crossplane miscounts braces and fails; the body comes out in
crossplane's shape (one quoted argument).
"""

from __future__ import annotations

import re

from crossplane.lexer import EXTERNAL_LEXERS

# one token at a time; `ws` skipped, `comment` to the end of its line, quoted strings with
# backslash escapes, single-character specials, and unquoted words where `\x` is one unit
TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<comment>\#(?:\\[^\n]|[^\\\n])*)(?P<eol>\\?\n|)
  | "(?P<dq>(?:\\.|[^"\\])*)"
  | '(?P<sq>(?:\\.|[^'\\])*)'
  | (?P<special>[{};])
  | (?P<word>(?!["'])(?:\\.|[^\s{};\\])+)
""", re.X | re.S)
AFTER_QUOTE = " \t\r\n;{)"  # nginx wants one of these after a closing quote
LUA_HINT = re.compile("|".join(re.escape(k) for k in EXTERNAL_LEXERS) or r"(?!x)x")


MAX_NESTING = 100  # real configs nest a handful of levels; recursion must stay far from limits


class _Fallback(Exception):
    """The file needs crossplane itself."""


class NestingError(Exception):
    """Blocks nested deeper than MAX_NESTING (a generated or hostile file)."""

    def __init__(self, line: int):
        super().__init__(f"blocks nested more than {MAX_NESTING} levels deep; certlint stops "
                         "reading this file here")
        self.line = line


def check_nesting(text: str) -> None:
    """Raise NestingError when the raw braces nest too deep (a cheap guard for the crossplane
    path, whose recursive parser would otherwise hit Python's recursion limit)."""
    depth = 0
    for m in re.finditer(r"[{}]", text):
        depth += 1 if m.group() == "{" else -1
        if depth > MAX_NESTING:
            raise NestingError(text.count("\n", 0, m.start()) + 1)


SIMPLE_TOKEN = re.compile(r"[{};]|[^\s{};]+")
NOT_SIMPLE = re.compile(r"[\"'\\#]")


# Lua as OpenResty reads a *_by_lua_block body: long comments and long strings ([[...]],
# [==[...]==]) and quoted strings may hold braces; only the rest counts
LUA_PIECE = re.compile(r"""
    --\[(?P<lc>=*)\[.*?\](?P=lc)\]
  | --[^\n]*
  | \[(?P<ls>=*)\[.*?\](?P=ls)\]
  | "(?:\\.|[^"\\])*"
  | '(?:\\.|[^'\\])*'
  | (?P<brace>[{}])
  | [^-\[{}"']+
  | [-\[]
""", re.X | re.S)


LUA_OPENER = re.compile(r"(?:--)?\[=*\[")


def _lua_block(text: str, pos: int, line: int, out: list) -> tuple[int, int]:
    """Append a Lua block's body as one quoted token plus ';' (crossplane's shape), reading it
    the way OpenResty does. Returns the position after the closing brace and the line there."""
    ws = re.compile(r"\s*").match(text, pos)
    line += ws.group().count("\n")
    pos = ws.end()
    if not text.startswith("{", pos):
        raise _Fallback  # crossplane: expected { to start Lua block
    start = pos = pos + 1
    depth = 1
    while True:
        m = LUA_PIECE.match(text, pos)
        if m is None:
            raise _Fallback  # an unterminated string, or the end of the file
        brace = m.group("brace")
        if m.lastgroup not in ("lc", "ls") and LUA_OPENER.match(text, pos):
            raise _Fallback  # an unterminated long string or comment: no rescans, crossplane
        if brace:
            depth += 1 if brace == "{" else -1
            if depth == 0:
                line += text.count("\n", start, m.start())
                out.append((text[start:m.start()], line, True))
                out.append((";", line, False))
                return m.end(), line
        pos = m.end()


def tokens(text: str) -> list[tuple[str, int, bool]]:
    """(token, line, quoted) exactly as crossplane's lexer yields them, or raise _Fallback."""
    lua = LUA_HINT.search(text) is not None
    if not lua and not NOT_SIMPLE.search(text):
        # no quotes, escapes or comments (most generated site files): words never span lines
        find = SIMPLE_TOKEN.findall
        return [(tok, n, False) for n, line in enumerate(text.split("\n"), 1)
                for tok in find(line)]
    out: list[tuple[str, int, bool]] = []
    pos, line, end = 0, 1, len(text)
    match = TOKEN.match
    directive_next = True  # crossplane's next_token_is_directive
    while pos < end:
        m = match(text, pos)
        if m is None:
            raise _Fallback  # an unterminated quote or a lone backslash at the end
        kind = m.lastgroup
        if kind == "ws":
            line += m.group().count("\n")
        elif kind == "eol":
            if not m.group("eol"):
                break  # crossplane drops a comment on the file's last line without newline
            out.append((m.group("comment"), line, False))
            line += 1
        elif kind in ("dq", "sq"):
            quote = '"' if kind == "dq" else "'"
            body = m.group(kind)
            token = body.replace("\\" + quote, quote)
            if m.end() < end and text[m.end()] not in AFTER_QUOTE:
                raise _Fallback  # nginx: unexpected "-" after "quoted"-suffix (nginx_lexer)
            if lua and directive_next and token in EXTERNAL_LEXERS:
                raise _Fallback  # a quoted Lua directive name: leave it to crossplane
            out.append((token, line, True))
            line += body.count("\n")
            directive_next = False
        elif kind == "special":
            out.append((m.group(), line, False))
            directive_next = True
        else:  # word
            word = m.group()
            # crossplane counts a leading escaped newline before it notes the token's line
            out.append((word, line + word.startswith("\\\n"), False))
            line += word.count("\n")  # only through an escaped newline
            if lua and directive_next and word in EXTERNAL_LEXERS:
                pos, line = _lua_directive(text, m.end(), line, word, out)
                continue
            directive_next = False
        pos = m.end()
    return out


def _lua_directive(text: str, pos: int, line: int, name: str, out: list) -> tuple[int, int]:
    """After a *_by_lua_block name: set_by_lua_block's variable, then the Lua body."""
    if name == "set_by_lua_block":
        m = re.compile(r"\s*(\S+)").match(text, pos)
        if m is None or m.group(1).startswith("{"):
            raise _Fallback
        line += m.group().count("\n")
        out.append((m.group(1), line, False))
        pos = m.end()
    return _lua_block(text, pos, line, out)


def parse(path: str, text: str) -> list[dict] | None:
    """crossplane's `parsed` list for one file (single, comments, no ctx/args checks), or None
    when the file must go through crossplane."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")  # Python's universal newlines
    if "${" in text:
        return None  # crossplane's quirky `${...}` rules: crossplane's own lexer
    try:
        toks = tokens(text)
        _balanced(toks)
        parsed, i = _block(path, toks, 0, top=True)
    except (_Fallback, IndexError):
        return None
    return parsed if i == len(toks) else None


def _block(path: str, toks: list, i: int, top: bool = False) -> tuple[list[dict], int]:
    parsed: list[dict] = []
    n = len(toks)
    while i < n:
        token, lineno, quoted = toks[i]
        i += 1
        if token == "}" and not quoted:
            if top:
                raise _Fallback  # unexpected "}"
            return parsed, i
        if token.startswith("#") and not quoted:
            parsed.append({"directive": "#", "line": lineno, "args": [], "comment": token[1:]})
            continue
        stmt = {"directive": token, "line": lineno, "args": []}
        comments = []
        token, _line, quoted = toks[i]
        i += 1
        while token not in ("{", ";", "}") or quoted:
            if token.startswith("#") and not quoted:
                comments.append(token[1:])
            else:
                stmt["args"].append(token)
            token, _line, quoted = toks[i]
            i += 1
        if stmt["directive"] == "if":
            _if_args(stmt)
        if token == "}" and not quoted:
            raise _Fallback  # crossplane's own recovery path; let it report
        if token == "{" and not quoted:
            stmt["block"], i = _block(path, toks, i)
        parsed.append(stmt)
        for comment in comments:
            parsed.append({"directive": "#", "line": stmt["line"], "args": [],
                           "comment": comment})
    if not top:
        raise _Fallback  # unexpected end of file, expecting "}"
    return parsed, i


def _balanced(toks: list) -> None:
    """crossplane's brace check runs over raw tokens (a `{` used as a name counts too)."""
    depth = 0
    for token, line, quoted in toks:
        if not quoted and token in ("{", "}"):
            depth += 1 if token == "{" else -1
            if depth < 0:
                raise _Fallback
            if depth > MAX_NESTING:
                raise NestingError(line)
    if depth:
        raise _Fallback


def _if_args(stmt: dict) -> None:
    args = stmt["args"]
    if args and args[0].startswith("(") and args[-1].endswith(")"):
        args[0] = args[0][1:].lstrip()
        args[-1] = args[-1][:-1].rstrip()
        start = int(not args[0])
        stop = len(args) - int(not args[-1])
        args[:] = args[start:stop]
