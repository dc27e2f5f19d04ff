"""GitHub Actions workflow commands: one `::error file=...,line=...::` annotation per finding."""

from __future__ import annotations

import os

LEVEL = {"error": "error", "warning": "warning", "info": "notice"}


def _escape(value: str, prop: bool = False) -> str:
    value = value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        value = value.replace(":", "%3A").replace(",", "%2C")
    return value


def _path(path: str) -> str:
    """Relative to the working folder (the checkout), so annotations attach to the file in the
    pull request; absolute when outside it."""
    rel = os.path.relpath(path) if os.path.isabs(path) else path
    return path if rel.startswith("..") else rel


def render(report) -> str:
    lines = []
    for f in report.findings:
        lines.append(
            f"::{LEVEL[f.severity]} file={_escape(_path(f.path), True)},"
            + (f"line={f.line},col={f.column or 1}," if f.line is not None else "")
            + f"title={_escape(f.rule, True)}::{_escape(f.message)}")
    return "\n".join(lines) + ("\n" if lines else "")
