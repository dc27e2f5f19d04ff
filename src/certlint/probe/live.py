"""Live handshakes with pyOpenSSL: the chain exactly as served, and the stapled OCSP response.

The standard library's `ssl` module gives neither before Python 3.13 (`getpeercert` returns the
leaf only; there is no status_request), so certlint uses pyOpenSSL, from the maintainers of
`cryptography`. Nothing is verified during the handshake (certlint judges the chain itself), but
OpenSSL still checks the server's handshake signature against the first certificate, so a
completed handshake proves the server holds that certificate's key.

A dual-certificate server is asked twice: once preferring ECDSA (RSA still offered), once
offering only RSA (TLS 1.2 aRSA suites and, for TLS 1.3, RSA signature algorithms only).
"""

from __future__ import annotations

import select
import socket
import time
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from OpenSSL import SSL

from certlint.model import ServedChain
from certlint.pki.revocation import ocsp_urls
from certlint.pki.verify import cert_spki
from certlint.probe.targets import Target

ECDSA_FIRST = (b"ECDSA+SHA256:ECDSA+SHA384:ECDSA+SHA512:ed25519:ed448:rsa_pss_rsae_sha256:"
               b"rsa_pss_rsae_sha384:rsa_pss_rsae_sha512:RSA+SHA256:RSA+SHA384:RSA+SHA512")
RSA_ONLY = (b"rsa_pss_rsae_sha256:rsa_pss_rsae_sha384:rsa_pss_rsae_sha512:RSA+SHA256:"
            b"RSA+SHA384:RSA+SHA512")
STAPLE_RETRY_PAUSE = 0.5  # seconds before asking once more for a staple
MAX_CHAIN = 64  # certificates kept from one handshake (a server sending thousands is hostile)


@dataclass
class Unreachable(Exception):
    """The endpoint could not be reached or the handshake did not complete: `step` is
    "resolve", "connect", "timeout" or "handshake"; `detail` the socket error or TLS alert."""

    step: str
    detail: str

    def __str__(self) -> str:
        return self.detail


def key_type(public_key) -> str:
    if isinstance(public_key, rsa.RSAPublicKey):
        return "RSA"
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return "ECDSA"
    if isinstance(public_key, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)):
        return "EdDSA"
    return public_key.__class__.__name__.replace("PublicKey", "").lstrip("_")


def _set_sigalgs(ctx: SSL.Context, sigalgs: bytes) -> None:
    """The signature algorithms offered (what makes a TLS 1.3 server pick its certificate).
    pyOpenSSL has no public call for it; cryptography's OpenSSL binding has it."""
    from OpenSSL._util import lib

    if getattr(lib, "Cryptography_HAS_SIGALGS", False):
        lib.SSL_CTX_set1_sigalgs_list(ctx._context, sigalgs)


def _context(rsa_only: bool, staple: list) -> SSL.Context:
    ctx = SSL.Context(SSL.TLS_CLIENT_METHOD)
    ctx.set_verify(SSL.VERIFY_NONE, lambda *a: True)
    ctx.set_min_proto_version(SSL.TLS1_VERSION)
    if rsa_only:
        ctx.set_cipher_list(b"aRSA:!aNULL:!eNULL:@SECLEVEL=0")
        _set_sigalgs(ctx, RSA_ONLY)
    else:
        ctx.set_cipher_list(b"DEFAULT:!aNULL:!eNULL:@SECLEVEL=0")
        _set_sigalgs(ctx, ECDSA_FIRST)

    def on_status(_conn, data: bytes, _arg) -> bool:
        staple.append(bytes(data) if data else None)
        return True  # judged later (staple-invalid), never a reason to abort the handshake

    ctx.set_ocsp_client_callback(on_status)
    return ctx


