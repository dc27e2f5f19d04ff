"""The one bounded HTTP fetcher behind every network read: AIA (fix, probe), OCSP and CRLs.

Every byte fetched is untrusted (a pull request chooses the URLs in its certificates), so each
fetch is bounded the same way:
- ONE deadline per fetch (`timeout`, default 10 s) covering name resolution, connect, the
  request, the headers and the body, redirects included: a server that drips one header byte
  every few seconds is cut at the deadline, not at a per-read timeout;
- a run budget (`--network-budget`, default 60 s from the run's first fetch): later fetches are
  skipped with a message and no fetch runs past it;
- a size cap per kind (AIA and OCSP 64 KiB, CRLs 10 MiB) and a cap on the header block;
- http only, and redirects (at most 3) only to http: AIA, OCSP and CRL URLs are plain http by
  design (RFC 5280 4.2.2.1, RFC 6960), and Chromium fetches nothing else for them;
- a URL with control characters, spaces or no host is a bad URL (`step` "bad-url"), so the
  caller tries the next one;
- with `public_only` a host resolving to a private, loopback, link-local or reserved address is
  refused, and the connection goes to the very address that was checked (no second lookup);
- one request per URL (per URL and body for OCSP POST) per run, even from many threads: the
  answer, good or bad, is remembered.

Failures are `FetchError`s with the `step` that failed (bad-url, policy, budget, resolve,
connect, reset, timeout, http-status, too-large, protocol) and a one-line message, so rules can
say what a server or client would hit. Names resolve through given DNS resolvers (as nginx's
`resolver`) or the system resolver.
"""

from __future__ import annotations

import copy
import ipaddress
import os
import socket
import threading
import time
import urllib.parse
from dataclasses import dataclass, field

from certlint.pki.dnsquery import ResolveError, resolve_system, resolve_via

TIMEOUT = 10.0
BUDGET = 60.0
MAX_BYTES = 64 * 1024
MAX_CRL_BYTES = 10 * 1024 * 1024
MAX_HEADER_BYTES = 16 * 1024
MAX_REDIRECTS = 3
USER_AGENT = "certlint"
REDIRECTS = (301, 302, 303, 307, 308)


class FetchError(Exception):
    """A fetch that failed or was refused; `step` says where, the message says why."""

    def __init__(self, message: str, step: str = "protocol", url: str = ""):
        super().__init__(message)
        self.step = step
        self.url = url


@dataclass
class Answer:
    """A successful HTTP answer (2xx) after redirects."""

    url: str
    status: int
    headers: dict[str, str]
    body: bytes
    address: str = ""  # the address really connected to


def is_private(addr: str) -> bool:
    try:
        ip = ipaddress.ip_address(addr.split("%", 1)[0])
    except ValueError:
        return False
    return (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved
            or ip.is_unspecified or ip.is_multicast)


def bad_url_reason(url: str) -> str | None:
    """Why a URL cannot be fetched at all (None when it is a usable http URL)."""
    if not isinstance(url, str) or not url:
        return "empty URL"
    if any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in url):
        return "the URL holds control characters or spaces"
    if not url.isascii():
        return "the URL holds non-ASCII characters"
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"not a valid URL ({exc})"
    if parts.scheme.lower() != "http":
        return "only http URLs are fetched (AIA, OCSP and CRL URLs are http by design)"
    if not parts.hostname:
        return "no host in the URL"
    if port == 0:
        return "port 0"
    return None


def shown(url: str) -> str:
    """A URL safe to print: control characters escaped, long ones cut."""
    text = url if url.isprintable() and url.isascii() else \
        url.encode("unicode_escape", "backslashreplace").decode("ascii", "replace")
    return text if len(text) <= 200 else text[:200] + "..."


@dataclass
class _Slot:
    done: threading.Event = field(default_factory=threading.Event)
    answer: Answer | None = None
    error: FetchError | None = None


