"""The differential test with a fixed seed (tests/differential.py; `python -m tests.differential
--seed S --n N` runs longer): generated PKIs served by the real nginx and Apache, checked with
`openssl s_client` and Python's ssl; certlint must say what they do, and `fix --write` must leave
every fixable scenario starting and verifying."""

from __future__ import annotations

import shutil

from tests import differential
from tests.support import servers


def test_certlint_agrees_with_nginx_apache_and_clients_on_generated_pkis():
    servers.require("nginx")
    servers.require("openssl")
    from tests.support.apache import apache_binary

    apache_binary()
    assert shutil.which("openssl")
    differential.STATS.clear()
    done, problems = differential.run(seed=20261203, n=36, kinds=["nginx", "apache"])
    assert problems == [], "\n".join(problems)
    stats = differential.STATS
    assert done == 36
    # the run really covered each outcome, and repaired some scenarios
    for outcome in ("verified", "chain failed", "name failed", "refused to start",
                    "fixed and verified"):
        assert stats[outcome] >= 1, dict(stats)
