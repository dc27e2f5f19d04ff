"""Apache conditional sections that certlint can decide offline: <IfVersion>, module names.

`<IfVersion [[!]op] version>` follows mod_version: operators `= == > >= < <=`, regex as
`/re/` with `=`/`==` or plain with `~`; a missing operator means `=`; omitted minor/patch
numbers are zero. `<IfModule>` accepts the source file name (`mod_ssl.c`) or the module
identifier (`ssl_module`); `module_names` gives both for a `LoadModule` line.
"""

from __future__ import annotations

import os
import re

OPS = ("==", ">=", "<=", "=", ">", "<", "~")


def parse_version(text: str) -> tuple[int, int, int] | None:
    m = re.match(r"^\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?", text)
    if not m:
        return None
    return tuple(int(g) if g else 0 for g in m.groups())  # type: ignore[return-value]


def if_version(args: list[str], current: str) -> bool | None:
    """Whether `<IfVersion args>` is active on Apache `current`; None when not understood."""
    words = " ".join(args).strip()
    negate = words.startswith("!")
    if negate:
        words = words[1:].strip()
    op = "="
    for candidate in OPS:
        if words.startswith(candidate):
            op, words = candidate, words[len(candidate):].strip()
            break
    have = parse_version(current)
    if have is None or not words:
        return None
    text_version = ".".join(str(n) for n in have)
    if op == "~" or (op in ("=", "==") and len(words) > 1 and words[0] == words[-1] == "/"):
        pattern = words.strip("/") if op != "~" else words
        try:
            result = re.search(pattern, text_version) is not None
        except re.error:
            return None
        return result != negate
    want = parse_version(words)
    if want is None:
        return None
    result = {
        "=": have == want, "==": have == want, ">": have > want, ">=": have >= want,
        "<": have < want, "<=": have <= want,
    }[op]
    return result != negate


def module_names(identifier: str, path: str) -> set[str]:
    """Names `<IfModule>` may use for a loaded module: `ssl_module`, `mod_ssl.c`."""
    names = {identifier.lower()}
    if identifier.lower().endswith("_module"):
        names.add(f"mod_{identifier.lower()[:-7]}.c")
    base = os.path.basename(path).lower()
    if base.endswith(".so"):
        names.add(base[:-3] + ".c")
    return names


def version_at_least(current: str, wanted: str) -> bool:
    have, want = parse_version(current), parse_version(wanted)
    if have is None or want is None:
        return True
    return have >= want
