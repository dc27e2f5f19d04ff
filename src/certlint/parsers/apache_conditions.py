"""Apache conditional sections that certlint can decide offline: <IfVersion>, module names.

`<IfVersion [[!]op] version>` follows mod_version: operators `= == > >= < <=`, regex as
`/re/` with `=`/`==` or plain with `~`; a missing operator means `=`; omitted minor/patch
numbers are zero. `<IfModule>` accepts the source file name (`mod_ssl.c`) or the module
identifier (`ssl_module`); `module_names` gives both for a `LoadModule` line.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache

OPS = ("==", ">=", "<=", "=", ">", "<", "~")


@lru_cache(maxsize=256)
def parse_version(text: str) -> tuple[int, int, int] | None:
    """(major, minor, patch) of a version text; cached: every directive asks about the same
    one or two versions (a macro bomb asked 333,000 times)."""
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
        why = regex_refused(pattern)
        if why:
            raise RegexRefused(why)
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


# Python's `re` backtracks: nested quantifiers (`((.*)*)*x`), or many quantifiers or
# alternatives in a row, take hours even on "2.4.62" (SECURITY.md promise 10). A version test
# needs none of that, so such a pattern is not run at all.
MAX_PATTERN = 200
MAX_REPEATS = 10
MAX_BRANCHES = 10


class RegexRefused(ValueError):
    """An `<IfVersion>` regular expression certlint will not run; the reason in words."""


def regex_refused(pattern: str) -> str | None:
    """Why this `<IfVersion>` pattern is not evaluated (too costly to backtrack), or None."""
    if len(pattern) > MAX_PATTERN:
        return f"the regular expression is longer than {MAX_PATTERN} characters"
    try:
        from re import _parser as parser  # Python 3.11+
    except ImportError:  # pragma: no cover
        import sre_parse as parser  # type: ignore[no-redef]
    try:
        tree = parser.parse(pattern)
    except Exception:  # noqa: BLE001 - re.error and friends: reported as not understood
        return None
    counts = {"repeats": 0, "branches": 0, "nested": False}
    _walk(tree, 0, counts)
    if counts["nested"]:
        return ("the regular expression nests quantifiers (like (a+)*), which can backtrack "
                "for hours")
    if counts["repeats"] > MAX_REPEATS:
        return f"the regular expression has more than {MAX_REPEATS} quantifiers"
    if counts["branches"] > MAX_BRANCHES:
        return f"the regular expression has more than {MAX_BRANCHES} alternatives"
    return None


def _walk(items, repeat_depth: int, counts: dict) -> None:
    for op, arg in items:
        name = str(op)
        if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            counts["repeats"] += 1
            if repeat_depth:
                counts["nested"] = True
            _walk(arg[2], repeat_depth + 1, counts)
        elif name == "SUBPATTERN":
            _walk(arg[-1], repeat_depth, counts)
        elif name == "BRANCH":
            counts["branches"] += len(arg[1]) - 1
            for branch in arg[1]:
                _walk(branch, repeat_depth, counts)
        elif name in ("ASSERT", "ASSERT_NOT"):
            _walk(arg[1], repeat_depth, counts)
        elif name == "ATOMIC_GROUP":
            _walk(arg, repeat_depth, counts)
        elif name == "GROUPREF_EXISTS":
            for part in arg[1:]:
                if part is not None:
                    _walk(part, repeat_depth, counts)


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
