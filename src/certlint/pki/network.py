"""The run's network settings: one bounded fetcher per run, shared by AIA, OCSP and CRL reads.

`run_fetcher(options)` hands every part of a run (fix's AIA completion, probe, `check --online`)
the same `Fetcher`, so the run budget (`--network-budget`) and "one request per URL per run"
hold across all of them. In CI (the `CI` variable set) private and loopback hosts are refused by
default (`--aia-public-only`); `--aia-private` allows them again.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # http.client and ssl load only for a run that fetches
    from certlint.pki import fetch


def public_only_default(value: bool | None) -> bool:
    """`--aia-public-only` / `--aia-private` as given, else on exactly when CI is set."""
    return bool(os.environ.get("CI")) if value is None else value


def run_fetcher(options) -> fetch.Fetcher:
    """The fetcher of this run (created on first use and kept on the options)."""
    from certlint.pki import fetch

    existing = getattr(options, "fetcher", None)
    if existing is not None:
        return existing
    timeout = getattr(options, "timeout", None) or fetch.TIMEOUT
    budget = getattr(options, "network_budget", None)
    made = fetch.Fetcher(timeout=timeout, budget=fetch.BUDGET if budget is None else budget,
                         public_only=public_only_default(getattr(options, "aia_public_only",
                                                                 None)),
                         offline=bool(getattr(options, "offline", False)),
                         # check --online asks as the server does: directly, never via a proxy
                         use_proxy=not getattr(options, "online", False))
    options.fetcher = made
    return made
