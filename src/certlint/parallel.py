"""Checking many sites on every core: after parsing, forked workers run the site rules over
contiguous shares of the sites (copy-on-write: nothing is parsed or sent twice) and send their
findings back through a pipe. Small trees stay in one process, where forking costs more than
it saves. A worker that fails leaves its share to this process, so the result never depends on
how the sites were split.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable, Sequence

from certlint import reads

MIN_SITES = 150  # per worker: below this, one process is faster
MAX_WORKERS = 8


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def workers_for(n_sites: int, jobs: int) -> int:
    """How many processes check `n_sites` sites (`jobs`: the most the caller allows)."""
    if jobs <= 1 or not hasattr(os, "fork"):
        return 1
    return max(1, min(jobs, cpu_count(), MAX_WORKERS, n_sites // MIN_SITES))


def map_shares(items: Sequence, work: Callable[[Sequence], list], n: int) -> list:
    """`work` over `n` contiguous shares of `items`: n-1 forked children and this process;
    the results in share order."""
    if n <= 1:
        return work(items)
    size = -(-len(items) // n)
    shares = [items[i:i + size] for i in range(0, len(items), size)]
    children = []
    for share in shares[1:]:
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the worker: never returns into the caller's code
            status = 0
            try:
                os.close(read)
                try:
                    rec = reads.active()
                    data = pickle.dumps((work(share), rec.export() if rec else None),
                                        protocol=pickle.HIGHEST_PROTOCOL)
                except BaseException:  # noqa: BLE001 - the parent redoes this share
                    data, status = b"", 1
                with os.fdopen(write, "wb") as fh:
                    fh.write(data)
            finally:
                os._exit(status)
        os.close(write)
        children.append((pid, read, share))
    results = list(work(shares[0]))
    for pid, read, share in children:
        with os.fdopen(read, "rb") as fh:
            data = fh.read()
        _pid, status = os.waitpid(pid, 0)
        value = None
        if status == 0 and data:
            try:
                value, seen = pickle.loads(data)
            except Exception:  # noqa: BLE001
                value = None
            else:
                rec = reads.active()
                if rec is not None and seen is not None:
                    rec.merge(seen)
        results.extend(work(share) if value is None else value)
    return results
