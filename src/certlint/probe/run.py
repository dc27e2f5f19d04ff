"""Run a probe: handshakes with every target (threads, `--concurrency`), then the rules that
read only the served chain (`sources` holding "probe") over the probed sites.

The same rule functions as `certlint check`, over the same `Context.chain` analysis; rules that
need directives (resolver, stapling cache, CRL and key files) are not run. A rule that crashes
becomes a finding for that rule and the run goes on. A target that cannot be reached becomes an
`endpoint-unreachable` site, so one dead host does not abort a list.
"""

from __future__ import annotations

import sys
import traceback
from concurrent.futures import ThreadPoolExecutor

from certlint.context import Context
from certlint.model import Finding, Site
from certlint.probe.live import Unreachable, probe_endpoint
from certlint.probe.sites import probed_sites, unreachable_site
from certlint.probe.targets import Target
from certlint.rules import all_rules


def check_sites(sites: list[Site], ctx: Context) -> list[Finding]:
    findings: list[Finding] = []
    rules = [r for r in all_rules().values() if "probe" in r.sources and r.scope == "site"]
    for site in sites:
        for rule in rules:
            try:
                findings.extend(rule.check(site, ctx))
            except Exception as exc:  # noqa: BLE001 - one broken rule must not stop the run
                findings.append(Finding(
                    rule.name, "error", site.origin.path, None,
                    f"internal error in rule {rule.name}: {exc.__class__.__name__}: {exc} "
                    "(please report this; other rules still ran)", column=None,
                    site=site.label))
                if ctx.options.debug:
                    traceback.print_exc()
    return findings


def sort_key(f: Finding):
    return (f.path, f.site, f.line or 0, f.rule, f.message)


def probe_targets(targets: list[Target], connect: tuple[str, int | None] | None = None,
                  timeout: float = 10.0, concurrency: int = 16,
                  progress: bool = False, meanwhile=None) -> list[Site]:
    """Handshake with every target; sites in the order of `targets`. `meanwhile` runs in this
    thread while the handshakes wait on the network (and on the staple retry's pause)."""

    def one(target: Target) -> list[Site]:
        where = None
        if connect is not None:
            where = (connect[0], connect[1] or target.port)
        try:
            chains, address = probe_endpoint(target, where, timeout)
        except Unreachable as exc:
            return [unreachable_site(target, str(exc))]
        except Exception as exc:  # noqa: BLE001 - a hostile server must not stop the list
            return [unreachable_site(target, f"the handshake failed ({exc.__class__.__name__}: "
                                             f"{exc})")]
        return probed_sites(target, chains, address=address)

    results: list[list[Site]] = [[] for _ in targets]
    with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(targets)))) as pool:
        futures = {pool.submit(one, t): i for i, t in enumerate(targets)}
        if meanwhile is not None:
            try:
                meanwhile()
            except Exception:  # noqa: BLE001 - a warm-up only; the real calls report problems
                pass
        done = 0
        from concurrent.futures import as_completed

        for future in as_completed(futures):
            results[futures[future]] = future.result()
            done += 1
            if progress:
                sys.stderr.write(f"\rprobed {done}/{len(targets)} endpoints")
                sys.stderr.flush()
    if progress:
        sys.stderr.write("\r\033[K")
        sys.stderr.flush()
    return [site for group in results for site in group]
