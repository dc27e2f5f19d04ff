"""`certlint fix` output: the diff or what was written on stdout, the summary on stderr.

Exit codes: 0 when everything fixable was fixed (with --write/--patch) or nothing needs a change
(dry run); 1 when problems remain that could not be fixed, or (dry run) changes are pending;
2 usage or unreadable entry point.
"""

from __future__ import annotations

import json
import os
import sys

import click

from certlint import __version__
from certlint.context import Options
from certlint.engine import EntryPointError
from certlint.fix.engine import FixRun, plan_fixes, recheck
from certlint.fix.output import atomic_write, render_diff, render_patch, write_workspace
from certlint.report.escape import text as esc

EXIT_OK, EXIT_REMAINING, EXIT_USAGE = 0, 1, 2
PROGRESS_MIN_SITES = 20
MAX_NOTES = 20  # notes shown in text output; json has them all


def say(message: str, err: bool = False) -> None:
    """One line of output; values from input in it are escaped (SECURITY.md promise 6)."""
    click.echo(esc(message), err=err)


def _stderr_is_tty() -> bool:
    return sys.stderr.isatty()


def _progress(done: int, total: int) -> None:
    if total >= PROGRESS_MIN_SITES:
        click.echo(f"\rcertlint: planning fixes, site {done}/{total}", err=True,
                   nl=done == total)


def run_fix_command(paths: list[str], options: Options, fmt: str = "text", write: bool = False,
                    patch_file: str | None = None) -> int:
    if fmt not in ("text", "json"):
        say(f"certlint: fix writes text or json, not {fmt} (use `certlint check "
                   f"--format {fmt}` for reports)", err=True)
        return EXIT_USAGE
    for folder in options.intermediates:
        if not os.path.isdir(folder):
            say(f"certlint: --intermediates {folder}: not a folder", err=True)
            return EXIT_USAGE
    try:
        run = plan_fixes(paths, options,
                         progress=_progress if _stderr_is_tty() else None)
    except EntryPointError as exc:
        say(f"certlint: {exc}", err=True)
        return EXIT_USAGE
    dumps = [c.extra["dump"] for c in run.report.configs if c.extra.get("dump")]
    if write and dumps:
        say(f"certlint: {dumps[0]} is an `nginx -T` dump, a snapshot: --write changes "
                   "only the config files themselves (run fix on nginx.conf, or use --patch)",
                   err=True)
        return EXIT_USAGE
    base = os.path.abspath(options.root) if options.root else os.getcwd()
    written: list[str] = []
    if patch_file:
        patch = render_patch(run.workspace, base)
        try:
            atomic_write(patch_file, patch.encode("utf-8", "surrogateescape"))
        except OSError as exc:
            say(f"certlint: cannot write the patch {patch_file}: "
                       f"{exc.strerror or exc}", err=True)
            return EXIT_USAGE
        outside = [p for p in run.workspace.touched() if os.path.relpath(p, base).startswith("..")]
        if outside:
            say(f"certlint: warning: {outside[0]} lies outside {base}; the patch applies "
                       "from a folder holding every changed file (run from the tree's root or "
                       "pass --root)", err=True)
    if write:
        written, write_errors = write_workspace(run.workspace)
        for error in write_errors:
            say(f"certlint: {error}", err=True)
        if written or write_errors:
            try:
                recheck(run, paths, options)
            except EntryPointError as exc:
                say(f"certlint: cannot check the written tree again: {exc}", err=True)
                return EXIT_REMAINING
    if fmt == "json":
        click.echo(json.dumps(_as_json(run, written, patch_file), indent=2))
    else:
        _text(run, written, patch_file, base, write)
    if run.remaining:
        return EXIT_REMAINING
    if not write and not patch_file and not run.workspace.empty:
        return EXIT_REMAINING
    return EXIT_OK


def _text(run: FixRun, written: list[str], patch_file: str | None, base: str,
          write: bool) -> None:
    if write:
        for path in written:
            say(f"wrote {os.path.relpath(path, base)}")
    elif not patch_file:
        click.echo(render_diff(run.workspace, base), nl=False)
    notes = [(plan.site, note) for plan in run.plans for note in plan.notes]
    for site, note in notes[:MAX_NOTES]:
        say(f"certlint: {site}: {note}", err=True)
    if len(notes) > MAX_NOTES:
        say(f"certlint: ... and {len(notes) - MAX_NOTES} more notes (--format json "
                   "lists them all)", err=True)
    for notice in _network_notices(run):
        click.echo(f"certlint: note: {notice}", err=True)
    for finding in run.also:
        say(f"certlint: also resolved: {finding.path}:{finding.line}: {finding.rule} "
                   f"({finding.site})", err=True)
    for finding, why in run.remaining:
        say(f"certlint: not fixed: {finding.path}:{finding.line}: {finding.rule} "
                   f"({finding.site}): {why}", err=True)
    if write and written:
        kinds = sorted({c.server for c in run.report.configs})
        hints = {"nginx": "nginx -t && nginx -s reload",
                 "apache": "apachectl configtest && apachectl graceful"}
        click.echo("certlint: the server reads the changes on reload: "
                   + "; ".join(hints[k] for k in kinds if k in hints), err=True)
    fixed = len(run.fixed)
    verb = "fixed" if write else ("in the patch" if patch_file else "fixable (dry run; "
                                                                   "--write applies)")
    summary = f"certlint: {fixed} problem(s) {verb}, {len(run.remaining)} remain"
    if patch_file:
        summary += f"; patch saved to {patch_file}"
    click.echo(summary, err=True)


def _network_notices(run: FixRun) -> list[str]:
    """Said once per run: a refused cache folder, fetches skipped for the network budget."""
    notices = list(run.fetcher.notices)
    skipped = run.fetcher.net.skipped_for_budget
    if skipped:
        notices.append(f"{skipped} fetch(es) skipped: the run's network budget of "
                       f"{run.fetcher.net.budget:g} s was spent (--network-budget)")
    return notices


def _as_json(run: FixRun, written: list[str], patch_file: str | None) -> dict:
    return {
        "version": __version__,
        "fixed": [f.as_dict() for f in run.fixed],
        "also_resolved": [f.as_dict() for f in run.also],
        "notes": [{"site": plan.site, "rule": plan.rule, "note": note}
                  for plan in run.plans for note in plan.notes],
        "remaining": [dict(f.as_dict(), reason=why) for f, why in run.remaining],
        "changed": [path for path, _old, _new in run.workspace.changes()],
        "created": sorted(run.workspace.new_files),
        "reused": sorted(run.workspace.reused),
        "written": written,
        "patch": patch_file,
        "requests": list(run.fetcher.requests),
        "network_notices": _network_notices(run),
    }
