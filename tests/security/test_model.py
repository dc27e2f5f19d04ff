"""SECURITY.md states the threat model and numbered promises; every promise is proved by tests
that name it ("SECURITY.md promise N"), so a promise without a proof fails here."""

from __future__ import annotations

import os
import re

from tests.support.paths import REPO


def promises() -> list[int]:
    with open(os.path.join(REPO, "SECURITY.md"), encoding="utf-8") as fh:
        text = fh.read()
    assert "## What certlint trusts" in text and "## What certlint does not trust" in text
    return [int(n) for n in re.findall(r"^ ?(\d+)\. \*\*", text, re.M)]


def cited() -> set[int]:
    found: set[int] = set()
    for folder, _dirs, names in os.walk(os.path.join(REPO, "tests")):
        for name in names:
            if not name.endswith(".py"):
                continue
            with open(os.path.join(folder, name), encoding="utf-8") as fh:
                text = fh.read()
            for m in re.finditer(r"SECURITY\.md promises? ([\d, and]+)", text):
                found.update(int(n) for n in re.findall(r"\d+", m.group(1)))
    return found


def test_promises_are_numbered_in_order():
    assert promises() == list(range(1, len(promises()) + 1)) and len(promises()) >= 11


def test_every_promise_is_cited_by_a_test():
    missing = set(promises()) - cited()
    assert not missing, f"promises without a test that names them: {sorted(missing)}"
