"""The one fix engine: check, collect every plan, verify it against the files, then decide.

Plans come from two places: findings that carry their own `fix` (rules that can repair offline,
e.g. stapling) and the chain planner (chain findings, completed through AIA). Each plan is
accepted into one workspace as a whole or not at all; a refused plan leaves its site exactly as
it was and its findings count as remaining problems. The caller then shows a diff, writes, or
saves a patch (see `certlint.fix.output`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

from certlint.context import Context, Options
from certlint.engine import Report, run_check
from certlint.fix.apply import EditError, Workspace
from certlint.fix.chain import ChainPlanner, index_findings, slot_findings
from certlint.fix.guard import check_plan
from certlint.fix.plan import FixPlan
from certlint.model import Finding, ServerConfig
from certlint.pki.aia import AiaFetcher


@dataclass
class FixRun:
    """What one `certlint fix` run found, planned and could not plan."""

    report: Report
    workspace: Workspace
    fetcher: AiaFetcher
    plans: list[FixPlan] = field(default_factory=list)  # accepted
    fixed: list[Finding] = field(default_factory=list)
    remaining: list[tuple[Finding, str]] = field(default_factory=list)  # finding, why not fixed
    also: list[Finding] = field(default_factory=list)  # gone after --write, without own fix

    @property
    def sites(self) -> int:
        return sum(len(c.sites) for c in self.report.configs)


def protected_paths(configs: list[ServerConfig], ctx: Context) -> set[str]:
    """Every private key file the configs name: never written, whatever a plan says."""
    out: set[str] = set()
    for config in configs:
        for site in config.sites:
            for slot in site.slots:
                if slot.key is not None and slot.key.path:
                    out.add(slot.key.path)
                elif slot.cert.path and ctx.store.cert_file(slot.cert.path).has_private_key:
                    out.add(slot.cert.path)
    return out


def write_roots(configs: list[ServerConfig], options: Options) -> list[str]:
    """Where `fix` may write (SECURITY.md promise 1): `--root`; else the folder of each entry
    point and the current folder (the checkout a hook or CI job runs in)."""
    if options.root:
        return [options.root]
    folders = [os.path.dirname(c.entry) for c in configs
               if c.entry and c.entry != "-" and not c.extra.get("dump")]
    return folders + [os.getcwd()]


def plan_fixes(paths: list[str], options: Options,
               progress: Callable[[int, int], None] | None = None) -> FixRun:
    ctx = Context(options)
    report = run_check(paths, options, ctx)
    fetcher = AiaFetcher.from_options(ctx.trust, options)
    run = FixRun(report, Workspace(protected_paths(report.configs, ctx), options.root,
                                   write_roots(report.configs, options)), fetcher)
    planner = ChainPlanner(ctx, fetcher)
    # per site: (plan or None, problem or None, findings); a site is fixed whole or not at all
    groups: dict[str, list[tuple[FixPlan | None, str | None, list[Finding]]]] = {}
    covered: set[int] = set()
    index = index_findings(report.findings)
    total = run.sites
    done = 0
    where: dict[str, tuple] = {}  # site label -> (config, site), for the last check
    for config in report.configs:
        ctx.config = config
        for site in config.sites:
            where.setdefault(site.label, (config, site))
            done += 1
            if progress is not None:
                progress(done, total)
            for slot in site.slots:
                # not exclusive: two slots on one line may share a finding (each is fixed)
                findings = slot_findings(site, slot, index, ctx.chain(site, slot), ctx.now)
                if not findings:
                    continue
                covered.update(id(f) for f in findings)
                try:
                    outcome = planner.plan(site, slot, findings)
                    refused = (check_plan(ctx, site, outcome.plan)
                               if outcome.plan is not None else None)
                    entry = ((None, refused, findings) if refused is not None
                             else (outcome.plan, outcome.problem, findings))
                except Exception as exc:  # noqa: BLE001 - one odd site must not stop the run
                    if options.debug:
                        raise
                    entry = (None, f"internal error while planning: {exc.__class__.__name__}: "
                                   f"{exc} (please report this)", findings)
                groups.setdefault(site.label, []).append(entry)
    for finding in report.findings:
        if id(finding) in covered:
            continue
        if finding.fix is not None:
            refused = None
            if finding.site in where:
                ctx.config, site = where[finding.site]
                refused = check_plan(ctx, site, finding.fix)
            entry = (None, refused, [finding]) if refused else (finding.fix, None, [finding])
            groups.setdefault(finding.site, []).append(entry)
        elif finding.fixable:
            run.remaining.append((finding, "no automatic fix for this case"))
    for entries in groups.values():
        _settle(run, entries)
    run.remaining = _unique_pairs(run.remaining)
    failed = {id(f) for f, _why in run.remaining}
    run.fixed = [f for f in _unique(run.fixed) if id(f) not in failed]
    return run


def _unique(findings: list[Finding]) -> list[Finding]:
    seen: set[int] = set()
    return [f for f in findings if not (id(f) in seen or seen.add(id(f)))]


def _unique_pairs(pairs: list[tuple[Finding, str]]) -> list[tuple[Finding, str]]:
    seen: set[int] = set()
    return [p for p in pairs if not (id(p[0]) in seen or seen.add(id(p[0])))]


def _settle(run: FixRun, entries: list[tuple[FixPlan | None, str | None, list[Finding]]]
            ) -> None:
    """Accept every plan of one site, or none: a site that cannot be fixed whole stays as it
    was."""
    problems = [_why_not(plan, problem) for plan, problem, _findings in entries]
    first = next((p for p in problems if p is not None), None)
    if first is None:
        try:
            run.workspace.accept_all([plan for plan, _p, _f in entries])
        except EditError as exc:
            first = f"{exc}; left as it was"
            problems = [first] * len(entries)
        else:
            run.plans.extend(plan for plan, _p, _f in entries)
            for _plan, _problem, findings in entries:
                run.fixed.extend(findings)
            return
    for problem, (_plan, _p, findings) in zip(problems, entries, strict=True):
        why = problem or f"not applied: another fix for this site failed ({first})"
        run.remaining.extend((f, why) for f in findings)


def _why_not(plan: FixPlan | None, problem: str | None) -> str | None:
    if plan is None or problem is not None:
        return problem or "no fix planned"
    if not plan.edits:
        return "; ".join(plan.notes) or "no fix planned"
    return None


def recheck(run: FixRun, paths: list[str], options: Options) -> None:
    """After --write: check the tree again; a 'fixed' finding still reported is not fixed."""
    after = run_check(paths, options)
    still = {(f.rule, f.site, f.path) for f in after.findings}
    for finding in list(run.fixed):
        if (finding.rule, finding.site, finding.path) in still:
            run.fixed.remove(finding)
            run.remaining.append((finding, "still reported after the fix was written"))
    accounted = {id(f) for f in run.fixed} | {id(f) for f, _why in run.remaining}
    run.also = [f for f in run.report.findings if id(f) not in accounted
                and (f.rule, f.site, f.path) not in still]
