"""Applying fix plans to text: every edit kind, checked against the file before anything is written.

Edits are small changes on the lines a directive occupies, never a re-print of a whole file, so
diffs stay minimal. All edits of one file are applied together against its original lines, so
line numbers from the parser stay valid however many plans touch the file:

- `ReplaceArg`: the argument `old` of `directive` on `path:line` becomes `new` (quotes kept).
- `InsertDirective`: `text` is inserted verbatim (it carries its own `;` on nginx) on its own line
  after (or before) the directive at `path:line`, with that directive's indentation.
- `RemoveDirective`: the directive's lines are commented out (`# `), after an own-line comment
  giving the reason (Apache allows no comment on a directive's own line); nothing is deleted.
- `NewFile`: created with `mode`; an existing file with the same bytes is reused, a different one
  is never overwritten.

A plan whose edits do not match the file (the line moved, the argument is not there, it conflicts
with an edit already accepted) is refused as a whole: its site stays exactly as it was.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import lru_cache

from certlint.fix.plan import (
    Edit,
    FixPlan,
    InsertDirective,
    NewFile,
    RemoveDirective,
    ReplaceArg,
    file_holds,
)
from certlint.parsers.common import follow_root_links
from certlint.safe_io import MAX_CONFIG_BYTES, UnsafeFile, read_bounded


class EditError(Exception):
    """A plan that cannot be applied as it is: a one-line reason."""


@dataclass
class FileEdits:
    """Accepted edits of one existing file, keyed by original line number (1-based)."""

    path: str
    original: str
    replace: dict[int, str] = field(default_factory=dict)  # line -> new line text
    before: dict[int, list[str]] = field(default_factory=dict)
    after: dict[int, list[str]] = field(default_factory=dict)
    commented: dict[int, str] = field(default_factory=dict)  # first line -> reason

    _lines: list[str] | None = field(default=None, repr=False, compare=False)

    _nginx: bool | None = field(default=None, repr=False, compare=False)

    @property
    def nginx(self) -> bool:
        """Does the file read like nginx (statements end with `;`)? Decided once."""
        if self._nginx is None:
            self._nginx = _looks_nginx(self.lines)
        return self._nginx

    @property
    def lines(self) -> list[str]:
        if self._lines is None:
            self._lines = split_lines(self.original)
        return self._lines

    def ops(self) -> list[tuple[str, str]]:
        """The edit as a line diff: ("=", kept), ("-", old line), ("+", new line)."""
        lines = self.lines
        newline = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
        out: list[tuple[str, str]] = []
        skip_until = 0
        for n, original in enumerate(lines, 1):
            out.extend(("+", _with_newline(t, newline)) for t in self.before.get(n, []))
            text = self.replace.get(n, original)
            added: list[str] = []
            if n in self.commented:
                reason = self.commented[n]
                if reason:
                    added.append(_with_newline(f"{_indent(text)}# certlint: {reason}", newline))
                skip_until = _directive_end(lines, n, self.nginx)
            if n <= skip_until:
                body = text.rstrip("\r\n")
                indent = _indent(body)
                ending = text[len(body):] or newline
                text = f"{indent}# {body[len(indent):]}{ending}" if body.strip() else text
            elif not text.endswith(("\n", "\r")) and self.after.get(n):
                text += newline
            added.append(text)
            if added == [original]:
                out.append(("=", original))
            else:
                out.append(("-", original))
                out.extend(("+", t) for t in added)
            out.extend(("+", _with_newline(t, newline)) for t in self.after.get(n, []))
        return out

    def render(self) -> str:
        return "".join(text for kind, text in self.ops() if kind != "-")


def split_lines(text: str) -> list[str]:
    """Lines ending at `\\n` only, as the parsers count them and git applies them
    (`str.splitlines` would also split at form feeds, `\\x1c` and U+2028)."""
    lines = text.split("\n")
    out = [line + "\n" for line in lines[:-1]]
    if lines[-1]:
        out.append(lines[-1])
    return out


def _with_newline(text: str, newline: str) -> str:
    return text if text.endswith("\n") else text + newline


def _indent_unit(lines: list[str], opener: int) -> str:
    """The extra indentation of a block's body: from its first non-blank line, else 4 spaces."""
    base = _indent(lines[opener - 1])
    for text in lines[opener:]:
        if text.strip():
            inner = _indent(text)
            if len(inner) > len(base) and inner.startswith(base):
                return inner[len(base):]
            break
    return "    "


def _indent(text: str) -> str:
    return text[: len(text) - len(text.lstrip(" \t"))]


