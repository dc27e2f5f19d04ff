"""Run the rules that read only the served chain (`sources` holding "probe") over probed sites.

The same rule functions as `certlint check`, over the same `Context.chain` analysis; rules that
need directives (resolver, stapling cache, CRL and key files) are not run. A rule that crashes
becomes a finding for that rule and the run goes on.
"""

from __future__ import annotations

import traceback

from certlint.context import Context
from certlint.model import Finding, Site
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
