"""Customer-facing remediation document (Markdown) rendered with jinja2 from the findings and
each rule's documentation: what is wrong, why it matters, and how to fix it on that server."""

from __future__ import annotations

import datetime as dt
import re

import jinja2
from markupsafe import Markup

from certlint import __version__
from certlint.docs import load_docs
from certlint.report.escape import markdown, markdown_code

SECTION = re.compile(r"^## (.+?)\s*$", re.M)
SERVER_LABEL = {"nginx": "nginx", "apache": "Apache httpd"}


def sections(body: str) -> dict[str, str]:
    """A rule document's `## Title` sections, by lower-cased title."""
    parts = SECTION.split(body)
    return {parts[i].strip().lower(): parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}


def _finalize(value):
    """Every value printed by the template is Markdown-escaped (SECURITY.md promise 6), except
    the trusted rule documents (wrapped in `Markup`) and what the `code` filter made."""
    if isinstance(value, Markup) or not isinstance(value, str):
        return value
    return markdown(value)


def _code(value, table: bool = False) -> Markup:
    return Markup(markdown_code(value, table))


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("certlint", "templates"),
        autoescape=False, trim_blocks=True, lstrip_blocks=True,
        undefined=jinja2.StrictUndefined, finalize=_finalize)
    env.filters["code"] = _code
    return env


def render(report) -> str:
    env = environment()
    docs = load_docs()
    servers = {c.server for c in report.configs}
    report_server = servers.pop() if len(servers) == 1 else None
    # a run over nginx and Apache trees: each rule's advice is for the servers it was found on
    server_of = {path: c.server for c in report.configs for path in c.files}
    found_on: dict[str, set[str]] = {}
    for f in report.findings:
        if f.path in server_of:
            found_on.setdefault(f.rule, set()).add(server_of[f.path])
    groups: dict[str, dict] = {}
    rows = []
    for f in report.findings:
        doc = docs.get(f.rule)
        title = Markup((doc.summary if doc and doc.summary else f.rule).rstrip("."))
        rows.append({**f.as_dict(), "title": title})
        group = groups.get(f.rule)
        if group is None:
            text = sections(doc.body) if doc else {}
            on = found_on.get(f.rule, set())
            server = on.pop() if len(on) == 1 else report_server
            if server == "apache":
                fix = text.get("how to fix on apache", "")
            elif server == "nginx":
                fix = text.get("how to fix on nginx", "")
            else:
                fix = "\n\n".join(v for k, v in text.items() if k.startswith("how to fix"))
            group = groups[f.rule] = {
                "rule": f.rule, "title": title, "severity": f.severity,
                "why": Markup(text.get("what breaks", "")), "fix": Markup(fix), "findings": [],
                "fixable": False, "server_label": SERVER_LABEL.get(server, "nginx and Apache"),
            }
        group["findings"].append(f.as_dict())
        group["fixable"] = group["fixable"] or f.fixable
    rank = {"error": 0, "warning": 1, "info": 2}
    ordered = sorted(groups.values(), key=lambda g: (rank[g["severity"]], g["rule"]))
    return env.get_template("remediation.md.j2").render(
        version=__version__,
        generated=dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        sites=sum(len(c.sites) for c in report.configs),
        findings=rows,
        summary={s: report.count(s) for s in ("error", "warning", "info")},
        groups=ordered,
        entry=" ".join(c.entry for c in report.configs),
    )