def _directive_end(lines: list[str], first: int, nginx: bool | None = None) -> int:
    """Last line of the directive starting at `first`: nginx runs to `;`, Apache to a line not
    ending in a backslash."""
    if nginx is None:
        nginx = _looks_nginx(lines)
    n = first
    while n < len(lines) and n - first < 50:
        body = _strip_comment(lines[n - 1]).rstrip()
        if body.endswith("\\") or (nginx and body and not any(c in body for c in ";{}")):
            n += 1
            continue
        break
    return n


def _looks_nginx(lines: list[str]) -> bool:
    return any(_strip_comment(line).rstrip().endswith(";") for line in lines[:200])


def _strip_comment(line: str) -> str:
    out, quote = [], None
    for ch in line:
        if quote:
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == "#":
            break
        out.append(ch)
    return "".join(out)


def replace_arg(line: str, directive: str, old: str, new: str) -> str:
    """The line with `old` (a whole argument of a `directive` statement on it) set to `new`.

    nginx allows several statements on one line (`server { listen 443 ssl; ssl_certificate
    a.pem; }`); each `directive` statement on the line is tried, up to its `;`."""
    code = _strip_comment(line)
    starts = list(re.finditer(r"(?:^|[;{}])\s*(" + re.escape(directive) + r")(?=\s)", code,
                              re.I))
    if not starts:
        raise EditError(f"no '{directive}' on that line")
    pattern = re.compile(r"(?<=[\s\"'])" + re.escape(old) + r"(?=[\s\"';]|$)")
    for m in starts:
        stop = _statement_end(code, m.end(1))
        found = pattern.search(code, m.end(1), stop)
        if not found:
            continue
        quoted = code[found.start() - 1] in "\"'"
        value = new if quoted or not _needs_quotes(new) else f'"{new}"'
        return line[: found.start()] + value + line[found.end():]
    raise EditError(f"'{old}' is not an argument of '{directive}' on that line")


def _statement_end(code: str, pos: int) -> int:
    """Index of the `;` ending the statement that runs from `pos` (or the end of the line)."""
    quote = None
    for i in range(pos, len(code)):
        ch = code[i]
        if quote:
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == ";":
            return i
    return len(code)


def _opens_block(line: str) -> bool:
    """`server {` alone on its line: inserting after it puts a directive inside the block."""
    code = _strip_comment(line).strip()
    return code.endswith("{") and code.count("{") == 1 and not any(c in code for c in ";}")


_VAR_REF = re.compile(r"\$\{[^{}\s]*\}")


def _shares_line(line: str) -> bool:
    """Does the line hold more than one statement (or a brace)? Then whole-line edits refuse."""
    code = _VAR_REF.sub("v", _strip_comment(line).rstrip())  # ${VAR} is no block
    quote, semis = None, 0
    for ch in code:
        if quote:
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch in "{}":
            return True
        elif ch == ";":
            semis += 1
    return semis > 1 or (semis == 1 and not code.endswith(";"))


def _replace_anywhere(line: str, old: str, new: str) -> str:
    code = _strip_comment(line)
    found = re.compile(r"(?:^|(?<=[\s\"']))" + re.escape(old) + r"(?=[\s\"';\\]|$)").search(code)
    if not found:
        raise EditError(f"'{old}' is not on the continuation line")
    quoted = found.start() > 0 and code[found.start() - 1] in "\"'"
    value = new if quoted or not _needs_quotes(new) else f'"{new}"'
    return line[: found.start()] + value + line[found.end():]


# --root of the current fix run (set by its Workspace): a config path that is an absolute
# symbolic link (Debian's sites-enabled) is read under the root, never from this host's /etc
_LINK_ROOT: list[str | None] = [None]


def raw_arguments(path: str, line: int, directive: str) -> list[list[str]]:
    """The arguments of each `directive` statement at `path:line` as written (variables
    unexpanded, quotes removed), following Apache `\\` continuations; [] when unreadable."""
    path = follow_root_links(path, _LINK_ROOT[0])
    try:
        st = os.stat(path)
    except OSError:
        return []
    lines, nginx = _file_lines(path, st.st_mtime_ns, st.st_size)
    if not 1 <= line <= len(lines):
        return []
    end = _directive_end(lines, line, nginx)
    text = " ".join(_strip_comment(t).rstrip().rstrip("\\") for t in lines[line - 1:end])
    out = []
    for m in re.finditer(r"(?:^|[;{}])\s*(" + re.escape(directive) + r")(?=\s)", text, re.I):
        stop = _statement_end(text, m.end(1))
        out.append(_split_args(text[m.end(1):stop]))
    return out


