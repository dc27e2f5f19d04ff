"""The rule registry: every module in this package registers its checks with `@rule`.

Adding a rule means adding a module here and a document in `rules/`; nothing else changes.
"""

from __future__ import annotations

import importlib
import pkgutil

from certlint.rules.base import REGISTRY, Rule, rule

_loaded = False


def all_rules() -> dict[str, Rule]:
    """Import every rule module once and return the registry, keyed by rule name."""
    global _loaded
    if not _loaded:
        for info in pkgutil.iter_modules(__path__):
            if info.name != "base" and not info.name.startswith("_"):
                importlib.import_module(f"{__name__}.{info.name}")
        _loaded = True
    return REGISTRY


__all__ = ["all_rules", "rule", "Rule"]
