"""A loopback DNS server for tests: dnsmasq on 127.0.0.1:PORT answering fixed names only.

No upstream servers, no /etc/hosts, no system config: `--address=/NAME/IP` entries are all it
knows. Used as nginx's `resolver 127.0.0.1:PORT` so OCSP responder names resolve to loopback.
"""

from __future__ import annotations

import os
import random
import socket
import struct
import subprocess
import time

from tests.support.servers import require, terminate


class Dnsmasq:
    """`dnsmasq -k` in the foreground; `addresses` maps a name (and its subdomains) to an IP."""

    def __init__(self, port: int, addresses: dict[str, str]):
        self.port = port
        self.addresses = addresses
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 10.0) -> Dnsmasq:
        binary = require("dnsmasq")
        cmd = [binary, "-k", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
               "--no-poll", "--pid-file=", "--bind-interfaces", "--listen-address=127.0.0.1",
               f"--port={self.port}", "--log-facility=-", "--cache-size=0"]
        if os.geteuid() == 0:
            cmd.append("--user=root")  # no privilege drop needed on loopback high ports
        for name, ip in self.addresses.items():
            # --local: other record types (AAAA) get NODATA instead of REFUSED (no upstream),
            # which nginx's resolver needs to accept the A answer
            cmd += [f"--address=/{name}/{ip}", f"--local=/{name}/"]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        name = next(iter(self.addresses))
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dnsmasq exited: {self.output()}")
            if query_a(self.port, name, timeout=0.3):
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("dnsmasq did not answer")

    def output(self) -> str:
        if self.proc is None or self.proc.stdout is None:
            return ""
        if self.proc.poll() is None:
            return ""
        return self.proc.stdout.read().decode(errors="replace")

    def stop(self) -> None:
        terminate(self.proc, timeout=5)
        self.proc = None

    def __enter__(self) -> Dnsmasq:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def query_a(port: int, name: str, timeout: float = 2.0) -> list[str]:
    """The IPv4 addresses 127.0.0.1:port answers for `name` (a minimal DNS client)."""
    qid = random.randint(0, 0xFFFF)
    qname = b"".join(bytes([len(p)]) + p.encode() for p in name.strip(".").split(".")) + b"\0"
    packet = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + qname + struct.pack(">HH", 1, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        try:
            s.sendto(packet, ("127.0.0.1", port))
            data, _ = s.recvfrom(4096)
        except OSError:
            return []
    if len(data) < 12 or struct.unpack(">H", data[:2])[0] != qid:
        return []
    answers = struct.unpack(">H", data[6:8])[0]
    pos = 12 + len(qname) + 4
    out = []
    for _ in range(answers):
        if data[pos] & 0xC0 == 0xC0:
            pos += 2
        else:
            while data[pos]:
                pos += data[pos] + 1
            pos += 1
        rtype, _cls, _ttl, rdlen = struct.unpack(">HHIH", data[pos:pos + 10])
        pos += 10
        if rtype == 1 and rdlen == 4:
            out.append(socket.inet_ntoa(data[pos:pos + 4]))
        pos += rdlen
    return out
