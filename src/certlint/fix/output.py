"""The three ways out of a workspace: a unified diff (dry run), `--write`, and `--patch FILE`.

`--write` is atomic per file: the new text goes to a temporary file in the same folder, gets the
original's mode (new files: the plan's mode), and replaces the target with one rename. Nothing is
ever deleted. The patch is git's format (new files as `new file mode`), with paths relative to
a base folder, so `git apply` in a clean copy of that folder gives the same tree as `--write`.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile

from certlint.fix.apply import Workspace, split_lines
from certlint.report.escape import text as esc
from certlint.safe_io import TooLarge, read_bounded


def _rel(path: str, base: str) -> str:
    rel = os.path.relpath(path, base)
    return rel.replace(os.sep, "/")


_C_ESCAPES = {7: "\\a", 8: "\\b", 9: "\\t", 10: "\\n", 11: "\\v", 12: "\\f", 13: "\\r",
              34: '\\"', 92: "\\\\"}


def git_quote(name: str) -> str:
    """A path as git writes it in a patch (quote_c_style with core.quotePath): in double quotes
    with C escapes and octal bytes when it holds a control character, `"`, `\\` or a non-ASCII
    byte; else as it is. A name can then never add a line to a patch (SECURITY.md promise 2)."""
    raw = name.encode("utf-8", "surrogateescape")
    if not any(b < 0x20 or b >= 0x7f or b in (34, 92) for b in raw):
        return name
    out = []
    for b in raw:
        if b in _C_ESCAPES:
            out.append(_C_ESCAPES[b])
        elif b < 0x20 or b >= 0x7f:
            out.append(f"\\{b:03o}")
        else:
            out.append(chr(b))
    return '"' + "".join(out) + '"'


def _names(rel: str) -> tuple[str, str, str]:
    """(`diff --git` names, `---` name, `+++` name) for a path relative to the patch base: git
    ends an unquoted ---/+++ name holding a space with a tab, so the name is read whole."""
    a, b = git_quote(f"a/{rel}"), git_quote(f"b/{rel}")
    tab = "\t" if " " in rel and not a.startswith('"') else ""
    return f"{a} {b}", a + tab, b + tab


def _split(text: str) -> list[str]:
    """Lines as git sees them: split at `\\n` only (a form feed or U+2028 is no line end)."""
    return split_lines(text)


def _line(prefix: str, text: str) -> str:
    if text.endswith("\n"):
        return prefix + text
    return f"{prefix}{text}\n\\ No newline at end of file\n"


def _shown_line(prefix: str, text: str) -> str:
    """A diff line for people (the dry run): control characters in the config line made
    visible (SECURITY.md promise 6); `--patch` keeps the exact bytes git applies."""
    body = text[:-1] if text.endswith("\n") else text
    ending = text[len(body):]
    if body.endswith("\r"):
        body, ending = body[:-1], "\r" + ending
    return _line(prefix, esc(body) + ending)


def _hunks(ops: list[tuple[str, str]], a: str, b: str, context: int = 3,
           line=_line) -> list[str]:
    """A unified diff from known line operations (no diff algorithm needed: the edits say
    exactly which lines changed, so this stays linear however many sites a file holds)."""
    changed = [i for i, (kind, _t) in enumerate(ops) if kind != "="]
    if not changed:
        return []
    groups: list[list[int]] = [[changed[0], changed[0]]]
    for i in changed[1:]:
        if i - groups[-1][1] <= 2 * context:
            groups[-1][1] = i
        else:
            groups.append([i, i])
    old_before = [0] * (len(ops) + 1)
    new_before = [0] * (len(ops) + 1)
    for i, (kind, _t) in enumerate(ops):
        old_before[i + 1] = old_before[i] + (kind != "+")
        new_before[i + 1] = new_before[i] + (kind != "-")
    out = [f"--- {a}\n", f"+++ {b}\n"]  # a, b: names as _names gives them
    for first, last in groups:
        start, end = max(0, first - context), min(len(ops), last + context + 1)
        old_n = old_before[end] - old_before[start]
        new_n = new_before[end] - new_before[start]
        old_s = old_before[start] + (1 if old_n else 0)
        new_s = new_before[start] + (1 if new_n else 0)
        out.append(f"@@ -{old_s},{old_n} +{new_s},{new_n} @@\n")
        for kind, text in ops[start:end]:
            out.append(line(" " if kind == "=" else kind, text))
    return out


def render_diff(ws: Workspace, base: str) -> str:
    """Config edits as a unified diff, then the files that would be created."""
    out: list[str] = []
    for path, ops in ws.diffs():
        _both, a, b = _names(_rel(path, base))
        out.extend(_hunks(ops, a, b, line=_shown_line))
    for path in sorted(ws.new_files):
        nf = ws.new_files[path]
        count = nf.content.count(b"-----BEGIN CERTIFICATE-----")
        what = f"{count} certificate(s)" if count else f"{len(nf.content)} bytes"
        out.append(f"would create {git_quote(_rel(path, base))} ({what}, mode {nf.mode:o})\n")
    return "".join(out)


def render_patch(ws: Workspace, base: str) -> str:
    """One `git apply`-able patch holding the config edits and the new files."""
    out: list[str] = []
    for path, ops in ws.diffs():
        both, a, b = _names(_rel(path, base))
        out.append(f"diff --git {both}\n")
        out.extend(_hunks(ops, a, b))
    for path in sorted(ws.new_files):
        nf = ws.new_files[path]
        both, _a, b = _names(_rel(path, base))
        text = nf.content.decode("utf-8")
        lines = _split(text)
        mode = "100755" if nf.mode & 0o111 else "100644"
        out.append(f"diff --git {both}\nnew file mode {mode}\n--- /dev/null\n"
                   f"+++ {b}\n@@ -0,0 +1,{len(lines)} @@\n")
        for line in lines:
            out.append("+" + line if line.endswith("\n")
                       else f"+{line}\n\\ No newline at end of file\n")
    return "".join(out)


def atomic_write(path: str, data: bytes, mode: int | None = None) -> None:
    """Replace (or create) `path` with `data` in one rename; keep the original's mode/owner."""
    folder = os.path.dirname(os.path.abspath(path))
    st = None
    try:
        st = os.stat(path)
    except FileNotFoundError:
        pass
    with _synced_temp(folder, data) as tmp:
        if st is not None:
            os.chmod(tmp, stat.S_IMODE(st.st_mode))
            try:
                os.chown(tmp, st.st_uid, st.st_gid)
            except OSError:
                pass  # not root: the file keeps our ownership, the mode is what matters
        else:
            os.chmod(tmp, mode if mode is not None else 0o644)
        os.replace(tmp, path)