def _connect(host: str, port: int, deadline: float) -> socket.socket:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise Unreachable("resolve", f"{host} does not resolve ({exc.strerror or exc})") from exc
    except UnicodeError as exc:
        raise Unreachable("resolve", f"{host} is not a valid host name") from exc
    last: Exception | None = None
    for family, kind, proto, _name, address in infos:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        sock = socket.socket(family, kind, proto)
        sock.settimeout(left)
        try:
            sock.connect(address)
            return sock
        except OSError as exc:
            sock.close()
            last = exc
    if isinstance(last, TimeoutError) or (last is None and time.monotonic() >= deadline):
        raise Unreachable("timeout", f"no TCP connection to {host} port {port} within the "
                          "timeout")
    reason = getattr(last, "strerror", None) or str(last)
    raise Unreachable("connect", f"TCP connection to {host} port {port} failed ({reason})")


def _tls_error(exc: Exception) -> str:
    if isinstance(exc, SSL.SysCallError):
        return ("the server closed the connection during the TLS handshake (no TLS on this "
                "port, or the server refused the client hello)")
    if isinstance(exc, SSL.ZeroReturnError):
        return "the server closed the TLS connection during the handshake"
    parts = []
    for item in getattr(exc, "args", [()])[0] or []:
        if isinstance(item, tuple) and len(item) == 3:
            parts.append(str(item[2]))
    return "TLS handshake failed: " + ("; ".join(parts) if parts else str(exc))


def handshake(target: Target, connect: tuple[str, int] | None = None, timeout: float = 10.0,
              rsa_only: bool = False) -> tuple[ServedChain, str | None]:
    """One handshake with `target` (SNI and names from the target, TCP to `connect` when set):
    the chain and the address connected to; raises `Unreachable`."""
    deadline = time.monotonic() + timeout
    host, port = connect or (target.name, target.port)
    sock = _connect(host, port, deadline)
    try:
        address = str(sock.getpeername()[0])
    except OSError:
        address = None
    staple: list = []
    try:
        conn = SSL.Connection(_context(rsa_only, staple), sock)
        if not target.is_ip:
            conn.set_tlsext_host_name(target.name.encode("idna"))
        conn.request_ocsp()
        conn.set_connect_state()
        sock.setblocking(False)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Unreachable("timeout", f"the TLS handshake with {host} port {port} did "
                                  "not complete within the timeout")
            try:
                conn.do_handshake()
                break
            except SSL.WantReadError:
                select.select([sock], [], [], left)
            except SSL.WantWriteError:
                select.select([], [sock], [], left)
            except SSL.Error as exc:
                raise Unreachable("handshake", _tls_error(exc)) from exc
        certs = conn.get_peer_cert_chain(as_cryptography=True) or []
        if not certs:
            raise Unreachable("handshake", "the server sent no certificate")
        certs = list(certs)[:MAX_CHAIN]
        return ServedChain(certs=certs, source="endpoint", key_spki=cert_spki(certs[0]),
                           staple=staple[0] if staple else None, staple_seen=True,
                           key_type=key_type(certs[0].public_key()),
                           tls_version=conn.get_protocol_version_name()), address
    finally:
        sock.close()


def probe_endpoint(target: Target, connect: tuple[str, int] | None = None,
                   timeout: float = 10.0) -> tuple[list[ServedChain], str | None]:
    """Every distinct chain the endpoint serves (ECDSA-preferring handshake, then RSA-only when
    the first was not RSA), the address connected to; raises `Unreachable` when the first
    handshake fails."""
    first, address = handshake(target, connect, timeout)
    if first.staple is None and ocsp_urls(first.certs[0]):
        # nginx staples lazily: the handshake that found no staple made it fetch one
        time.sleep(STAPLE_RETRY_PAUSE)
        try:
            again, _ = handshake(target, connect, timeout)
            if again.staple is not None and again.certs == first.certs:
                first = again
        except Unreachable:
            pass
    chains = [first]
    if first.key_type != "RSA":
        try:
            chains.append(handshake(target, connect, timeout, rsa_only=True)[0])
        except Unreachable:
            pass  # no RSA certificate: a choice, not a fault
    return chains, address