class Fetcher:
    """Fetches for one run: shared by AIA, OCSP and CRL checks, one request per URL."""

    def __init__(self, timeout: float = TIMEOUT, budget: float = BUDGET,
                 public_only: bool = False, resolvers: list[str] | None = None,
                 use_proxy: bool = True, offline: bool = False):
        self.timeout = timeout
        self.budget = budget
        self.public_only = public_only
        self.resolvers = list(resolvers or [])
        self.use_proxy = use_proxy and not public_only
        self.offline = offline
        self._lock = threading.Lock()
        self._slots: dict[tuple, _Slot] = {}
        self._shared = {"budget_end": None, "skipped": 0}  # also seen by via() views
        self.requests: list[str] = []  # URLs really requested over the network, in order

    @property
    def skipped_for_budget(self) -> int:
        return self._shared["skipped"]

    def via(self, resolvers: list[str]) -> Fetcher:
        """The same run (budget, memory of answers) with names resolved through these DNS
        resolvers, as a server with its own `resolver` setting does."""
        if list(resolvers) == self.resolvers:
            return self
        view = copy.copy(self)
        view.resolvers = list(resolvers)
        return view

    # -- the public calls ------------------------------------------------------------------

    def get(self, url: str, limit: int = MAX_BYTES) -> bytes:
        return self.request("GET", url, limit=limit).body

    def post(self, url: str, body: bytes, content_type: str, limit: int = MAX_BYTES) -> bytes:
        return self.request("POST", url, body=body, content_type=content_type, limit=limit).body

    def request(self, method: str, url: str, body: bytes = b"", content_type: str = "",
                limit: int = MAX_BYTES) -> Answer:
        """The answer for a URL, asked at most once per run; other threads asking for the same
        URL meanwhile wait for that one answer."""
        key = (method, url, body, tuple(self.resolvers))
        with self._lock:
            slot = self._slots.get(key)
            owner = slot is None
            if slot is None:
                slot = self._slots[key] = _Slot()
        if owner:
            try:
                slot.answer = self._fetch(method, url, body, content_type, limit)
            except FetchError as exc:
                slot.error = exc
            finally:
                slot.done.set()
        slot.done.wait()
        if slot.error is not None:
            raise slot.error
        assert slot.answer is not None
        return slot.answer

    # -- one fetch -------------------------------------------------------------------------

    def _deadline(self, url: str) -> float:
        now = time.monotonic()
        with self._lock:
            if self._shared["budget_end"] is None:
                self._shared["budget_end"] = now + self.budget
            end = self._shared["budget_end"]
        if now >= end:
            with self._lock:
                self._shared["skipped"] += 1
            raise FetchError(f"{shown(url)}: not fetched: the run's network budget of "
                             f"{self.budget:g} s is spent (--network-budget)", "budget", url)
        return min(now + self.timeout, end)

    def _fetch(self, method: str, url: str, body: bytes, content_type: str,
               limit: int) -> Answer:
        why = bad_url_reason(url)
        if why:
            raise FetchError(f"{shown(url)}: bad URL: {why}", "bad-url", url)
        if self.offline:
            raise FetchError(f"{shown(url)}: not fetched (--offline)", "policy", url)
        deadline = self._deadline(url)
        with self._lock:
            self.requests.append(url)
        current = url
        for _hop in range(MAX_REDIRECTS + 1):
            answer = self._once(method, current, body, content_type, limit, deadline)
            if answer.status not in REDIRECTS:
                if not 200 <= answer.status < 300:
                    raise FetchError(f"{shown(current)}: HTTP {answer.status} "
                                     f"{answer.headers.get(':reason', '')}".rstrip(),
                                     "http-status", url)
                return answer
            location = answer.headers.get("location", "")
            target = urllib.parse.urljoin(current, location)
            why = bad_url_reason(target) if location else "no Location header"
            if why:
                raise FetchError(f"{shown(current)}: redirect to {shown(target)} refused: {why}",
                                 "policy", url)
            if answer.status == 303 or (answer.status in (301, 302) and method == "POST"):
                method, body, content_type = "GET", b"", ""
            current = target
        raise FetchError(f"{shown(url)}: more than {MAX_REDIRECTS} redirects", "protocol", url)

    def _addresses(self, host: str, port: int, deadline: float, url: str) -> list[str]:
        try:
            ipaddress.ip_address(host)
            return [host]
        except ValueError:
            pass
        try:
            if self.resolvers:
                return resolve_via(host, self.resolvers, deadline)
            return resolve_system(host, port, deadline)
        except ResolveError as exc:
            raise FetchError(f"{shown(url)}: {exc}", "resolve", url) from None

    def _proxy(self, host: str) -> tuple[str, int] | None:
        if not self.use_proxy:
            return None
        import urllib.request  # proxies only: the module pulls in http.client and ssl

        proxy = urllib.request.getproxies_environment().get("http")
        if not proxy or urllib.request.proxy_bypass_environment(host):
            return None
        try:
            parts = urllib.parse.urlsplit(proxy if "//" in proxy else "http://" + proxy)
            return (parts.hostname, parts.port or 80) if parts.hostname else None
        except ValueError:
            return None

    def _once(self, method: str, url: str, body: bytes, content_type: str, limit: int,
              deadline: float) -> Answer:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or 80
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        proxy = None if host == "localhost" or _is_ip_loopback(host) else self._proxy(host)
        if proxy is not None:
            target, connect_port, request_target = proxy[0], proxy[1], url
        else:
            target, connect_port, request_target = host, port, path
        addresses = self._addresses(target, connect_port, deadline, url)
        if self.public_only:
            private = [a for a in addresses if is_private(a)]
            if private:
                where = (f"{private[0]} is a private or loopback address" if private[0] == host
                         else f"{host} resolves to the private or loopback address {private[0]}")
                raise FetchError(f"{shown(url)}: {where}: refused (--aia-public-only)",
                                 "policy", url)
        hostport = host if port == 80 else f"{host}:{port}"
        if ":" in host and port == 80:
            hostport = f"[{host}]"
        elif ":" in host:
            hostport = f"[{host}]:{port}"
        head = [f"{method} {request_target} HTTP/1.0", f"Host: {hostport}",
                f"User-Agent: {USER_AGENT}", "Accept: */*", "Connection: close"]
        if method == "POST":
            head += [f"Content-Type: {content_type}", f"Content-Length: {len(body)}"]
        request = ("\r\n".join(head) + "\r\n\r\n").encode("ascii") + (body if method == "POST"
                                                                       else b"")
        sock, address = self._connect(addresses, connect_port, deadline, url)
        try:
            _send(sock, request, deadline, url, self.timeout)
            return _read_answer(sock, url, limit, deadline, self.timeout, address)
        finally:
            sock.close()

    def _connect(self, addresses: list[str], port: int, deadline: float, url: str):
        reasons = []
        for address in addresses:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.settimeout(left)
            try:
                sock.connect((address, port))
                return sock, address
            except TimeoutError:
                sock.close()
                raise FetchError(f"{shown(url)}: connecting to {_hp(address, port)} timed out "
                                 f"(no answer within {self.timeout:g} s)", "timeout",
                                 url) from None
            except ConnectionRefusedError:
                reasons.append(f"connection to {_hp(address, port)} refused (nothing listens)")
            except ConnectionResetError:
                reasons.append(f"connection to {_hp(address, port)} reset")
            except OSError as exc:
                reasons.append(f"cannot connect to {_hp(address, port)}: "
                               f"{exc.strerror or exc.__class__.__name__}")
            sock.close()
        if not reasons:
            raise FetchError(f"{shown(url)}: no complete answer within {self.timeout:g} s",
                             "timeout", url)
        step = "reset" if all("reset" in r for r in reasons) else "connect"
        raise FetchError(f"{shown(url)}: " + "; ".join(reasons), step, url)


