"""Escaping of values that came from input (config text, file names, certificate names) for each
output format certlint writes (SECURITY.md promise 6).

Every reporter passes every value through the one function for its format, so no rule has to
think about it:

- `text`: control characters (C0, DEL, C1), Unicode format characters (bidirectional overrides)
  and line/paragraph separators become visible escapes (`\\x1b`, `\\n`, `\\u202e`): a value
  cannot end an output line, move the cursor or recolour the terminal. A file name byte that is
  not UTF-8 (kept as a surrogate) goes out as it is on disk, except the C1 range 0x80-0x9f
  (a CSI on 8-bit terminals).
- `github_data` / `github_property`: GitHub's own workflow-command escapes (`%25`, `%0D`, `%0A`,
  and in properties also `%3A`, `%2C`) after `text`, so a value cannot start a new command.
- `markdown` / `markdown_code`: text that renders as itself (no links, images, HTML, table
  breaks); a code span whose fence is longer than any backtick run inside it.
JSON and SARIF are written with `json.dumps`, whose string escaping is the format's own.
"""

from __future__ import annotations

import re
import unicodedata

_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff"
    "\ufff9-\ufffb\udc80-\udc9f]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _visible(m: re.Match) -> str:
    ch = m.group(0)
    if ch in _NAMED:
        return _NAMED[ch]
    code = ord(ch)
    if 0xDC80 <= code <= 0xDC9F:  # an undecodable byte 0x80-0x9f of a file name
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def text(value: object) -> str:
    """A value safe to print on one terminal line."""
    value = str(value)
    if value.isascii() and value.isprintable():
        return value
    value = _UNSAFE.sub(_visible, value)
    if value.isprintable():
        return value
    # other format characters (category Cf) not in the table above
    return "".join(f"\\u{ord(c):04x}" if unicodedata.category(c) in ("Cf", "Zl", "Zp") else c
                   for c in value)


def github_data(value: object) -> str:
    """The message part of a `::error ...::message` workflow command."""
    return text(value).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def github_property(value: object) -> str:
    """A property value (`file=`, `title=`) of a workflow command."""
    return github_data(value).replace(":", "%3A").replace(",", "%2C")


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~&])")


def markdown(value: object) -> str:
    """Inline Markdown text that renders as the value itself."""
    return _MD_SPECIAL.sub(r"\\\1", text(value))


def markdown_code(value: object, table: bool = False) -> str:
    """An inline code span holding the value (inside a table cell `|` is escaped, as GitHub
    Flavored Markdown needs even in code spans)."""
    body = text(value)
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    fence = "`" * (longest + 1)
    if body.startswith("`") or body.endswith("`") or not body.strip():
        body = f" {body} "
    if table:
        body = body.replace("|", "\\|")
    return f"{fence}{body}{fence}"
