"""The peers benchmark (bench/peers.py) keeps working with only the tools certlint's CI has.

certlint, `nginx -t` and `openssl s_client` run on every planted case (real nginx trees, a real
nginx on 127.0.0.1); gixy-ng, testssl.sh and sslyze are switched off, and the script must skip
them with a note. It proves what bench/README.md claims for certlint: every planted problem is
reported, nothing on the correct site; and that the cases are real for the real programs
(nginx refuses the wrong key, openssl rejects the incomplete, expired and misnamed chains), and
that stapling without a resolver is invisible on the wire (a staple is served) while certlint
check reports it.
"""

from __future__ import annotations

import os
import subprocess
import sys

from tests.support import servers
from tests.support.paths import REPO


def _table(stdout: str) -> dict[str, dict[str, str]]:
    lines = [ln for ln in stdout.splitlines() if ln.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    rows = {}
    for line in lines[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[0]] = dict(zip(header, cells, strict=True))
    return rows


def test_peers_benchmark_certlint_catches_every_planted_problem():
    servers.require("nginx")
    servers.require("openssl")
    proc = subprocess.run(
        [sys.executable, os.path.join(REPO, "bench", "peers.py"),
         "--gixy", "", "--testssl", "", "--sslyze", ""],
        capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    table = _table(proc.stdout)
    expected = {"leaf-only": "chain-incomplete", "wrong-order": "chain-wrong-order",
                "expired": "cert-expired", "name-mismatch": "hostname-mismatch",
                "key-mismatch": "key-mismatch", "leaf-not-first": "chain-wrong-order",
                "stapling-no-resolver": "stapling-no-resolver"}
    for case, rule in expected.items():
        assert table[case]["certlint check"] == f"yes ({rule})", (case, proc.stdout)
    assert table["correct"]["certlint check"] == "clean", proc.stdout
    # certlint probe on the live nginx sees what is served
    for case in ("leaf-only", "wrong-order", "expired", "name-mismatch"):
        assert table[case]["certlint probe"] == f"yes ({expected[case]})", proc.stdout
    assert table["correct"]["certlint probe"].startswith("clean"), proc.stdout
    # the cases are real: nginx refuses the wrong key, openssl rejects what it should
    for case in ("key-mismatch", "leaf-not-first"):
        assert table[case]["nginx -t"].startswith("yes ("), proc.stdout
        assert "key values mismatch" in table[case]["nginx -t"], proc.stdout
        assert table[case]["openssl s_client"] == "n/a (nginx refuses to start)", proc.stdout
    for case in ("leaf-only", "expired", "name-mismatch"):
        assert table[case]["openssl s_client"].startswith("yes ("), (case, proc.stdout)
    assert table["correct"]["nginx -t"] == "clean"
    # stapling without a resolver is invisible on the wire while the responder has not moved:
    # nginx resolved it at start and staples; only the config check reports it
    for tool in ("openssl s_client", "certlint probe"):
        assert table["stapling-no-resolver"][tool] == "no (staple served)", proc.stdout
    assert table["stapling-no-resolver"]["nginx -t"] == "no", proc.stdout
    assert table["correct"]["openssl s_client"].startswith("clean"), proc.stdout
    assert table["**caught**"]["certlint check"] == "7 of 7"
    # peers that are switched off are skipped with a note, not a column
    for peer in ("gixy-ng", "testssl.sh -S", "sslyze --certinfo"):
        assert f"{peer}: not installed, skipped" in proc.stdout
        assert peer not in table["correct"]
