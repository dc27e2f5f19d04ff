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
from tests.support.paths import REPO


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


def test_fleet_dump_gives_the_same_findings_as_the_tree(tmp_path, certlint):
    """A generated fleet through `nginx -T`: the dump (globbed includes, a snippet shared by
    every server) yields exactly the findings of the tree."""
    import subprocess as sp

    nginx = servers.require("nginx")
    sys.path.insert(0, os.path.join(REPO, "bench"))
    import fleet

    pki = str(tmp_path / "pki")
    conf = fleet.make_nginx(str(tmp_path / "nginx"), pki, fleet.make_pki(pki, 30))
    proc = sp.run([nginx, "-T", "-p", str(tmp_path / "nginx"), "-c", conf,
                   "-e", str(tmp_path / "e.log"), "-g", f"pid {tmp_path}/n.pid;"],
                  capture_output=True, text=True, timeout=60, stdin=sp.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    (tmp_path / "dump.txt").write_text(proc.stdout)
    root = os.path.join(pki, "root.pem")

    def findings(path):
        _code, payload = certlint.json(path, "--server", "nginx", "--ca-bundle", root)
        return sorted((f["rule"], f["path"], f["line"]) for f in payload["findings"])

    tree = findings(conf)
    assert len(tree) == 1  # site 1 serves its leaf only
    assert findings(str(tmp_path / "dump.txt")) == tree
