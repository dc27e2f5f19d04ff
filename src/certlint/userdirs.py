"""Where certlint keeps its caches: the user cache folder of the platform (XDG_CACHE_HOME or
~/.cache on Linux, ~/Library/Caches on macOS, %LOCALAPPDATA% on Windows), or
CERTLINT_CACHE_DIR when it is set."""

from __future__ import annotations

import os
import sys


def cache_folder(name: str, override_holds_it: bool = True) -> str:
    """certlint's cache folder `name` ("check", "aia"). With CERTLINT_CACHE_DIR set, the
    folder lies inside it (or, `override_holds_it` False, is that folder itself)."""
    override = os.environ.get("CERTLINT_CACHE_DIR")
    if override:
        return os.path.join(override, name) if override_holds_it else override
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or os.path.expanduser("~\\AppData\\Local")
    elif sys.platform == "darwin":
        base = os.path.expanduser("~/Library/Caches")
    else:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return os.path.join(base, "certlint", name)
