"""The interpreter the benchmarks time certlint with: a virtual environment, as `pip install
certlint` users have it.

A venv over this Python (without its site-packages, so none of the system interpreter's `.pth`
start-up hooks run; this sandbox's imports certifi in every Python process), with certlint's
source and this interpreter's packages on PYTHONPATH, and certlint byte-compiled first as pip
does at install time.
"""

from __future__ import annotations

import compileall
import os
import subprocess
import sys
import sysconfig
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def user_python(system: bool = False) -> tuple[str, str]:
    """(python, PYTHONPATH) to run `python -m certlint` with; `system`: this interpreter."""
    compileall.compile_dir(os.path.join(REPO, "src", "certlint"), quiet=1)
    src = os.path.join(REPO, "src")
    if system:
        return sys.executable, src
    folder = os.path.join(tempfile.gettempdir(), "certlint-bench-venv")
    python = os.path.join(folder, "bin", "python")
    if not os.path.exists(python):
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", folder], check=True)
    paths = sysconfig.get_paths()
    packages = list(dict.fromkeys([paths["purelib"], paths["platlib"]]))
    return python, os.pathsep.join([src] + packages)
