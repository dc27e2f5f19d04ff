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
from certlint.locations import relocate
from certlint.model import SEVERITY_RANK, Finding
from certlint.report.escape import text as esc

EXIT_OK, EXIT_REMAINING, EXIT_USAGE = 0, 1, 2
PROGRESS_MIN_SITES = 20
MAX_NOTES = 20  # notes shown in text output; json has them all
MAX_LISTED = 10  # findings named in the summary line
NO_AUTOMATIC_FIX = "certlint has no automatic fix for this rule"


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
                    patch_file: str | None = None, fail_on: str = "error",
                    remediation: dict | None = None) -> int:
    if fmt == "remediation" and (write or patch_file):
        say("certlint: fix --format remediation describes a dry run: drop --write/--patch",
            err=True)
        return EXIT_USAGE
    if fmt not in ("text", "json", "remediation"):
        say(f"certlint: fix writes text, json or remediation, not {fmt} (use "
                   f"`certlint check --format {fmt}` for reports)", err=True)
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
    for note in run.report.notes:
        say(f"certlint: {note}", err=True)
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
    relocate(run.report.findings, options.root)  # the file each change edits, not its link
    left = remaining_findings(run)
    blocking = [f for f in left if SEVERITY_RANK[f.severity] >= SEVERITY_RANK[fail_on]]
    if fmt == "json":
        click.echo(json.dumps(_as_json(run, written, patch_file, left, blocking), indent=2))
    elif fmt == "remediation":
        from certlint.report.remediation import render

        doc = render(run.report, options, command="fix", fix_run=run, **(remediation or {}))
        click.echo(doc.encode("utf-8", "surrogateescape"), nl=False)
        _summary(run, write, patch_file, base, left, blocking, fail_on)
    else:
        _text(run, written, patch_file, base, write)
        _summary(run, write, patch_file, base, left, blocking, fail_on)
    if blocking:
        return EXIT_REMAINING
    if not write and not patch_file and not run.workspace.empty:
        return EXIT_REMAINING
    return EXIT_OK


def remaining_findings(run: FixRun) -> list[Finding]:
    """Every finding still there once the fix is applied (the dry run: would be applied)."""
    gone = {id(f) for f in run.fixed} | {id(f) for f in run.also}
    return [f for f in run.report.findings if id(f) not in gone]


def _where(finding: Finding, base: str) -> str:
    path = finding.path
    if os.path.isabs(path) and not os.path.relpath(path, base).startswith(".."):
        path = os.path.relpath(path, base)
    return f"{path}:{finding.line}" if finding.line else path


def _summary(run: FixRun, write: bool, patch_file: str | None, base: str,
             left: list[Finding], blocking: list[Finding], fail_on: str) -> None:
    """`N fixed, M remain (K cannot be fixed automatically: RULE at FILE:LINE, ...)`, as
    ruff's `--fix` says it: M counts what is at or above --fail-on and decides the exit code."""
    fixed = len(run.fixed)
    verb = "fixed" if write else ("in the patch" if patch_file else "fixable (dry run; "
                                                                   "--write applies)")
    summary = f"certlint: {fixed} {verb}, {len(blocking)} remain"
    if blocking:
        places = [f"{f.rule} at {_where(f, base)}" for f in blocking[:MAX_LISTED]]
        if len(blocking) > MAX_LISTED:
            places.append(f"... {len(blocking) - MAX_LISTED} more")
        summary += f" ({len(blocking)} cannot be fixed automatically: {', '.join(places)})"
    lower = len(left) - len(blocking)
    if lower:
        summary += f"; {lower} below --fail-on {fail_on}"
    if patch_file:
        summary += f"; patch saved to {patch_file}"
    say(summary, err=True)


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


def _network_notices(run: FixRun) -> list[str]:
    """Said once per run: a refused cache folder, fetches skipped for the network budget."""
    notices = list(run.fetcher.notices)
    skipped = run.fetcher.net.skipped_for_budget
    if skipped:
        notices.append(f"{skipped} fetch(es) skipped: the run's network budget of "
                       f"{run.fetcher.net.budget:g} s was spent (--network-budget)")
    return notices


def _as_json(run: FixRun, written: list[str], patch_file: str | None, left: list[Finding],
             blocking: list[Finding]) -> dict:
    reasons = {id(f): why for f, why in run.remaining}
    return {
        "version": __version__,
        "fixed": [f.as_dict() for f in run.fixed],
        "also_resolved": [f.as_dict() for f in run.also],
        "notes": [{"site": plan.site, "rule": plan.rule, "note": note}
                  for plan in run.plans for note in plan.notes],
        "remaining": [dict(f.as_dict(), reason=reasons.get(id(f), NO_AUTOMATIC_FIX))
                      for f in left],
        "summary": {"fixed": len(run.fixed), "remain": len(blocking),
                    "below_fail_on": len(left) - len(blocking)},
        "changed": [path for path, _old, _new in run.workspace.changes()],
        "created": sorted(run.workspace.new_files),
        "reused": sorted(run.workspace.reused),
        "written": written,
        "patch": patch_file,
        "requests": list(run.fetcher.requests),
        "network_notices": _network_notices(run),
    }
