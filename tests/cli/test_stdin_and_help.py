"""Small command-line promises: a closed standard input is a usage error in one line, and
--debug is listed in --help."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.support.paths import REPO

ENV = {**os.environ, "PYTHONPATH": os.path.join(REPO, "src")}


def run(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "certlint", *args], capture_output=True,
                          text=True, env=ENV, timeout=60, **kwargs)


def test_closed_standard_input_is_exit_2_with_one_line():
    # `certlint check - <&-`: the shell closes fd 0 before certlint starts
    result = subprocess.run(f'"{sys.executable}" -m certlint check - <&-', shell=True,
                            capture_output=True, text=True, env=ENV, timeout=60,
                            executable="/bin/bash")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "standard input cannot be read" in lines[0]
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr


def test_empty_standard_input_is_exit_2():
    result = run(["check", "-"], stdin=subprocess.DEVNULL)
    assert result.returncode == 2
    assert result.stderr.strip() == "certlint: <stdin>: nothing on standard input"


def test_debug_is_listed_in_help():
    for command in ("check", "fix"):
        assert "--debug" in run([command, "--help"]).stdout
