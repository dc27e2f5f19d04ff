"""The fleet benchmark keeps working: a small fleet through both servers and certlint.

Not a timing assertion (the numbers live in the README); it proves the generated fleets are
valid for the real servers, that certlint finds exactly the planted leaf-only sites, and that
the table prints.
"""

from __future__ import annotations

import os
import subprocess
import sys

from tests.support import servers

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_small_fleet_benchmark_runs_against_the_real_servers(tmp_path):
    servers.require("nginx")
    servers.require("apache2")
    proc = subprocess.run(
        [sys.executable, os.path.join(REPO, "bench", "fleet.py"), "60", "--repeat", "1",
         "--keep", str(tmp_path)],
        capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = [ln for ln in proc.stdout.splitlines() if ln.startswith("| 60 |")]
    assert len(rows) == 2, proc.stdout + proc.stderr
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[2] != "nan" and cells[3] != "nan", proc.stdout + proc.stderr
        assert cells[5] == "2E/0W", row  # sites 1 and 51 serve only their leaf
    assert "failed" not in proc.stderr
    fleet = tmp_path / "fleet-60"
    assert len(os.listdir(fleet / "nginx" / "conf.d")) == 60
    assert len(os.listdir(fleet / "apache" / "sites")) == 60
