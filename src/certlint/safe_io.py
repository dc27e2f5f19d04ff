"""Bounded reading of files that came from the checked tree (SECURITY.md promise 3).

Every file named by a config, an include or a fix plan is untrusted: it may be a FIFO that never
answers, a link to `/dev/zero` or `/dev/urandom`, or gigabytes long. `read_bounded` opens without
blocking, checks on the open descriptor (no race between check and read) that it is a regular
file no larger than the cap, and reads at most cap + 1 bytes, so a file that grows meanwhile or
lies about its size (procfs) is still refused. Everything that reads tree files goes through it.
"""

from __future__ import annotations

import os
import stat

MAX_CONFIG_BYTES = 64 * 1024 * 1024  # one config file
MAX_PKI_BYTES = 32 * 1024 * 1024  # certificates, chains, keys, CRLs, stapling/password files
_FLAGS = (os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
          | getattr(os, "O_CLOEXEC", 0))


class UnsafeFile(OSError):
    """A file certlint refuses to read; `str()` is the reason in words."""


def special_kind(mode: int) -> str:
    """What a non-regular file is, in words."""
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"


class NotRegular(UnsafeFile):
    def __init__(self, mode: int):
        self.kind = special_kind(mode)
        super().__init__(f"is {self.kind}, not a regular file (certlint does not read it: "
                         "reading could block or never end)")


class TooLarge(UnsafeFile):
    def __init__(self, size: int | None, limit: int):
        self.size, self.limit = size, limit
        said = f"is {size} bytes" if size is not None else "is larger than that"
        super().__init__(f"{said}, more than the {limit} bytes certlint reads")


def read_head(path: str, size: int) -> bytes:
    """The first `size` bytes of a regular file of any length (to sniff what it is); else
    `UnsafeFile` or the OSError of opening it."""
    before = os.stat(path)
    if not stat.S_ISREG(before.st_mode):
        raise NotRegular(before.st_mode)
    fd = os.open(path, _FLAGS)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotRegular(info.st_mode)
        return os.read(fd, size)
    finally:
        os.close(fd)


def read_bounded(path: str, limit: int) -> bytes:
    """The bytes of a regular file of at most `limit` bytes; else `UnsafeFile` (or the OSError
    of opening it). A link is judged by what it points to."""
    try:
        before = os.stat(path)  # a device is never opened at all (opening may have effects)
    except OSError:
        raise
    if not stat.S_ISREG(before.st_mode):
        raise NotRegular(before.st_mode)
    if before.st_size > limit:
        raise TooLarge(before.st_size, limit)
    fd = os.open(path, _FLAGS)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):  # swapped for a FIFO or device since the stat
            raise NotRegular(info.st_mode)
        if info.st_size > limit:
            raise TooLarge(info.st_size, limit)
        want = min(info.st_size + 1, limit + 1, 1024 * 1024)
        first = os.read(fd, want)
        if len(first) < want:  # a short read is the end of the file: read in one call
            return first
        chunks, total = [first], len(first)
        while total <= limit:
            chunk = os.read(fd, min(1024 * 1024, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > limit:
            raise TooLarge(None, limit)
        return b"".join(chunks)
    finally:
        os.close(fd)
