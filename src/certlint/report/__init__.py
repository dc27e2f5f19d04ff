"""Reporters: turn a `Report` into text, JSON, SARIF 2.1.0 or GitHub Actions annotations."""

from __future__ import annotations

from certlint.report import github, json_report, remediation, sarif, text

FORMATS = {
    "text": text.render,
    "json": json_report.render,
    "sarif": sarif.render,
    "github": github.render,
    "remediation": remediation.render,
}


def render(report, fmt: str, color: bool = False) -> str:
    if fmt == "text":
        return text.render(report, color=color)
    return FORMATS[fmt](report)
