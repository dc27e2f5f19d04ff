"""Fix plans as data: what a rule proposes, for the one fix engine to verify, show and apply.

Rules (or fix planners) never write files. They return a `FixPlan`: new files to create and
small text edits on the lines a directive occupies. The engine renders them as a unified diff,
applies them atomically with `--write`, or saves a `git apply`-able patch with `--patch`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field


@dataclass(frozen=True)
class NewFile:
    """Create `path` with `content` (never overwrites a different existing file)."""

    path: str
    content: bytes
    mode: int = 0o644


@dataclass(frozen=True)
class ReplaceArg:
    """On `path:line`, in the directive `directive`, replace the argument `old` by `new`."""

    path: str
    line: int
    directive: str
    old: str
    new: str


@dataclass(frozen=True)
class InsertDirective:
    """Insert `text` (one directive, without indentation) after the directive at `path:line`,
    or before it when `before` is true, indented like that directive."""

    path: str
    line: int
    text: str
    before: bool = False


@dataclass(frozen=True)
class RemoveDirective:
    """Remove the directive `directive` at `path:line` (commented out, never silently lost)."""

    path: str
    line: int
    directive: str
    reason: str = ""


Edit = NewFile | ReplaceArg | InsertDirective | RemoveDirective


@dataclass
class FixPlan:
    """Everything needed to fix one finding; `notes` tell the user what was decided and why."""

    rule: str
    site: str
    edits: list[Edit] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def file_holds(path: str, content: bytes) -> bool:
    """Does `path` already exist with exactly `content` (so a NewFile there can be reused)?
    Only a regular file is read, and no further than one byte past `content`'s length (a link
    to /dev/zero or a huge file at the name is simply "other content": SECURITY.md promise 3)."""
    from certlint.safe_io import read_bounded

    try:
        return read_bounded(path, len(content)) == content
    except OSError:
        return False


def file_mode(path: str) -> int:
    """The permission bits of `path`, for a new file written beside it (0644 when unknown)."""
    try:
        return os.stat(path).st_mode & 0o777
    except OSError:
        return 0o644
