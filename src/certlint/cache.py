"""The result cache: a second `certlint check` of an unchanged tree costs little.

A run's findings are kept in the user cache folder (CERTLINT_CACHE_DIR/check, else
~/.cache/certlint/check), keyed by certlint's version and code, the options and the entry
points. They are served again only while every file the run read has the same content (config
files, certificates, keys, CRLs, trusted bundles: each is read and hashed again), every file it
missed is still missing, every folder it looked into has the same entries, and no certificate it
judged has crossed a date that changes a finding (valid from, expiry, the warning window); an
entry is at most an hour old. `--no-cache` (or CERTLINT_NO_CACHE=1) skips the cache. Entries are
read only from a folder of this user that nobody else can write (they are pickles).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import pickle
import stat
import time
from dataclasses import dataclass, field, fields
from typing import Any

from certlint.reads import MISSING, Reads, digest
from certlint.userdirs import cache_folder

SCHEMA = 1
MAX_AGE = 3600.0  # seconds
MAX_ENTRIES = 64
MAX_FILE = 64 * 1024 * 1024


def cache_dir() -> str:
    return cache_folder("check")


def enabled(paths: list[str]) -> bool:
    """Not for standard input, nor when CERTLINT_NO_CACHE is set."""
    return not os.environ.get("CERTLINT_NO_CACHE") and "-" not in paths


def _code_fingerprint() -> str:
    """certlint's version and its code: an edited checkout is another certlint."""
    from certlint import __version__

    package = os.path.dirname(os.path.abspath(__file__))
    parts = [__version__]
    for folder, dirs, files in os.walk(package):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith((".py", ".md", ".j2")):
                st = os.stat(os.path.join(folder, name))
                parts.append(f"{folder}/{name}:{st.st_mtime_ns}:{st.st_size}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def key(settings: dict[str, Any]) -> str:
    """The cache key of a run: every setting that can change a finding, and certlint itself."""
    text = json.dumps({"schema": SCHEMA, "code": _code_fingerprint(), "cwd": os.getcwd(),
                       **settings}, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class CachedConfig:
    """What reporters read of a config from a cached run."""

    server: str
    entry: str
    files: list[str]
    sites: list[None]
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class CachedReport:
    findings: list
    configs: list[CachedConfig]
    notes: list[str]
    root: str | None = None

    def count(self, severity: str) -> int:
        return sum(1 for f in self.findings if f.severity == severity)

    def worst(self) -> int:
        from certlint.model import SEVERITY_RANK

        return max((SEVERITY_RANK[f.severity] for f in self.findings), default=-1)


def lookup(cache_key: str) -> CachedReport | None:
    """The cached report, when everything it was made from is unchanged."""
    folder = cache_dir()
    if not _own_folder(folder):
        return None
    try:
        fd = os.open(os.path.join(folder, cache_key), os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "rb") as fh:
            st = os.fstat(fh.fileno())
            if not stat.S_ISREG(st.st_mode) or not _mine(st):
                return None
            entry = pickle.load(fh)
    except Exception:  # noqa: BLE001 - missing, half-written or foreign: a miss
        return None
    try:
        if entry["schema"] != SCHEMA or entry["expires"] <= time.time():
            return None
        for folder, sig in entry["folders"].items():
            if _folder_sig(folder) != sig:
                return None
        for name, known in entry["files"].items():
            if _file_digest(name) != known:
                return None
        from certlint.model import Finding

        findings = [Finding(**f) for f in entry["findings"]]
        configs = [CachedConfig(server, entry_point, files, [None] * sites)
                   for server, entry_point, files, sites in entry["configs"]]
        return CachedReport(findings, configs, entry["notes"], entry["root"])
    except Exception:  # noqa: BLE001
        return None


def _mine(st: os.stat_result) -> bool:
    """Owned by this user and writable by nobody else: only then is a pickle trusted."""
    owner = os.getuid() if hasattr(os, "getuid") else st.st_uid
    return st.st_uid == owner and not st.st_mode & 0o022


def _own_folder(folder: str) -> bool:
    try:
        st = os.lstat(folder)
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and _mine(st)


def _folder_sig(folder: str):
    try:
        st = os.stat(folder)
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns)


def _file_digest(name: str) -> str | None:
    try:
        st = os.stat(name)
    except FileNotFoundError:
        return MISSING if not os.path.islink(name) else None
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_FILE:
        return None  # never open a FIFO or device that replaced a file
    try:
        with open(name, "rb") as fh:
            return digest(fh.read())
    except OSError:
        return None


def store(cache_key: str, reads: Reads, report, root: str | None,
          expiry_warn_days: int) -> None:
    """Keep a run's report (nothing when it read something it cannot vouch for)."""
    if reads.uncacheable or any(c.extra.get("dump") for c in report.configs):
        return
    folders = set(reads.folders) | {os.path.dirname(f) for f in reads.files}
    now = time.time()
    expires = now + MAX_AGE
    warn = dt.timedelta(days=expiry_warn_days).total_seconds()
    for not_before, not_after in reads.validity:
        window = min(warn, (not_after - not_before) / 3)
        for moment in (not_before, not_after, not_after - window):
            if now < moment < expires:
                expires = moment
    names = [f.name for f in fields(report.findings[0])] if report.findings else []
    entry = {
        "schema": SCHEMA, "expires": expires,
        "files": dict(reads.files),
        "folders": {f: _folder_sig(f) for f in folders},
        "findings": [{n: getattr(f, n) for n in names if n != "fix"} for f in report.findings],
        "configs": [(c.server, c.entry, list(c.files), len(c.sites)) for c in report.configs],
        "notes": list(report.notes), "root": root,
    }
    try:
        data = pickle.dumps(entry, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # noqa: BLE001 - a fact that does not pickle: no cache entry
        return
    import tempfile

    folder = cache_dir()
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        if not _own_folder(folder):
            return  # a folder others can write: never a place for pickles
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=folder)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, os.path.join(folder, cache_key))
        _prune(folder)
    except OSError:
        pass  # a read-only home: certlint works without its cache


def _prune(folder: str) -> None:
    try:
        names = [n for n in os.listdir(folder) if not n.startswith(".")]
        if len(names) <= MAX_ENTRIES:
            return
        dated = sorted(names, key=lambda n: os.stat(os.path.join(folder, n)).st_mtime)
        for name in dated[: len(names) - MAX_ENTRIES]:
            os.unlink(os.path.join(folder, name))
    except OSError:
        pass
