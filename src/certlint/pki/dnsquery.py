"""Name resolution as a server does it: through the configured DNS resolvers, or the system's.

nginx resolves an OCSP responder's name with its own `resolver` addresses (a DNS query over UDP),
never with the system resolver; `certlint check --online` does the same so that "the responder's
name does not resolve through 10.0.0.53" is found before nginx logs
`ocsp.example.com could not be resolved (110: Operation timed out)`. Without configured resolvers
the system resolver (getaddrinfo) is used, bounded by the same deadline in a helper thread.

Every failure is a `ResolveError` with a one-line reason naming the resolver asked.
"""

from __future__ import annotations

import ipaddress
import secrets
import socket
import struct
import threading
import time

QTYPE_A, QTYPE_AAAA = 1, 28
RCODES = {1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN (no such name)", 4: "NOTIMP",
          5: "REFUSED"}


class ResolveError(Exception):
    """A name that did not resolve: the message says through which resolver and why."""


def parse_resolver(value: str) -> tuple[str, int]:
    """`10.0.0.53`, `10.0.0.53:5353`, `[2001:db8::53]:53`, `::1` -> (address, port)."""
    value = value.strip()
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        port = int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else 53
        return host, port
    try:
        ipaddress.ip_address(value)
        return value, 53
    except ValueError:
        pass
    host, _, port = value.rpartition(":")
    if host and port.isdigit():
        return host, int(port)
    return value, 53


def _query(name: str, qtype: int) -> tuple[int, bytes]:
    qid = secrets.randbelow(0x10000)
    labels = [p for p in name.strip(".").split(".") if p]
    qname = b"".join(bytes([len(p)]) + p for p in (label.encode("idna") for label in labels))
    return qid, struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + qname + b"\0" + struct.pack(
        ">HH", qtype, 1)


def _skip_name(data: bytes, pos: int) -> int:
    while True:
        length = data[pos]
        if length & 0xC0 == 0xC0:
            return pos + 2
        if length == 0:
            return pos + 1
        pos += length + 1


def _answers(data: bytes, qid: int, qtype: int) -> tuple[list[str], int]:
    """(addresses, rcode) of a DNS answer; ValueError when it is not an answer to `qid`."""
    if len(data) < 12:
        raise ValueError("short answer")
    rid, flags, qd, an = struct.unpack(">HHHH", data[:8])
    if rid != qid or not flags & 0x8000:
        raise ValueError("not our answer")
    rcode = flags & 0x000F
    pos = 12
    for _ in range(qd):
        pos = _skip_name(data, pos) + 4
    out = []
    for _ in range(an):
        pos = _skip_name(data, pos)
        rtype, _cls, _ttl, rdlen = struct.unpack(">HHIH", data[pos:pos + 10])
        pos += 10
        rdata = data[pos:pos + rdlen]
        if rtype == qtype == QTYPE_A and rdlen == 4:
            out.append(socket.inet_ntop(socket.AF_INET, rdata))
        elif rtype == qtype == QTYPE_AAAA and rdlen == 16:
            out.append(socket.inet_ntop(socket.AF_INET6, rdata))
        pos += rdlen
    return out, rcode


def resolve_via(name: str, resolvers: list[str], deadline: float) -> list[str]:
    """The addresses of `name` asked of each resolver in turn (A, then AAAA), as nginx does."""
    reasons = []
    for resolver in resolvers:
        host, port = parse_resolver(resolver)
        shown = f"{host}:{port}" if ":" not in host else f"[{host}]:{port}"
        try:
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            found: list[str] = []
            last_rcode = 0
            for qtype in (QTYPE_A, QTYPE_AAAA):
                addrs, last_rcode = _ask(name, qtype, (host, port), family, deadline)
                found += addrs
                if found or last_rcode == 3:
                    break
            if found:
                return found
            why = RCODES.get(last_rcode, "no address in the answer") if last_rcode else \
                "no address in the answer"
            reasons.append(f"{name} could not be resolved through the resolver {shown}: {why}")
        except TimeoutError:
            reasons.append(f"{name} could not be resolved through the resolver {shown}: "
                           "no answer (timed out)")
        except (OSError, ValueError, UnicodeError) as exc:
            detail = getattr(exc, "strerror", None) or str(exc) or exc.__class__.__name__
            reasons.append(f"{name} could not be resolved through the resolver {shown}: "
                           f"{detail}")
        if time.monotonic() >= deadline:
            break
    raise ResolveError("; ".join(reasons) or f"{name}: no resolver to ask")


def _ask(name: str, qtype: int, where: tuple[str, int], family: int,
         deadline: float) -> tuple[list[str], int]:
    qid, packet = _query(name, qtype)
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.connect(where)
        sock.send(packet)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            sock.settimeout(left)
            try:
                data = sock.recv(4096)
            except ConnectionRefusedError:
                raise OSError("nothing answers DNS there (port unreachable)") from None
            try:
                return _answers(data, qid, qtype)
            except (ValueError, IndexError, struct.error):
                continue  # a stray or spoofed datagram: keep waiting for ours


def resolve_system(name: str, port: int, deadline: float) -> list[str]:
    """getaddrinfo bounded by the deadline (it has no timeout of its own)."""
    result: dict[str, object] = {}

    def run():
        try:
            result["infos"] = socket.getaddrinfo(name, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            result["error"] = exc

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(max(0.0, deadline - time.monotonic()))
    if worker.is_alive():
        raise ResolveError(f"{name} could not be resolved through the system resolver: "
                           "no answer (timed out)")
    if "error" in result:
        exc = result["error"]
        detail = getattr(exc, "strerror", None) or str(exc)
        raise ResolveError(f"{name} could not be resolved through the system resolver: "
                           f"{detail}")
    seen: list[str] = []
    for info in result.get("infos", []):  # type: ignore[union-attr]
        addr = info[4][0]
        if addr not in seen:
            seen.append(addr)
    return seen
