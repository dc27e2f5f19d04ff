"""certlint as a separate process under resource limits, for hostile inputs (SECURITY.md).

Every hostile input must finish within 10 s of CPU and 1 GB of address space; a process that
runs out dies (SIGXCPU / MemoryError) and the test fails, it never hangs the suite. The wall-clock
limit is looser than the CPU limit only because the test machine may be shared.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CPU_SECONDS = 10
ADDRESS_SPACE = 1024 * 1024 * 1024
WALL_SECONDS = 90  # a loaded shared machine; CPU_SECONDS is the bar


@dataclass
class Result:
    code: int
    out: str
    err: str
    elapsed: float
    cpu: float

    @property
    def output(self) -> str:
        return self.out + self.err


def _limits() -> None:
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS))
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def certlint(*args: str, cwd: str | None = None, env: dict | None = None,
             stdin: str | None = None) -> Result:
    """Run `python -m certlint ARGS` bounded; assert it ended by itself, without a traceback."""
    environment = dict(os.environ if env is None else env,
                       PYTHONPATH=os.path.join(REPO, "src"))
    environment.setdefault("CERTLINT_CACHE_DIR", os.path.join(cwd or "/tmp", ".certlint-cache"))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "certlint", *map(str, args)],
                          capture_output=True, timeout=WALL_SECONDS, cwd=cwd, env=environment,
                          input=stdin.encode() if stdin is not None else None,
                          stdin=None if stdin is not None else subprocess.DEVNULL,
                          preexec_fn=_limits)
    elapsed = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = Result(proc.returncode, proc.stdout.decode("utf-8", "surrogateescape"),
                    proc.stderr.decode("utf-8", "surrogateescape"), elapsed,
                    (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime))
    assert proc.returncode >= 0, f"killed by signal {-proc.returncode}: {result.output[-2000:]}"
    assert "Traceback" not in result.output, result.output[-4000:]
    assert "MemoryError" not in result.output, result.output[-4000:]
    assert "internal error" not in result.output, result.output[-4000:]
    return result
