"""JSON output, exactly the contract in design.md: version, findings, summary."""

from __future__ import annotations

import json

from certlint import __version__


def render(report) -> str:
    payload = {
        "version": __version__,
        "findings": [f.as_dict() for f in report.findings],
        "summary": {s: report.count(s) for s in ("error", "warning", "info")},
    }
    return json.dumps(payload, indent=2) + "\n"
