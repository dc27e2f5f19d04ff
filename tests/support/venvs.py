"""Fresh virtual environments in tests see this interpreter's packages (certlint's dependencies,
hatchling, pip, pre-commit) without a network: through PYTHONPATH, not through the base
interpreter's site-packages, so the tests also pass when the test run itself lives in a venv
(as `.ci/run` installs it) over a bare system Python."""

from __future__ import annotations

import os
import site


def packages_path() -> str:
    """This interpreter's site-packages folders, as a PYTHONPATH value."""
    dirs = list(site.getsitepackages())
    user = site.getusersitepackages()
    if isinstance(user, str) and os.path.isdir(user):
        dirs.append(user)
    return os.pathsep.join(d for d in dirs if os.path.isdir(d))


def offline_env(**extra: str) -> dict[str, str]:
    """os.environ for a child that builds and installs with pip and never asks an index."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(PYTHONPATH=packages_path(), PIP_NO_INDEX="1", PIP_NO_BUILD_ISOLATION="0",
               PIP_DISABLE_PIP_VERSION_CHECK="1", **extra)
    return env
