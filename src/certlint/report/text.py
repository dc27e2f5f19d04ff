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
    notes = "".join(f"\n{note}" for note in _notes(report))
    if not report.findings:
        sites = sum(len(c.sites) for c in report.configs) + getattr(report, "probed", 0)
        return (f"All good: {sites} TLS site{'s' if sites != 1 else ''} checked, no problems "
                f"found.{notes}")
    e, w, i = (report.count(s) for s in ("error", "warning", "info"))
    total = len(report.findings)
    text = (f"Found {total} problem{'s' if total != 1 else ''} "
            f"({e} error{'s' if e != 1 else ''}, {w} warning{'s' if w != 1 else ''}, {i} info).")
    fixable = sum(1 for f in report.findings if f.fixable)
    if fixable:
        text += f"\n{fixable} fixable with `certlint fix`."
    return text + notes


def _notes(report) -> list[str]:
    """What the run left out that the user should know: virtual hosts whose SSL settings sit
    in `<IfModule mod_ssl.c>` while mod_ssl is not loaded (Apache serves no TLS there)."""
    out = []
    for config in report.configs:
        left = config.extra.get("ssl_vhosts_left_out", 0)
        if left:
            many = left != 1
            out.append(f"mod_ssl is not loaded in {esc(config.entry)}: {left} virtual "
                       f"host{'s' if many else ''} with SSL directives inside <IfModule "
                       f"mod_ssl.c> {'are' if many else 'is'} left out and serve"
                       f"{'' if many else 's'} no TLS (enable it: `a2enmod ssl`, or "
                       "LoadModule ssl_module).")
    return out
