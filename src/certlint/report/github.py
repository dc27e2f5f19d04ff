"""GitHub Actions workflow commands: one `::error file=...,line=...::` annotation per finding."""

from __future__ import annotations

import os

from certlint.report.escape import github_data, github_property

LEVEL = {"error": "error", "warning": "warning", "info": "notice"}


def _path(path: str) -> str:
    """Relative to the working folder (the checkout), so annotations attach to the file in the
    pull request; absolute when outside it."""
    rel = os.path.relpath(path) if os.path.isabs(path) else path
    return path if rel.startswith("..") else rel


def render(report) -> str:
    lines = []
    for f in report.findings:
        lines.append(
            f"::{LEVEL[f.severity]} file={github_property(_path(f.path))},"
            + (f"line={f.line},col={f.column or 1}," if f.line is not None else "")
            + f"title={github_property(f.rule)}::{github_data(f.message)}")
    return "\n".join(lines) + ("\n" if lines else "")
