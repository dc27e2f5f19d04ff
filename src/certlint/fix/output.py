"""The three ways out of a workspace: a unified diff (dry run), `--write`, and `--patch FILE`.

`--write` is atomic per file: the new text goes to a temporary file in the same folder, gets the
original's mode (new files: the plan's mode), and replaces the target with one rename. Nothing is
ever deleted. The patch is git's format (new files as `new file mode`), with paths relative to
a base folder, so `git apply` in a clean copy of that folder gives the same tree as `--write`.
"""

from __future__ import annotations

import os
import stat
import tempfile

from certlint.fix.apply import Workspace


def _rel(path: str, base: str) -> str:
    rel = os.path.relpath(path, base)
    return rel.replace(os.sep, "/")


def _split(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def _line(prefix: str, text: str) -> str:
    if text.endswith("\n"):
        return prefix + text
    return f"{prefix}{text}\n\\ No newline at end of file\n"


def _hunks(ops: list[tuple[str, str]], a: str, b: str, context: int = 3) -> list[str]:
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
    out = [f"--- {a}\n", f"+++ {b}\n"]
    for first, last in groups:
        start, end = max(0, first - context), min(len(ops), last + context + 1)
        old_n = old_before[end] - old_before[start]
        new_n = new_before[end] - new_before[start]
        old_s = old_before[start] + (1 if old_n else 0)
        new_s = new_before[start] + (1 if new_n else 0)
        out.append(f"@@ -{old_s},{old_n} +{new_s},{new_n} @@\n")
        for kind, text in ops[start:end]:
            out.append(_line(" " if kind == "=" else kind, text))
    return out


def render_diff(ws: Workspace, base: str) -> str:
    """Config edits as a unified diff, then the files that would be created."""
    out: list[str] = []
    for path, ops in ws.diffs():
        rel = _rel(path, base)
        out.extend(_hunks(ops, f"a/{rel}", f"b/{rel}"))
    for path in sorted(ws.new_files):
        nf = ws.new_files[path]
        count = nf.content.count(b"-----BEGIN CERTIFICATE-----")
        what = f"{count} certificate(s)" if count else f"{len(nf.content)} bytes"
        out.append(f"would create {_rel(path, base)} ({what}, mode {nf.mode:o})\n")
    return "".join(out)


def render_patch(ws: Workspace, base: str) -> str:
    """One `git apply`-able patch holding the config edits and the new files."""
    out: list[str] = []
    for path, ops in ws.diffs():
        rel = _rel(path, base)
        out.append(f"diff --git a/{rel} b/{rel}\n")
        out.extend(_hunks(ops, f"a/{rel}", f"b/{rel}"))
    for path in sorted(ws.new_files):
        nf = ws.new_files[path]
        rel = _rel(path, base)
        text = nf.content.decode("utf-8")
        lines = _split(text)
        mode = "100755" if nf.mode & 0o111 else "100644"
        out.append(f"diff --git a/{rel} b/{rel}\nnew file mode {mode}\n--- /dev/null\n"
                   f"+++ b/{rel}\n@@ -0,0 +1,{len(lines)} @@\n")
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
    fd, tmp = tempfile.mkstemp(prefix=".certlint-", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if st is not None:
            os.chmod(tmp, stat.S_IMODE(st.st_mode))
            try:
                os.chown(tmp, st.st_uid, st.st_gid)
            except OSError:
                pass  # not root: the file keeps our ownership, the mode is what matters
        else:
            os.chmod(tmp, mode if mode is not None else 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_workspace(ws: Workspace) -> tuple[list[str], list[str]]:
    """Write new files first (so a config never names a file that is not there yet), then the
    config edits. Returns (written paths, one-line errors); a file that cannot be written is
    left as it was and the others still go ahead."""
    written: list[str] = []
    errors: list[str] = []
    for path in sorted(ws.new_files):
        nf = ws.new_files[path]
        try:
            atomic_write(path, nf.content, nf.mode)
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
        try:
            with open(path, "rb") as fh:
                if fh.read() != old.encode("utf-8", "surrogateescape"):
                    errors.append(f"{path} changed while certlint ran; not written (run again)")
                    continue
            atomic_write(path, new.encode("utf-8", "surrogateescape"))
            written.append(path)
        except OSError as exc:
            errors.append(f"cannot write {path}: {exc.strerror or exc}")
    return written, errors
