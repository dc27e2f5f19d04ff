"""Text output: ruff-like `path:line:col: rule message [site]` lines, then a summary. A probed
site's finding has no line: `target: rule message [site]`."""

from __future__ import annotations

from certlint.report.escape import text as esc

COLORS = {"error": "\033[31m", "warning": "\033[33m", "info": "\033[36m"}
BOLD, RESET = "\033[1m", "\033[0m"


def render(report, color: bool = False) -> str:
    lines = []
    for f in report.findings:
        # every value from input through one escape (SECURITY.md promise 6)
        rule = f"{COLORS[f.severity]}{esc(f.rule)}{RESET}" if color else esc(f.rule)
        loc = f"{BOLD}{esc(f.path)}{RESET}" if color else esc(f.path)
        site = f" [{esc(f.site)}]" if f.site else ""
        where = f":{f.line}:{f.column or 1}" if f.line is not None else ""
        lines.append(f"{loc}{where}: {rule} {esc(f.message)}{site}")
    lines.append(summary(report))
    return "\n".join(lines) + "\n"


def summary(report) -> str:
    if not report.findings:
        sites = sum(len(c.sites) for c in report.configs) + getattr(report, "probed", 0)
        return f"All good: {sites} TLS site{'s' if sites != 1 else ''} checked, no problems found."
    e, w, i = (report.count(s) for s in ("error", "warning", "info"))
    total = len(report.findings)
    text = (f"Found {total} problem{'s' if total != 1 else ''} "
            f"({e} error{'s' if e != 1 else ''}, {w} warning{'s' if w != 1 else ''}, {i} info).")
    fixable = sum(1 for f in report.findings if f.fixable)
    if fixable:
        text += f"\n{fixable} fixable with `certlint fix`."
    return text
