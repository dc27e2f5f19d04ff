"""The project config file: `.certlint.toml`, or `[tool.certlint]` in `pyproject.toml`.

Found by walking up from the current folder, as ruff and mypy find theirs (in each folder
`.certlint.toml` first, then a `pyproject.toml` that has a `[tool.certlint]` table). Keys are the
long option names of `check` and `fix`; relative paths are relative to the file; the command line
wins. `per-path-ignores` maps globs (relative to the file) to the rules not reported there.
A key or value that is not allowed is a usage error naming the file, the key and what is allowed.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import Any

CONFIG_NAME = ".certlint.toml"

CHOICES = {
    "fail-on": ("error", "warning", "info"),
    "server": ("nginx", "apache"),
    "format": ("text", "json", "sarif", "github", "remediation"),
}
# key -> kind: "paths" (list of paths), "path" (one path), "str", "strs", "int", "bool", choice
KEYS: dict[str, str] = {
    "paths": "paths",
    "root": "path",
    "ca-bundle": "paths",
    "ignore": "strs",
    "fail-on": "choice",
    "expiry-warn-days": "int",
    "apache-version": "str",
    "nginx-version": "str",
    "server": "choice",
    "define": "strs",
    "format": "choice",
    "intermediates": "paths",
    "offline": "bool",
    "aia-public-only": "bool",
    "per-path-ignores": "table",
}
FIX_ONLY = ("intermediates", "offline")
FIX_FORMATS = ("text", "json", "remediation")
# key -> the click parameter it sets
PARAMS = {"paths": "paths", "root": "root", "ca-bundle": "ca_bundles", "ignore": "ignored",
          "fail-on": "fail_on", "expiry-warn-days": "expiry_warn_days",
          "apache-version": "apache_version", "nginx-version": "nginx_version",
          "server": "server", "define": "define", "format": "fmt",
          "intermediates": "intermediates", "offline": "offline",
          "aia-public-only": "aia_public_only"}


class ProjectConfigError(Exception):
    """The config file cannot be used: one line naming the file, the key and what is allowed."""


@dataclass
class ProjectConfig:
    path: str  # the file
    values: dict[str, Any] = field(default_factory=dict)  # key -> checked, paths made absolute
    per_path_ignores: list[tuple[str, frozenset[str]]] = field(default_factory=list)

    @property
    def folder(self) -> str:
        return os.path.dirname(self.path)

    def default_map(self, command: str) -> dict[str, Any]:
        """click defaults for `check`, `fix` or `config`: the command line still wins."""
        out: dict[str, Any] = {}
        for key, value in self.values.items():
            if key in FIX_ONLY and command == "check":
                continue
            if key == "format" and command == "fix" and value not in FIX_FORMATS:
                continue  # sarif/github are for check; fix keeps its own default
            if key in ("ca-bundle", "ignore", "define", "intermediates", "paths"):
                value = tuple(value)
            out[PARAMS[key]] = value
        return out


def find(start: str | None = None) -> str | None:
    """The nearest `.certlint.toml` or `pyproject.toml` with `[tool.certlint]`, from `start`
    (default: the current folder) up to the filesystem root."""
    folder = os.path.abspath(start or os.getcwd())
    while True:
        candidate = os.path.join(folder, CONFIG_NAME)
        if os.path.isfile(candidate):
            return candidate
        pyproject = os.path.join(folder, "pyproject.toml")
        if os.path.isfile(pyproject) and _has_tool_table(pyproject):
            return pyproject
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def _has_tool_table(path: str) -> bool:
    from certlint.safe_io import read_head

    try:  # a regular file only (SECURITY.md promise 3)
        head = read_head(path, 1 << 20)
    except OSError:
        return False
    return b"tool.certlint" in head


def _toml():
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    return tomllib


def load(path: str) -> ProjectConfig:
    """Read and check one config file (ProjectConfigError says what is wrong)."""
    tomllib = _toml()
    shown = _shown(path)
    from certlint.safe_io import read_bounded

    try:  # a regular file of at most 1 MiB (SECURITY.md promise 3)
        data = tomllib.loads(read_bounded(path, 1 << 20).decode("utf-8"))
    except UnicodeDecodeError:
        raise ProjectConfigError(f"{shown}: not valid TOML: it is not UTF-8") from None
    except OSError as exc:
        raise ProjectConfigError(f"{shown}: cannot read it: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ProjectConfigError(f"{shown}: not valid TOML: {exc}") from None
    prefix = ""
    if os.path.basename(path) == "pyproject.toml":
        data = data.get("tool", {}).get("certlint", {})
        prefix = "tool.certlint."
        if not isinstance(data, dict):
            raise ProjectConfigError(f"{shown}: [tool.certlint] must be a table")
    config = ProjectConfig(os.path.abspath(path))
    for key, value in data.items():
        kind = KEYS.get(key)
        where = f"{shown}: key '{prefix}{key}'"
        if kind is None:
            import difflib

            near = difflib.get_close_matches(key.replace("_", "-"), list(KEYS), n=1)
            hint = f" (did you mean '{near[0]}'?)" if near else ""
            raise ProjectConfigError(f"{where} is not a certlint setting{hint}; allowed: "
                                     + ", ".join(KEYS))
        if kind == "table":
            config.per_path_ignores = _per_path_ignores(value, where, config.folder)
        else:
            config.values[key] = _value(key, kind, value, where, config.folder)
    return config


def _shown(path: str) -> str:
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel


def _value(key: str, kind: str, value: Any, where: str, folder: str) -> Any:
    if kind == "bool":
        if not isinstance(value, bool):
            raise ProjectConfigError(f"{where}: {value!r} is not allowed; use true or false")
        return value
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 36500:
            raise ProjectConfigError(f"{where}: {value!r} is not allowed; use a whole number "
                                     "of days from 0 to 36500")
        return value
    if kind == "choice":
        if value not in CHOICES[key]:
            raise ProjectConfigError(f"{where}: {value!r} is not allowed; use one of "
                                     + ", ".join(f'"{c}"' for c in CHOICES[key]))
        return value
    if kind in ("str", "path"):
        if not isinstance(value, str) or not value.strip():
            raise ProjectConfigError(f"{where}: {value!r} is not allowed; use a string")
        if key == "apache-version":
            _apache_version(value, where)
        if kind == "path":
            full = _absolute(value, folder)
            if key == "root" and not os.path.isdir(full):
                raise ProjectConfigError(f"{where}: {value!r} is not a folder (relative paths "
                                         "are relative to the config file)")
            return full
        return value
    # lists: a single string is taken as a list of one
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(v, str) and v for v in items):
        raise ProjectConfigError(f"{where}: {value!r} is not allowed; use a list of strings")
    if kind == "paths":
        return [_absolute(v, folder) for v in items]
    if key == "ignore":
        return _rules(items, where)
    return list(items)


def _absolute(value: str, folder: str) -> str:
    return os.path.normpath(os.path.join(folder, os.path.expanduser(value)))


def _apache_version(value: str, where: str) -> None:
    import click

    from certlint.cli import _apache_version as check

    try:
        check(None, None, value)
    except click.BadParameter as exc:
        raise ProjectConfigError(f"{where}: {exc.message}") from None


def _rules(names: list[str], where: str) -> list[str]:
    import difflib

    from certlint.docs import load_docs

    known = set(load_docs())
    out = []
    for name in names:
        for rule in filter(None, (n.strip().lower() for n in name.split(","))):
            if rule not in known and rule != "all":
                near = difflib.get_close_matches(rule, sorted(known), n=1)
                hint = f" (did you mean '{near[0]}'?)" if near else ""
                raise ProjectConfigError(f"{where}: unknown rule '{rule}'{hint}; "
                                         "`certlint rules` lists them")
            out.append(rule)
    return out


def _per_path_ignores(value: Any, where: str, folder: str
                      ) -> list[tuple[str, frozenset[str]]]:
    if not isinstance(value, dict):
        raise ProjectConfigError(f"{where}: use a table of glob = [rules], e.g. "
                                 '"secrets-not-in-git/**" = ["cert-file-missing"]')
    out = []
    for glob, rules in value.items():
        inner = f"{where[:-1]}.\"{glob}\"'" if where.endswith("'") else where
        if isinstance(rules, str):
            rules = [rules]
        if not isinstance(rules, list) or not all(isinstance(r, str) for r in rules):
            raise ProjectConfigError(f"{inner}: {rules!r} is not allowed; use a list of rule "
                                     "names")
        out.append((_absolute(glob, folder), frozenset(_rules(rules, inner))))
    return out
