"""TARGET forms of `certlint probe`: `NAME`, `NAME:PORT`, `https://NAME[:PORT][/path]`,
`[IPv6]:PORT` (the port defaults to 443), and `--connect HOST[:PORT]`."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

DEFAULT_PORT = 443
_LABEL = r"[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
_HOSTNAME = re.compile(rf"({_LABEL}\.)*{_LABEL}\.?")


class TargetError(ValueError):
    """A target that is not one of the accepted forms (a usage error, exit code 2)."""


@dataclass(frozen=True)
class Target:
    """A parsed target: `name` is used for SNI, the name check and the report; `given` is the
    text as the user wrote it (the `path` of its findings)."""

    name: str
    port: int
    given: str

    @property
    def is_ip(self) -> bool:
        try:
            ipaddress.ip_address(self.name)
            return True
        except ValueError:
            return False


def _port(text: str, given: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise TargetError(f"{given!r}: {text!r} is not a port (1-65535)")
    return int(text)


def split_host_port(text: str, given: str | None = None) -> tuple[str, int | None]:
    """`host`, `host:port`, `[v6]`, `[v6]:port`, or a bare IPv6 address."""
    given = given if given is not None else text
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep:
            raise TargetError(f"{given!r}: '[' without ']' (write an IPv6 address as "
                              "[2001:db8::1]:443)")
        try:
            ipaddress.IPv6Address(host)
        except ValueError as exc:
            raise TargetError(f"{given!r}: {host!r} is not an IPv6 address") from exc
        if not rest:
            return host, None
        if not rest.startswith(":"):
            raise TargetError(f"{given!r}: unexpected {rest!r} after the IPv6 address")
        return host, _port(rest[1:], given)
    if text.count(":") > 1:  # a bare IPv6 address: no port possible
        try:
            return str(ipaddress.IPv6Address(text)), None
        except ValueError as exc:
            raise TargetError(f"{given!r} is neither NAME:PORT nor an IPv6 address (write "
                              "[2001:db8::1]:443)") from exc
    host, sep, port = text.partition(":")
    return host, (_port(port, given) if sep else None)


def _check_host(host: str, given: str) -> str:
    if not host:
        raise TargetError(f"{given!r}: no host name")
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    if len(host) > 253 or not _HOSTNAME.fullmatch(host):
        raise TargetError(f"{given!r}: {host!r} is not a host name")
    return host.rstrip(".").lower()


def parse_target(text: str) -> Target:
    given = text
    text = text.strip()
    if not text:
        raise TargetError("an empty target")
    if not text.isprintable() or any(c.isspace() for c in text):
        raise TargetError(f"{given!r}: a target holds no spaces or control characters")
    scheme, sep, rest = text.partition("://")
    if sep:
        if scheme.lower() != "https":
            raise TargetError(f"{given!r}: only https:// URLs can be probed")
        text = re.split(r"[/?#]", rest, maxsplit=1)[0]
        if "@" in text:
            text = text.rsplit("@", 1)[1]  # user:password@ is no part of the endpoint
    host, port = split_host_port(text, given)
    return Target(_check_host(host, given), port or DEFAULT_PORT, given)


def parse_connect(text: str) -> tuple[str, int | None]:
    """`--connect HOST[:PORT]`: where the TCP connection goes (the port defaults to the
    target's)."""
    host, port = split_host_port(text.strip(), text)
    return _check_host(host, text), port


def read_targets_file(lines) -> list[str]:
    """One target a line; `#` starts a comment; blank lines are skipped."""
    out = []
    for line in lines:
        text = line.split("#", 1)[0].strip()
        if text:
            out.append(text)
    return out