def _hp(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def _is_ip_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _timed_out(url: str, timeout: float) -> FetchError:
    return FetchError(f"{shown(url)}: no complete answer within {timeout:g} s", "timeout", url)


def _send(sock: socket.socket, data: bytes, deadline: float, url: str, timeout: float) -> None:
    view = memoryview(data)
    while view:
        left = deadline - time.monotonic()
        if left <= 0:
            raise _timed_out(url, timeout)
        sock.settimeout(left)
        try:
            sent = sock.send(view)
        except TimeoutError:
            raise _timed_out(url, timeout) from None
        except (ConnectionResetError, BrokenPipeError):
            raise FetchError(f"{shown(url)}: the connection was reset while sending the request",
                             "reset", url) from None
        except OSError as exc:
            raise FetchError(f"{shown(url)}: {exc.strerror or exc}", "connect", url) from None
        view = view[sent:]


def _read_answer(sock: socket.socket, url: str, limit: int, deadline: float, timeout: float,
                 address: str) -> Answer:
    buf = bytearray()
    headers: dict[str, str] | None = None
    status = 0
    body_start = 0
    length: int | None = None
    while True:
        if headers is not None:
            if length is not None and len(buf) - body_start >= length:
                break
            if len(buf) - body_start > limit:
                raise FetchError(f"{shown(url)}: response larger than {_size(limit)}",
                                 "too-large", url)
        left = deadline - time.monotonic()
        if left <= 0:
            raise _timed_out(url, timeout)
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            raise _timed_out(url, timeout) from None
        except ConnectionResetError:
            raise FetchError(f"{shown(url)}: the connection was reset by {address} "
                             "(a firewall or the server dropped it)", "reset", url) from None
        except OSError as exc:
            raise FetchError(f"{shown(url)}: {exc.strerror or exc}", "reset", url) from None
        if not chunk:
            if headers is None:
                what = "closed the connection without an answer" if not buf else \
                    "closed the connection in the middle of the headers"
                raise FetchError(f"{shown(url)}: the server {what}", "reset", url)
            break
        buf += chunk
        if headers is None:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                if len(buf) > MAX_HEADER_BYTES:
                    raise FetchError(f"{shown(url)}: response headers larger than "
                                     f"{_size(MAX_HEADER_BYTES)}", "too-large", url)
                continue
            status, headers = _parse_head(bytes(buf[:end]), url)
            body_start = end + 4
            if status in REDIRECTS:
                break
            try:
                length = int(headers["content-length"]) if "content-length" in headers else None
            except ValueError:
                raise FetchError(f"{shown(url)}: bad Content-Length", "protocol", url) from None
            if length is not None and length > limit:
                raise FetchError(f"{shown(url)}: response larger than {_size(limit)} "
                                 f"(Content-Length {length})", "too-large", url)
    assert headers is not None
    body = bytes(buf[body_start:])
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = _dechunk(body, url)
    if length is not None and status not in REDIRECTS:
        if len(body) < length:
            raise FetchError(f"{shown(url)}: the answer was cut off ({len(body)} of {length} "
                             "bytes)", "reset", url)
        body = body[:length]
    if len(body) > limit:
        raise FetchError(f"{shown(url)}: response larger than {_size(limit)}", "too-large", url)
    return Answer(url, status, headers, body, address)


def _parse_head(head: bytes, url: str) -> tuple[int, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    first = lines[0].split(" ", 2)
    if len(first) < 2 or not first[0].startswith("HTTP/") or not first[1].isdigit():
        raise FetchError(f"{shown(url)}: the server did not answer HTTP", "protocol", url)
    headers = {":reason": "".join(ch for ch in (first[2] if len(first) > 2 else "")
                                  if ch.isprintable())[:60]}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return int(first[1]), headers


def _dechunk(data: bytes, url: str) -> bytes:
    out = bytearray()
    pos = 0
    while True:
        end = data.find(b"\r\n", pos)
        if end < 0:
            raise FetchError(f"{shown(url)}: bad chunked encoding", "protocol", url)
        try:
            size = int(data[pos:end].split(b";")[0], 16)
        except ValueError:
            raise FetchError(f"{shown(url)}: bad chunked encoding", "protocol", url) from None
        if size == 0:
            return bytes(out)
        out += data[end + 2:end + 2 + size]
        pos = end + 2 + size + 2


def _size(n: int) -> str:
    return f"{n // (1024 * 1024)} MiB" if n >= 1024 * 1024 else f"{n // 1024} KiB"


def network_defaults() -> bool:
    """`--aia-public-only` is the default in CI (the CI variable set): a pull request must not
    make the job send requests inside its network."""
    return bool(os.environ.get("CI"))
