"""What both config parsers share: safe reading of config files and `--root` mapping."""

from __future__ import annotations

import os

from certlint import reads
from certlint.model import ConfigError, ServerConfig
from certlint.safe_io import (  # noqa: F401 - special_kind: kept importable from here
    MAX_CONFIG_BYTES,
    NotRegular,
    TooLarge,
    read_bounded,
    special_kind,
)

EXCERPT = 40  # characters of foreign text a config-error may quote (SECURITY.md promise 5)


def excerpt(value: str, limit: int = EXCERPT) -> str:
    """A short, sanitised excerpt of text from a file for a config-error message: control
    characters made visible, cut after `limit` characters. Messages quote a directive name or a
    word, never whole lines (a file that is no config at all may hold credentials)."""
    from certlint.report.escape import text

    value = text(value)
    return value if len(value) <= limit else value[:limit] + "..."


def section_name(text: str) -> str:
    """The name of a `<Name args>` / `</Name>` tag line: up to the first blank or `>`."""
    body = text.lstrip("<").lstrip("/")
    for i, ch in enumerate(body):
        if ch in " \t>":
            return body[:i]
    return body


# absolute paths the parsers resolved without --root (see `recording`): None when nobody asks
_ABSOLUTE: list[list[str]] = []


def map_root(path: str, root: str | None) -> str:
    """An absolute path from a config, placed under `--root` when one is given."""
    path = os.path.normpath(path)
    if root:
        return os.path.join(root, path.lstrip("/"))
    if _ABSOLUTE:
        _ABSOLUTE[-1].append(path)
    return path


class recording:
    """`with recording() as seen:` collects every absolute path a parse resolves without
    --root (includes, ServerRoot, certificate and key files): which host files it would read."""

    def __enter__(self) -> list[str]:
        _ABSOLUTE.append([])
        return _ABSOLUTE[-1]

    def __exit__(self, *_exc) -> None:
        _ABSOLUTE.pop()


def follow_root_links(path: str, root: str | None) -> str:
    """With --root, the path the final component's symbolic links lead to, where an absolute
    link target (Debian's sites-enabled -> /etc/nginx/...) is taken under the root, not from
    this host. Only the hops up to the last absolute one are followed: relative links (certbot's
    live/NAME/cert.pem -> ../../archive/...) resolve the same everywhere and are kept, so the
    path keeps its name (a fix that names `fullchain.pem` beside it stays right)."""
    if not root or not os.path.islink(path):
        return path
    hops, current = [], path
    while os.path.islink(current) and len(hops) < 40:
        link = os.readlink(current)
        current = (map_root(link, root) if os.path.isabs(link)
                   else os.path.normpath(os.path.join(os.path.dirname(current), link)))
        hops.append((os.path.isabs(link), current))
    absolute = [n for n, (is_abs, _) in enumerate(hops) if is_abs]
    return hops[absolute[-1]][1] if absolute else path


def root_hint(missing: str, entry: str, root: str | None) -> str:
    """For an absolute path that is not there: when the entry point lies in a checked-out copy
    of it (`repo/etc/httpd/conf/httpd.conf` naming `/etc/httpd`), the --root that finds it."""
    if root or not os.path.isabs(missing):
        return ""
    needle = os.path.normpath(missing).rstrip("/") + "/"
    where = os.path.abspath(entry).find(needle)
    if where <= 0:
        return ""
    return f"; a checked-out tree? pass --root {os.path.abspath(entry)[:where]}"


class ConfigFileReader:
    """Read a config file as bytes, turning every way it can fail into a `ConfigError`."""

    def read(self, path: str, config: ServerConfig, fatal: bool = False,
             shown: str | None = None) -> bytes | None:
        shown = shown or path
        try:
            data = read_bounded(path, MAX_CONFIG_BYTES)
        except NotRegular as exc:
            if exc.kind == "a directory":
                reason = "Is a directory"
                config.errors.append(ConfigError(f"cannot read config file: {reason}", shown, 0,
                                                 fatal))
                return None
            config.errors.append(ConfigError(
                f"not a regular file ({exc.kind}): certlint does not read "
                "it, as reading could block or never end", shown, 0, fatal))
            return None
        except TooLarge as exc:
            size = f"is {exc.size} bytes" if exc.size is not None else "keeps growing"
            config.errors.append(ConfigError(
                f"config file {size}, larger than the {MAX_CONFIG_BYTES} certlint "
                "reads: is this really a config file?", shown, 0, fatal))
            return None
        except OSError as exc:
            reads.read(path, None, exc.strerror or str(exc))
            reason = exc.strerror or str(exc)
            config.errors.append(ConfigError(f"cannot read config file: {reason}", shown, 0,
                                             fatal))
            return None
        if fatal and not data.strip():
            config.errors.append(ConfigError(
                "the config file is empty: nothing to check (nginx -t would fail: no \"events\" "
                "section in configuration)", shown, 0, fatal))
            return None
        reads.read(path, data)
        if b"\0" in data:
            config.errors.append(ConfigError(
                "binary file, not a text config (it holds NUL bytes)", shown, 0, fatal))
            return None
        return data
