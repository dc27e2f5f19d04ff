"""GitHub Actions workflow commands: one `::error file=...,line=...::` annotation per finding."""

from __future__ import annotations

LEVEL = {"error": "error", "warning": "warning", "info": "notice"}


def _escape(value: str, prop: bool = False) -> str:
    value = value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        value = value.replace(":", "%3A").replace(",", "%2C")
    return value


def render(report) -> str:
    lines = []
    for f in report.findings:
        lines.append(
            f"::{LEVEL[f.severity]} file={_escape(f.path, True)},line={f.line},col={f.column},"
            f"title={_escape(f.rule, True)}::{_escape(f.message)}")
    return "\n".join(lines) + ("\n" if lines else "")
