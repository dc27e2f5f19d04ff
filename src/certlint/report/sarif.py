"""SARIF 2.1.0 output, with each rule's document as its help text."""

from __future__ import annotations

import json
import os
import pathlib
import urllib.parse

from certlint import __version__
from certlint.docs import load_docs
from certlint.report.escape import text as esc

LEVEL = {"error": "error", "warning": "warning", "info": "note"}


def render(report) -> str:
    docs = load_docs()
    used = sorted({f.rule for f in report.findings})
    rules = []
    for name in used:
        doc = docs.get(name)
        entry = {"id": name, "name": name}
        if doc:
            entry["shortDescription"] = {"text": doc.summary or name}
            entry["help"] = {"text": doc.body, "markdown": doc.body}
            entry["defaultConfiguration"] = {"level": LEVEL[doc.severity]}
        rules.append(entry)
    index = {name: i for i, name in enumerate(used)}
    results = []
    for f in report.findings:
        results.append({
            "ruleId": f.rule,
            "ruleIndex": index[f.rule],
            "level": LEVEL[f.severity],
            # json.dumps escapes for JSON; the message is also shown to people by SARIF viewers
            "message": {"text": esc(f.message)},
            "locations": [{"physicalLocation": _location(f)}],
            "properties": {"site": f.site, "fixable": f.fixable},
        })
    sarif = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "certlint", "version": __version__,
                                "informationUri": "https://github.com/certlint/certlint",
                                "rules": rules}},
            "results": results,
        }],
    }
    return json.dumps(sarif, indent=2) + "\n"


def _location(f) -> dict:
    """The file and line; a probed site's finding (no line) names only its target."""
    where = {"artifactLocation": {"uri": _uri(f.path)}}
    if f.line is not None:
        where["region"] = {"startLine": max(f.line, 1), "startColumn": max(f.column or 1, 1)}
    return where


def _uri(path: str) -> str:
    """A valid URI reference: relative to the working folder (the repository in CI), else a
    file: URI; spaces and other reserved characters percent-encoded."""
    rel = os.path.relpath(path) if os.path.isabs(path) else path
    if rel.startswith(".."):
        return pathlib.Path(path).as_uri()
    return urllib.parse.quote(rel.replace(os.sep, "/"), errors="surrogateescape")
