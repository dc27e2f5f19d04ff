"""Reporters: turn a `Report` into text, JSON, SARIF 2.1.0 or GitHub Actions annotations.

Each reporter module is imported when its format is asked for (the remediation document pulls in
jinja2, which a plain `check` does not need at start-up).
"""

from __future__ import annotations

import importlib

# format name -> reporter module (each has `render(report, ...)`)
FORMATS = {
    "text": "text",
    "json": "json_report",
    "sarif": "sarif",
    "github": "github",
    "remediation": "remediation",
}


def render(report, fmt: str, color: bool = False, **remediation) -> str:
    """`remediation` (options, lang, argv, ...) goes to the remediation document only."""
    module = importlib.import_module(f"certlint.report.{FORMATS[fmt]}")
    if fmt == "text":
        return module.render(report, color=color)
    if fmt == "remediation":
        return module.render(report, **remediation)
    return module.render(report)
