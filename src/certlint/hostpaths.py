"""Never read this machine's files by accident: decide, for an entry point checked without
--root, whether the absolute paths its config names belong to this host or to a checkout.

`repo/etc/nginx/nginx.conf` that includes `/etc/nginx/sites/*` is a checked-out /etc: the root
is `repo` (inferred, and said on standard error). An entry point elsewhere (`repo/nginx.conf`
naming `/etc/ssl/...`) whose system paths share nothing with its own location cannot be placed:
that is a usage error naming --root. A config on this host (`/etc/nginx/nginx.conf`, or one under
/usr, /opt, /srv, /var) reads the host's files, as its server does.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

# where server configs live on a host: an entry point under these is this machine's config
HOST_TOPS = frozenset({"etc", "usr", "opt", "srv", "var", "run", "nix", "snap"})


@dataclass
class Verdict:
    root: str | None = None  # the inferred --root
    because: str | None = None  # the absolute path that gave it away
    foreign: str | None = None  # an absolute path that would be read from this host


def judge(entry: str, absolute: list[str], files: list[str]) -> Verdict:
    """`absolute`: the absolute paths the parse resolved; `files`: the config files it read
    (an absolute symbolic link among them, Debian's sites-enabled style, is a host path too)."""
    entry = os.path.abspath(entry)
    paths = list(dict.fromkeys(absolute))
    for path in files:
        try:
            if os.path.islink(path):
                target = os.readlink(path)
                if os.path.isabs(target):
                    paths.append(os.path.normpath(target))
        except OSError:
            continue
    top = _top(entry)
    foreign = [p for p in paths if _top(p) != top]  # nothing in common but /
    if not foreign:
        return Verdict()
    for path in foreign:
        root = _root_for(path, entry)
        if root is not None:
            return Verdict(root=root, because=path)
    if top in HOST_TOPS:
        return Verdict()
    # /etc/ssl/..., /usr/local/...: this machine's own files, never what a checkout means;
    # a path into another user folder (/home, /srv/certs/...) was named on purpose
    # (only paths that are there: a missing one is read from nowhere and becomes a finding)
    system = [p for p in foreign if _top(p) in HOST_TOPS and _exists(p)]
    return Verdict(foreign=system[0]) if system else Verdict()


def _exists(path: str) -> bool:
    if any(c in path for c in "*?["):
        import glob

        return bool(glob.glob(path))
    return os.path.lexists(path)


def _top(path: str) -> str:
    if "/." in path or "//" in path or path.endswith("/"):
        path = os.path.normpath(path)  # only these forms change it: one call per path saved
    parts = path.split("/", 2)
    return parts[1] if len(parts) > 1 else ""


def _root_for(path: str, entry: str) -> str | None:
    """`repo` for `/etc/nginx/sites/*` named by `repo/etc/nginx/nginx.conf`: the longest
    leading folders of the path found inside the entry point's own path."""
    parts = [p for p in os.path.dirname(os.path.normpath(path)).split("/") if p]
    for n in range(len(parts), 0, -1):
        needle = "/" + "/".join(parts[:n]) + "/"
        where = entry.find(needle)
        if where > 0:
            root = entry[:where]
            if os.path.isdir(os.path.join(root, parts[0])):
                return root
    return None
