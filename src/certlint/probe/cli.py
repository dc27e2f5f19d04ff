"""`certlint probe` behind the click command: read the served chains (live, transcript or PEM
bundle), judge them with the shared rules, render the report, return the exit code."""

from __future__ import annotations

import sys

import click

from certlint.context import Context, Options
from certlint.engine import Report
from certlint.model import SEVERITY_RANK
from certlint.probe.run import check_sites, probe_targets, sort_key
from certlint.probe.sites import probed_sites
from certlint.probe.targets import TargetError, parse_connect, parse_target, read_targets_file
from certlint.probe.transcript import SourceError, read_pem_bundle, read_transcript

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2
MAX_TARGETS_FILE = 16 * 1024 * 1024


def usage(message: str) -> int:
    click.echo(f"certlint: {message}", err=True)
    return EXIT_USAGE


def _targets_from(path: str) -> list[str]:
    if path == "-":
        try:
            return read_targets_file(sys.stdin.read(MAX_TARGETS_FILE).splitlines())
        except (OSError, ValueError) as exc:
            raise TargetError(f"standard input cannot be read ({exc})") from exc
    from certlint.pki.load import read_file

    data, why = read_file(path)
    if data is None:
        raise TargetError(f"--targets-file {path} {why}")
    return read_targets_file(data.decode("utf-8", errors="replace").splitlines())


def _bundle_out(sites, ctx: Context, folder: str, findings) -> None:
    """Write the deployable chains and say so on standard error; the chain findings of a site
    get the file in their facts (for the remediation document)."""
    from certlint.probe.bundle import write_bundles

    try:
        written = write_bundles(sites, ctx, folder)
    except OSError as exc:
        click.echo(f"certlint: --bundle-out {folder}: {exc.strerror or exc}", err=True)
        return
    by_site = {w.site: w for w in written}
    for w in written:
        if w.fullchain:
            extra = f" and {len(w.intermediates)} intermediate file(s)" if w.intermediates else ""
            click.echo(f"certlint: {w.site}: wrote {w.fullchain}{extra} (verified to a trusted "
                       "root)", err=True)
        else:
            click.echo(f"certlint: {w.site}: no bundle written: {w.problem}", err=True)
    for f in findings:
        w = by_site.get(f.site)
        if w is not None and w.fullchain and f.rule.startswith("chain-"):
            f.facts["bundle_out"] = w.fullchain
            f.facts["bundle_intermediates"] = list(w.intermediates)


def run_probe_command(targets: list[str], options: Options, *, fmt: str, fail_on: str,
                      ignored: set[str], color: bool, pem_file: str | None = None,
                      showcerts_file: str | None = None, targets_file: str | None = None,
                      connect: str | None = None, concurrency: int = 16,
                      timeout: float = 10.0, bundle_out: str | None = None,
                      remediation: dict | None = None) -> int:
    from certlint.report import render

    if pem_file and showcerts_file:
        return usage("give --pem-file or --showcerts-file, not both")
    try:
        texts = list(targets) + (_targets_from(targets_file) if targets_file else [])
        parsed = [parse_target(t) for t in texts]
        where = parse_connect(connect) if connect else None
    except TargetError as exc:
        return usage(str(exc))
    if not parsed:
        return usage("no target: give NAME, NAME:PORT or https://NAME/ (or --targets-file)")
    if where is not None and len(parsed) != 1:
        return usage("--connect goes with exactly one target")
    ctx = Context(options)
    if not options.offline:
        from certlint.pki.aia import AiaFetcher

        ctx.aia = AiaFetcher.from_options(ctx.trust, options)
    if pem_file or showcerts_file:
        if len(parsed) != 1 or where is not None:
            return usage("--pem-file and --showcerts-file judge one chain: name the site it "
                         "came from as the one TARGET (e.g. example.com)")
        path = pem_file or showcerts_file
        try:
            chain = read_pem_bundle(path) if pem_file else read_transcript(path)
        except SourceError as exc:
            return usage(str(exc))
        sites = probed_sites(parsed[0], [chain], path=path)
    else:
        progress = len(parsed) > 1 and sys.stderr.isatty()
        sites = probe_targets(parsed, where, timeout=timeout, concurrency=concurrency,
                              progress=progress, meanwhile=lambda: _warm_up(ctx))
    from certlint.rules.online import prefetch

    prefetch(sites, ctx, concurrency)  # OCSP and CRL requests of all sites in parallel
    findings = check_sites(sites, ctx)
    if ctx.trust.errors:
        return usage(ctx.trust.errors[0])
    if bundle_out:
        _bundle_out(sites, ctx, bundle_out, findings)
    report = Report()
    report.findings = sorted((f for f in findings if f.rule not in ignored), key=sort_key)
    report.probed = len(sites)
    extra = ({"options": options, "command": "probe", **(remediation or {})}
             if fmt == "remediation" else {})
    click.echo(render(report, fmt, color=color, **extra).encode("utf-8", "surrogateescape"),
               nl=False,
               color=color)
    return EXIT_FINDINGS if report.worst() >= SEVERITY_RANK[fail_on] else EXIT_OK


def _warm_up(ctx: Context) -> None:
    """What the rules will need, loaded while the handshakes wait on the network (a single
    endpoint that does not staple waits half a second for nginx's lazy staple): the rule
    modules, the trust store, the rule documents."""
    from certlint.docs import load_docs
    from certlint.rules import all_rules

    all_rules()
    ctx.trust.warm()
    load_docs()