@lru_cache(maxsize=64)
def _file_lines(path: str, _mtime_ns: int, _size: int) -> tuple[list[str], bool]:
    """A config file's lines (and whether it reads like nginx), once per version of the file."""
    try:
        lines = split_lines(read_bounded(path, MAX_CONFIG_BYTES).decode("utf-8", "replace"))
    except OSError:
        return [], False
    return lines, _looks_nginx(lines)


def _split_args(text: str) -> list[str]:
    out, buf, quote, started = [], [], None, False
    for ch in text:
        if quote:
            if ch == quote:
                quote = None
            else:
                buf.append(ch)
        elif ch in "\"'":
            quote, started = ch, True
        elif ch.isspace():
            if started or buf:
                out.append("".join(buf))
            buf, started = [], False
        else:
            buf.append(ch)
    if started or buf:
        out.append("".join(buf))
    return out


def _needs_quotes(value: str) -> bool:
    return any(c.isspace() or c in ";#\"'" for c in value)


class Workspace:
    """The tree as it will be after every accepted plan: edited configs and new files."""

    def __init__(self, protected: set[str] | None = None, root: str | None = None,
                 write_roots: list[str] | None = None):
        self.root = root  # --root: absolute symbolic links point into the checked-out tree
        _LINK_ROOT[0] = root
        # where fix may write (SECURITY.md promise 1), as real paths; None: anywhere (library)
        self.write_roots = ([os.path.realpath(r) for r in write_roots]
                            if write_roots is not None else None)
        self.files: dict[str, FileEdits] = {}
        self.new_files: dict[str, NewFile] = {}
        self.reused: set[str] = set()  # new files that already exist with identical content
        self.protected = ({os.path.abspath(p) for p in protected or set()}
                          | {os.path.realpath(p) for p in protected or set()})
        self._backup: dict[str, FileEdits] = {}
        self._created_now: set[str] = set()

    def accept(self, plan: FixPlan) -> None:
        """Apply a whole plan or nothing (EditError says why)."""
        self.accept_all([plan])

    def accept_all(self, plans: list[FixPlan]) -> None:
        """Apply every plan or none of them (EditError says why).

        Only the files this transaction touches are backed up, so accepting many plans stays
        linear in their number."""
        self._backup: dict[str, FileEdits] = {}
        new_files = set(self.new_files)
        reused = set(self.reused)
        try:
            for plan in plans:
                for edit in plan.edits:
                    self._apply(edit)
        except EditError:
            for key, saved in self._backup.items():
                self.files[key] = saved
            for key in [k for k in self.files if k not in self._backup
                        and k in self._created_now]:
                del self.files[key]
            for key in set(self.new_files) - new_files:
                del self.new_files[key]
            self.reused = reused
            raise
        finally:
            self._created_now: set[str] = set()
            self._backup = {}

    def _file(self, path: str) -> FileEdits:
        # edit the file itself, not a symbolic link to it (Debian's sites-enabled/ links)
        key = os.path.realpath(follow_root_links(path, self.root))
        if key in self.protected or os.path.abspath(path) in self.protected:
            raise EditError(f"{path} is a private key file; certlint never changes key files")
        self.check_inside(path, key)
        if key not in self.files:
            try:
                text = read_bounded(key, MAX_CONFIG_BYTES).decode("utf-8", "surrogateescape")
            except UnsafeFile as exc:
                raise EditError(f"cannot read {path}: it {exc}") from None
            except (OSError, UnicodeDecodeError) as exc:
                raise EditError(f"cannot read {path}: {exc.__class__.__name__}") from None
            self.files[key] = FileEdits(key, text)
            self._created_now.add(key)
        elif key not in self._backup and key not in self._created_now:
            self._backup[key] = _copy(self.files[key])
        return self.files[key]

    def _apply(self, edit: Edit) -> None:
        if isinstance(edit, NewFile):
            self._new_file(edit)
            return
        fe = self._file(edit.path)
        lines = fe.lines
        if not 1 <= edit.line <= len(lines):
            raise EditError(f"{edit.path}:{edit.line}: no such line")
        if isinstance(edit, ReplaceArg):
            self._replace(fe, edit)
        elif isinstance(edit, InsertDirective):
            if _shares_line(lines[edit.line - 1]) and not _opens_block(lines[edit.line - 1]):
                raise EditError(f"{edit.path}:{edit.line}: the line holds several statements; "
                                "put them on lines of their own first")
            target = fe.before if edit.before else fe.after
            indent = _indent(lines[edit.line - 1])
            if _opens_block(lines[edit.line - 1]) and not edit.before:
                indent += _indent_unit(lines, edit.line)
            text = indent + edit.text.strip()
            if text not in target.setdefault(edit.line, []):
                target[edit.line].append(text)
        elif isinstance(edit, RemoveDirective):
            if not re.match(r"\s*" + re.escape(edit.directive) + r"(\s|$)",
                            lines[edit.line - 1], re.I):
                raise EditError(f"{edit.path}:{edit.line}: '{edit.directive}' is not there")
            if _shares_line(lines[edit.line - 1]):
                raise EditError(f"{edit.path}:{edit.line}: the line holds several statements; "
                                "put them on lines of their own first")
            fe.commented.setdefault(edit.line, edit.reason)
        else:  # pragma: no cover - the Edit union is closed
            raise EditError(f"unknown edit {edit!r}")

    def _replace(self, fe: FileEdits, edit: ReplaceArg) -> None:
        """Replace on the directive's line, or on a continuation line of it (Apache `\\`)."""
        lines = fe.lines
        end = _directive_end(lines, edit.line, fe.nginx)
        first_error = None
        for n in range(edit.line, end + 1):
            current = fe.replace.get(n, lines[n - 1])
            try:
                if n == edit.line:
                    updated = replace_arg(current, edit.directive, edit.old, edit.new)
                else:
                    updated = _replace_anywhere(current, edit.old, edit.new)
            except EditError as exc:
                if fe.replace.get(n) and _has_arg(current, edit.new):
                    return  # the same change, already accepted for another site
                first_error = first_error or exc
                continue
            fe.replace[n] = updated
            return
        raise EditError(f"{edit.path}:{edit.line}: {first_error}")

    def inside(self, real: str) -> bool:
        """Is this real path inside a folder fix may write to?"""
        if self.write_roots is None:
            return True
        return any(real == r or real.startswith(r.rstrip(os.sep) + os.sep)
                   for r in self.write_roots)

    def check_inside(self, path: str, real: str) -> None:
        """Refuse (EditError) a file whose real path, every link resolved, is outside the root."""
        if not self.inside(real):
            where = " or ".join(self.write_roots or [])
            shown = f"{path} (really {real})" if real != os.path.abspath(path) else path
            raise EditError(f"{shown} is outside {where}: certlint fix writes only inside the "
                            "root (--root, else the entry point's folder or the current "
                            "folder); nothing was changed for this site")

    def _new_file(self, edit: NewFile) -> None:
        key = os.path.abspath(edit.path)
        if key in self.protected:
            raise EditError(f"{edit.path} is a private key file; certlint never changes it")
        self.check_inside(edit.path, os.path.join(os.path.realpath(os.path.dirname(key)),
                                                  os.path.basename(key)))
        if os.path.islink(key):
            self.check_inside(edit.path, os.path.realpath(key))
        if not isinstance(edit.content, bytes):
            raise EditError(f"{edit.path}: new file content must be bytes")
        try:
            edit.content.decode("utf-8")
        except UnicodeDecodeError:
            raise EditError(f"{edit.path}: only text files (PEM, config) are created") from None
        planned = self.new_files.get(key)
        if planned is not None:
            if planned.content != edit.content:
                raise EditError(f"{edit.path}: two fixes want different content in it")
            return
        if os.path.lexists(key):
            # compared through a bounded read: a name taken by a link to /dev/zero or a huge
            # file is "other content", never read to the end (SECURITY.md promise 3)
            if not file_holds(key, edit.content):
                raise EditError(f"{edit.path} already exists with other content; not overwritten")
            self.reused.add(key)
            return
        self.new_files[key] = NewFile(key, edit.content, edit.mode)

    def diffs(self) -> list[tuple[str, list[tuple[str, str]]]]:
        """(path, line ops) for every config file that really changes."""
        out = []
        for path in sorted(self.files):
            ops = self.files[path].ops()
            if any(kind != "=" for kind, _text in ops):
                out.append((path, ops))
        return out

    def changes(self) -> list[tuple[str, str, str]]:
        """(path, old text, new text) for every config file that really changes."""
        out = []
        for path in sorted(self.files):
            fe = self.files[path]
            new = fe.render()
            if new != fe.original:
                out.append((path, fe.original, new))
        return out

    def touched(self) -> list[str]:
        """Every path the workspace would create or change."""
        return sorted(set(self.new_files) | {path for path, _old, _new in self.changes()})

    @property
    def empty(self) -> bool:
        return not self.new_files and not self.changes()


def _has_arg(line: str, value: str) -> bool:
    return re.search(r"(?<=[\s\"'])" + re.escape(value) + r"(?=[\s\"';]|$)", line) is not None


def _copy(fe: FileEdits) -> FileEdits:
    return FileEdits(fe.path, fe.original, dict(fe.replace),
                     {k: list(v) for k, v in fe.before.items()},
                     {k: list(v) for k, v in fe.after.items()}, dict(fe.commented), fe._lines,
                     fe._nginx)
