"""`check` shares big trees among forked workers (issue 12, "Faster"): every check is still
made, and the findings are exactly those of one process; small trees stay in one process."""

from __future__ import annotations

import os

import certlint.parallel as parallel
from certlint.context import Options
from certlint.engine import run_check
from tests.support.pki import CA, DAY, NOW, cert_pem, write

SITES = 400


def fleet(folder) -> tuple[str, str]:
    """SITES sites in conf.d/: every 7th leaf-only, every 11th expired, every 13th for another
    name; one CA."""
    root = CA("Parallel Root")
    inter = root.intermediate("Parallel Intermediate")
    for n in range(SITES):
        name = f"s{n}.test"
        leaf = inter.leaf(f"other{n}.test" if n % 13 == 0 else name,
                          not_after=NOW - DAY if n % 11 == 0 else None,
                          not_before=NOW - 30 * DAY if n % 11 == 0 else None)
        certs = [leaf.cert] if n % 7 == 0 else [leaf.cert, inter.cert]
        write(os.path.join(folder, "certs", f"{name}.pem"), cert_pem(*certs))
        write(os.path.join(folder, "certs", f"{name}.key"), leaf.key_pem, 0o600)
        write(os.path.join(folder, "conf.d", f"{name}.conf"), (
            f"server {{\n    listen 443 ssl;\n    server_name {name};\n"
            f"    ssl_certificate certs/{name}.pem;\n"
            f"    ssl_certificate_key certs/{name}.key;\n}}\n").encode())
    conf = write(os.path.join(folder, "nginx.conf"),
                 b"events {}\nhttp {\n    include conf.d/*.conf;\n}\n")
    return conf, write(os.path.join(folder, "root.pem"), root.pem)


def test_workers_find_exactly_what_one_process_finds(tmp_path, monkeypatch):
    conf, root = fleet(str(tmp_path))
    forks = []
    real_fork = os.fork

    def counting_fork():
        forks.append(1)
        return real_fork()

    monkeypatch.setattr(os, "fork", counting_fork)
    monkeypatch.setattr(parallel, "cpu_count", lambda: 2)
    one = run_check([conf], Options(ca_bundles=[root], jobs=1))
    assert forks == []
    two = run_check([conf], Options(ca_bundles=[root], jobs=2))
    assert forks == [1]
    assert [f.as_dict() for f in two.findings] == [f.as_dict() for f in one.findings]
    counted = {r: sum(1 for f in one.findings if f.rule == r) for r in
               ("chain-incomplete", "cert-expired", "hostname-mismatch")}
    assert counted == {"chain-incomplete": len(range(0, SITES, 7)),
                       "cert-expired": len(range(0, SITES, 11)),
                       "hostname-mismatch": len(range(0, SITES, 13))}


def test_small_trees_stay_in_one_process():
    assert parallel.workers_for(100, 8) == 1
    assert parallel.workers_for(10_000, 1) == 1


def test_a_worker_that_fails_leaves_its_share_to_the_parent(monkeypatch):
    monkeypatch.setattr(parallel, "cpu_count", lambda: 2)
    calls = []

    def work(share):
        calls.append(os.getpid())
        if os.getpid() != parent:
            raise RuntimeError("a worker dies")
        return [x * 2 for x in share]

    parent = os.getpid()
    assert parallel.map_shares(list(range(10)), work, 2) == [x * 2 for x in range(10)]
    assert calls.count(parent) == 2  # its own share, then the failed worker's
