"""What a run read: every config and PKI file (with a digest of its content, or that it was
missing) and every folder it looked into. The result cache (certlint.cache) serves a run again
only while all of them are unchanged. Recording is off unless a run asks for it."""

from __future__ import annotations

import hashlib
import os

MISSING = "-"


class Reads:
    def __init__(self):
        self.files: dict[str, str] = {}  # absolute path -> content digest, or MISSING
        self.folders: set[str] = set()  # folders whose entries decided something
        self.uncacheable: str | None = None  # why this run must not be cached
        # (not before, not after) of every certificate judged, as POSIX timestamps
        self.validity: set[tuple[float, float]] = set()
        self.looked: set[str] = set()  # paths already seen by looked_up

    def export(self) -> tuple:
        return self.files, self.folders, self.uncacheable, self.validity

    def merge(self, other: tuple) -> None:
        files, folders, uncacheable, validity = other
        self.files.update(files)
        self.folders |= folders
        self.uncacheable = self.uncacheable or uncacheable
        self.validity |= validity


_ACTIVE: list[Reads] = []


def digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def active() -> Reads | None:
    return _ACTIVE[-1] if _ACTIVE else None


def read(path: str, data: bytes | None, problem: str | None = None) -> None:
    """A file was read (`data`), or could not be (`problem`)."""
    if not _ACTIVE:
        return
    full = os.path.abspath(path)
    rec = _ACTIVE[-1]
    if data is not None:
        rec.files[full] = digest(data)
    elif problem is None or "does not exist" in problem or "No such file" in problem:
        rec.files[full] = MISSING
    else:
        rec.uncacheable = f"{full}: {problem}"


def certificates(certs) -> None:
    """Certificates were loaded: their validity dates bound how long a result holds."""
    if _ACTIVE:
        validity = _ACTIVE[-1].validity
        for cert in certs:
            validity.add((cert.not_valid_before_utc.timestamp(),
                          cert.not_valid_after_utc.timestamp()))


def looked_up(path: str) -> None:
    """A path was looked for (an include, maybe a glob): its folder's entries matter."""
    if not _ACTIVE:
        return
    rec = _ACTIVE[-1]
    if path in rec.looked:  # an include repeated by every server: once
        return
    rec.looked.add(path)
    folder = os.path.abspath(path)
    if any(c in folder for c in "*?["):
        while any(c in folder for c in "*?["):
            folder = os.path.dirname(folder)
        rec.folders.add(folder)
    else:
        rec.folders.add(os.path.dirname(folder))


def listed(folder: str) -> None:
    """A folder's entries were read (an included folder, a CA path)."""
    if _ACTIVE:
        _ACTIVE[-1].folders.add(os.path.abspath(folder))


class recording:
    """`with recording() as reads:` collects what the run inside reads."""

    def __enter__(self) -> Reads:
        _ACTIVE.append(Reads())
        return _ACTIVE[-1]

    def __exit__(self, *_exc) -> None:
        _ACTIVE.pop()
