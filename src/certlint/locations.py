"""Where a finding points: the real 1-based column of the directive name on its line, and,
for a file reached through a symbolic link (Debian's `sites-enabled/x.conf`), the link's target:
the file a change must edit, the one `fix` edits and `fix --patch` names.

Columns are looked up only for lines that carry a finding (a few lines of a few files), never
while parsing.
"""

from __future__ import annotations

import os
import re

from certlint.parsers.common import map_root

_LINES: dict[tuple[str, int, int], list[str]] = {}
MAX_LINK_HOPS = 40


def _lines(path: str) -> list[str] | None:
    try:
        st = os.stat(path)
        key = (path, st.st_mtime_ns, st.st_size)
        if key not in _LINES:
            from certlint.safe_io import MAX_CONFIG_BYTES, read_bounded

            # a regular file only, size-capped (SECURITY.md promise 3)
            _LINES[key] = read_bounded(path, MAX_CONFIG_BYTES).decode(
                "utf-8", "replace").splitlines()
        return _LINES[key]
    except OSError:
        return None


def column(path: str, line: int | None, name: str | None = None, apache: bool = False,
           root: str | None = None) -> int:
    """The 1-based column of directive `name` on `path:line` (the first non-blank character
    when the name is not there, 1 when the line cannot be read). A linked file is read where
    its link leads under --root, never from this machine."""
    if not line or line < 1:
        return 1
    lines = _lines(link_target(path, root) or path)
    if lines is None or line > len(lines):
        return 1
    text = lines[line - 1]
    if name:
        flags = re.I if apache else 0
        found = re.search(r"(?<![\w$.-])" + re.escape(name) + r"(?![\w.-])", text, flags)
        if found:
            return found.start() + 1
    stripped = len(text) - len(text.lstrip())
    return stripped + 1 if stripped < len(text) else 1


def link_target(path: str, root: str | None) -> str | None:
    """The file a symbolic link at `path` leads to (absolute targets under --root), or None
    when `path` is no link. Folders on the way are kept as written."""
    try:
        if not os.path.islink(path):
            return None
        current = path
        for _hop in range(MAX_LINK_HOPS):
            if not os.path.islink(current):
                return current
            link = os.readlink(current)
            current = (map_root(link, root) if os.path.isabs(link)
                       else os.path.normpath(os.path.join(os.path.dirname(current), link)))
    except OSError:
        return None
    return None


def relocate(findings, root: str | None) -> None:
    """Point findings in linked files at the link's target, naming the link in the message."""
    targets: dict[str, str | None] = {}
    for finding in findings:
        path = finding.path
        if not path or path.startswith("<"):
            continue
        if path not in targets:
            targets[path] = link_target(path, root)
        target = targets[path]
        if target is None or target == path:
            continue
        finding.path = target
        finding.message += f" (in {_shown(target, root)}, reached through the symbolic link " \
                           f"{_shown(path, root)})"


def _shown(path: str, root: str | None) -> str:
    base = os.path.abspath(root) if root else os.getcwd()
    rel = os.path.relpath(path, base)
    if rel.startswith(".."):
        return path
    return "/" + rel if root else rel
