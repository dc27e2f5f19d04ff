"""`certlint probe` behind the click command: read the served chains (live, transcript or PEM
bundle), judge them with the shared rules, render the report, return the exit code."""

from __future__ import annotations

import click

from certlint.context import Context, Options
from certlint.engine import Report
from certlint.model import SEVERITY_RANK
from certlint.probe.run import check_sites, sort_key
from certlint.probe.sites import probed_sites
from certlint.probe.targets import TargetError, parse_target
from certlint.probe.transcript import SourceError, read_pem_bundle, read_transcript

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


def usage(message: str) -> int:
    click.echo(f"certlint: {message}", err=True)
    return EXIT_USAGE


def run_probe_command(targets: list[str], options: Options, *, fmt: str, fail_on: str,
                      ignored: set[str], color: bool, pem_file: str | None = None,
                      showcerts_file: str | None = None) -> int:
    from certlint.report import render

    if pem_file and showcerts_file:
        return usage("give --pem-file or --showcerts-file, not both")
    try:
        parsed = [parse_target(t) for t in targets]
    except TargetError as exc:
        return usage(str(exc))
    ctx = Context(options)
    report = Report()
    sites = []
    if pem_file or showcerts_file:
        if len(parsed) != 1:
            return usage("--pem-file and --showcerts-file judge one chain: name the site it "
                         "came from as the one TARGET (e.g. example.com)")
        path = pem_file or showcerts_file
        try:
            chain = read_pem_bundle(path) if pem_file else read_transcript(path)
        except SourceError as exc:
            return usage(str(exc))
        sites = probed_sites(parsed[0], [chain], path=path)
    else:
        return usage("live probing is not available yet: give --pem-file or --showcerts-file")
    findings = check_sites(sites, ctx)
    if ctx.trust.errors:
        return usage(ctx.trust.errors[0])
    report.findings = sorted((f for f in findings if f.rule not in ignored), key=sort_key)
    report.probed = len(sites)
    click.echo(render(report, fmt, color=color).encode("utf-8", "surrogateescape"), nl=False,
               color=color)
    return EXIT_FINDINGS if report.worst() >= SEVERITY_RANK[fail_on] else EXIT_OK