@contextlib.contextmanager
def _synced_temp(folder: str, data: bytes):
    """A new temporary file in `folder` (mkstemp: O_EXCL, mode 0600) holding `data`, on disk
    (fsync) before anyone links or renames it; its name is gone again when the block ends,
    whether the block renamed it, linked it elsewhere or failed."""
    fd, tmp = tempfile.mkstemp(prefix=".certlint-", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        yield tmp
    finally:
        with contextlib.suppress(OSError):  # renamed away already, or never to be kept
            os.unlink(tmp)


def create_new(path: str, data: bytes, mode: int) -> None:
    """Create `path` holding `data`, never replacing anything: the bytes go to an exclusive
    temporary file (mkstemp: O_EXCL) that is then hard-linked to the name, which fails if a file,
    link or folder has appeared there since planning (SECURITY.md promise 1)."""
    folder = os.path.dirname(os.path.abspath(path))
    with _synced_temp(folder, data) as tmp:
        os.chmod(tmp, mode)
        try:
            os.link(tmp, path, follow_symlinks=False)
        except FileExistsError:
            raise FileExistsError(17, "a file appeared there since planning; not replaced"
                                  ) from None


def _still_inside(ws: Workspace, path: str) -> str | None:
    """Why `path` may no longer be written (a folder on its way became a link out of the root
    since planning), or None."""
    real_folder = os.path.realpath(os.path.dirname(path))
    if real_folder != os.path.dirname(path) or not ws.inside(real_folder):
        return (f"{path}: its folder now resolves to {real_folder}, which changed since planning "
                "or lies outside the root; not written")
    return None


def write_workspace(ws: Workspace) -> tuple[list[str], list[str]]:
    """Write new files first (so a config never names a file that is not there yet), then the
    config edits. Returns (written paths, one-line errors); a file that cannot be written is
    left as it was and the others still go ahead."""
    written: list[str] = []
    errors: list[str] = []
    for path in sorted(ws.new_files):
        nf = ws.new_files[path]
        why = _still_inside(ws, os.path.join(os.path.realpath(os.path.dirname(path)),
                                             os.path.basename(path)))
        if why and ws.write_roots is not None:
            errors.append(why)
            continue
        try:
            create_new(path, nf.content, nf.mode)
            written.append(path)
        except OSError as exc:
            errors.append(f"cannot create {path}: {exc.strerror or exc}")
    failed_new = {p for p in ws.new_files if p not in written}
    for path, old, new in ws.changes():
        needs = [p for p in failed_new if os.path.basename(p) in new]
        if needs:
            errors.append(f"{path} not changed: it would name {needs[0]}, which could not "
                          "be created")
            continue
        why = _still_inside(ws, path) if ws.write_roots is not None else None
        if why:
            errors.append(why)
            continue
        try:
            expected = old.encode("utf-8", "surrogateescape")
            try:
                now = read_bounded(path, len(expected))
            except TooLarge:
                now = None  # it grew
            if now != expected:
                errors.append(f"{path} changed while certlint ran; not written (run again)")
                continue
            atomic_write(path, new.encode("utf-8", "surrogateescape"))
            written.append(path)
        except OSError as exc:
            errors.append(f"cannot write {path}: {exc.strerror or exc}")
    return written, errors
