"""AIA chain completion: fetch missing intermediates from caIssuers URLs, and trust none of them.

From a leaf, each step looks for the certificate that issued the current one: first among the
certificates already at hand (the served file, `--intermediates DIR`), then at the current
certificate's caIssuers URLs (at most 5 tried, like browsers). It stops when a trust anchor
(certifi + `--ca-bundle`) issued the current certificate; the anchor itself is never part of the
result. A candidate is accepted only when its subject is the child's issuer name AND its key
verifies the child's signature: a server handing out some other CA's certificate gets nothing.

Responses may be DER, PEM or PKCS#7 certs-only (`.p7c`), the formats CAs really serve (RFC 5280
4.2.2.1 and what Chromium and Apple accept); from a bundle, the certificate that really signed
the child is taken, a CA certificate valid now preferred. Each distinct URL is requested at most
once per run; responses are kept in an on-disk cache (CERTLINT_CACHE_DIR, else the user cache
folder), re-verified on every use like any fetched bytes, and refreshed from the CA when they no
longer verify. Fetching is bounded: 64 KiB, 10 s in total, http/https only (redirects too),
a depth limit. Private and loopback hosts are allowed (internal CAs publish there); with
`--aia-public-only` they are refused, checked on the address really connected to.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import http.client
import ipaddress
import os
import socket
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs7

from certlint.pki.chain import describe, valid_at
from certlint.pki.load import parse_cert_bytes, read_file
from certlint.pki.trust import TrustStore
from certlint.pki.verify import fingerprint, is_self_signed, issued_by

MAX_BYTES = 64 * 1024
TIMEOUT = 10.0
MAX_URLS_PER_CERT = 5
MAX_DEPTH = 8
SCHEMES = ("http", "https")
USER_AGENT = "certlint (AIA chain completion)"


def cache_dir() -> str:
    """Where fetched AIA responses are kept: CERTLINT_CACHE_DIR, else the user cache folder."""
    override = os.environ.get("CERTLINT_CACHE_DIR")
    if override:
        return override
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or os.path.expanduser("~\\AppData\\Local")
    elif sys.platform == "darwin":
        base = os.path.expanduser("~/Library/Caches")
    else:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return os.path.join(base, "certlint", "aia")


def ca_issuer_urls(cert: x509.Certificate) -> list[str]:
    """The caIssuers URLs of a certificate's AIA extension, in order."""
    try:
        aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    except (x509.ExtensionNotFound, ValueError):
        return []
    return [d.access_location.value for d in aia
            if d.access_method == x509.oid.AuthorityInformationAccessOID.CA_ISSUERS
            and isinstance(d.access_location, x509.UniformResourceIdentifier)]


def parse_response(data: bytes) -> list[x509.Certificate]:
    """Certificates in an AIA response: DER, PKCS#7 certs-only (DER or PEM), PEM, bare base64."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for loader in (lambda d: [x509.load_der_x509_certificate(d)],
                       pkcs7.load_der_pkcs7_certificates,
                       pkcs7.load_pem_pkcs7_certificates,
                       x509.load_pem_x509_certificates):
            try:
                certs = loader(data)
            except (ValueError, TypeError):
                continue
            if certs:
                return list(certs)
        try:
            raw = base64.b64decode(b"".join(data.split()), validate=True)
        except (binascii.Error, ValueError):
            return []
        if raw and raw != data:
            return parse_response(raw) if not raw.strip().startswith(b"-----") else []
    return []


def host_is_private(host: str) -> bool:
    """Does the host name or address lead to a private, loopback or link-local address?"""
    try:
        infos = socket.getaddrinfo(host, None)
    except (OSError, UnicodeError):
        return False  # unresolvable: the fetch fails on its own
    for info in infos:
        try:
            addr = ipaddress.ip_address(info[4][0].split("%", 1)[0])
        except ValueError:
            continue
        if (addr.is_private or addr.is_loopback or addr.is_link_local or addr.is_reserved
                or addr.is_unspecified or addr.is_multicast):
            return True
    return False


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class FetchRefused(Exception):
    """A URL certlint will not fetch, or whose answer is unusable: a one-line reason."""


class _SameSchemeRedirects(urllib.request.HTTPRedirectHandler):
    """Follow redirects only to http/https (and, with --aia-public-only, to public hosts)."""

    def __init__(self, public_only: bool):
        self.public_only = public_only

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        check_url(newurl, self.public_only)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _refuse_private_peer(sock, host: str) -> None:
    peer = sock.getpeername()[0]
    try:
        addr = ipaddress.ip_address(peer.split("%", 1)[0])
    except ValueError:
        return
    if (addr.is_private or addr.is_loopback or addr.is_link_local or addr.is_reserved
            or addr.is_unspecified or addr.is_multicast):
        sock.close()
        raise FetchRefused(f"{host} connected to the private address {peer}: refused "
                           "(--aia-public-only)")


class _PublicHTTPConnection(http.client.HTTPConnection):
    def connect(self):
        super().connect()
        _refuse_private_peer(self.sock, self.host)


class _PublicHTTPSConnection(http.client.HTTPSConnection):
    def connect(self):
        # the TCP connection is checked before any TLS handshake or request goes out
        http.client.HTTPConnection.connect(self)
        _refuse_private_peer(self.sock, self.host)
        server_hostname = self._tunnel_host or self.host
        self.sock = self._context.wrap_socket(self.sock, server_hostname=server_hostname)


class _PublicHTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req):
        return self.do_open(_PublicHTTPConnection, req)


class _PublicHTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req):
        import ssl

        return self.do_open(_PublicHTTPSConnection, req, context=ssl.create_default_context())


def check_url(url: str, public_only: bool) -> None:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme.lower() not in SCHEMES:
        raise FetchRefused(f"{url}: only http and https URLs are fetched")
    if not parts.hostname:
        raise FetchRefused(f"{url}: no host in the URL")
    if public_only and host_is_private(parts.hostname):
        raise FetchRefused(f"{url}: private or loopback host refused (--aia-public-only)")


def http_get(url: str, public_only: bool = False, timeout: float | None = None,
             limit: int = MAX_BYTES) -> bytes:
    """GET a URL within the limits; FetchRefused with a plain reason on any failure."""
    timeout = TIMEOUT if timeout is None else timeout
    check_url(url, public_only)
    handlers: list = [_SameSchemeRedirects(public_only)]
    if public_only:
        # check the address really connected to, not only what DNS said a moment earlier
        handlers += [_PublicHTTPHandler(), _PublicHTTPSHandler(), urllib.request.ProxyHandler({})]
    elif _is_loopback(urllib.parse.urlsplit(url).hostname or ""):
        handlers.append(urllib.request.ProxyHandler({}))  # never send loopback via a proxy
    opener = urllib.request.build_opener(*handlers)
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    deadline = time.monotonic() + timeout
    try:
        with opener.open(request, timeout=timeout) as response:
            chunks: list[bytes] = []
            size = 0
            read = getattr(response, "read1", response.read)  # read1: whatever has arrived
            while size <= limit:
                chunk = read(min(8192, limit + 1 - size))
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
                if time.monotonic() > deadline:
                    raise FetchRefused(f"{url}: no complete answer within {timeout:g} s")
            data = b"".join(chunks)
    except FetchRefused:
        raise
    except urllib.error.HTTPError as exc:
        raise FetchRefused(f"{url}: HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise FetchRefused(f"{url}: {exc.reason}") from None
    except TimeoutError:
        raise FetchRefused(f"{url}: no answer within {timeout:g} s") from None
    except (OSError, ValueError) as exc:
        raise FetchRefused(f"{url}: {exc.__class__.__name__}: {exc}") from None
    if len(data) > limit:
        raise FetchRefused(f"{url}: response larger than {limit // 1024} KiB")
    return data


@dataclass
class Completion:
    """The issuing path found for a leaf: intermediates leaf-upward, the anchor, or why not."""

    intermediates: list[x509.Certificate] = field(default_factory=list)
    anchor: x509.Certificate | None = None
    problem: str | None = None
    fetched: list[str] = field(default_factory=list)  # URLs whose answer was used
    origins: list[str] = field(default_factory=list)  # where each intermediate came from

    @property
    def ok(self) -> bool:
        return self.problem is None and self.anchor is not None


class AiaFetcher:
    """Builds issuing paths for one run; shares responses across all sites of the run."""

    def __init__(self, trust: TrustStore, now: dt.datetime | None = None, offline: bool = False,
                 intermediates: list[str] | None = None, public_only: bool = False,
                 use_cache: bool = True, get=http_get):
        self.trust = trust
        self.now = now or dt.datetime.now(dt.timezone.utc)
        self.offline = offline
        self.public_only = public_only
        self.use_cache = use_cache
        self._get = get
        self._responses: dict[str, tuple[bytes | None, str | None]] = {}
        self._from_cache: set[str] = set()  # URLs whose answer this run came from the disk cache
        self.requests: list[str] = []  # URLs really requested over the network, in order
        self.local: list[x509.Certificate] = []
        self.local_origin: dict[bytes, str] = {}  # fingerprint -> "--intermediates DIR/NAME"
        self.errors: list[str] = []  # problems with --intermediates folders
        for folder in intermediates or []:
            self._load_folder(folder)

    @classmethod
    def from_options(cls, trust: TrustStore, options) -> AiaFetcher:
        return cls(trust, now=options.now, offline=options.offline,
                   intermediates=options.intermediates, public_only=options.aia_public_only,
                   use_cache=options.use_cache)

    # -- local certificates ----------------------------------------------------------------

    def _load_folder(self, folder: str) -> None:
        if not os.path.isdir(folder):
            self.errors.append(f"--intermediates {folder}: not a folder")
            return
        for name in sorted(os.listdir(folder)):
            path = os.path.join(folder, name)
            if not os.path.isfile(path):
                continue
            data, _problem = read_file(path)
            if data is None:
                continue
            loaded = parse_cert_bytes(path, data)
            certs = loaded.certs if loaded.certs else parse_response(data)
            self.local.extend(certs)
            for cert in certs:
                self.local_origin.setdefault(fingerprint(cert), f"--intermediates {path}")

    # -- path building ---------------------------------------------------------------------

    def complete(self, leaf: x509.Certificate,
                 have: list[x509.Certificate] | None = None,
                 labels: dict[bytes, str] | None = None) -> Completion:
        """The path from `leaf` to a trust anchor, from `have`, local folders, then AIA.

        `labels` says where certificates of `have` came from (fingerprint -> words); the
        completion's `origins` says it for every intermediate it uses."""
        result = Completion()
        labels = dict(labels or {})
        pool = list(have or []) + self.local
        seen = {fingerprint(leaf)}
        current = leaf
        for _depth in range(MAX_DEPTH + 1):
            anchors = self.trust.issuers_of(current)
            if anchors:
                valid = [a for a in anchors if valid_at(a, self.now)]
                result.anchor = (valid or anchors)[0]
                return result
            if is_self_signed(current):
                result.problem = (f"the path ends at the self-signed {describe(current)}, which "
                                  "is not a trusted root (pass it with --ca-bundle if clients "
                                  "trust it)")
                return result
            if len(result.intermediates) >= MAX_DEPTH:
                break
            issuer = self._pick([c for c in pool if fingerprint(c) not in seen
                                 and issued_by(current, c)])
            origin = None if issuer is None else (labels.get(fingerprint(issuer))
                                                  or self.local_origin.get(fingerprint(issuer)))
            if issuer is None or not valid_at(issuer, self.now):
                fetched, problem = self._fetch_issuer(current, seen, result)
                if fetched is not None and (issuer is None or valid_at(fetched, self.now)):
                    issuer = fetched
                    origin = f"AIA {result.fetched[-1]}"
                if issuer is None:
                    result.problem = problem
                    return result
            if not valid_at(issuer, self.now):
                when = (f"expired on {issuer.not_valid_after_utc:%Y-%m-%d}"
                        if issuer.not_valid_after_utc < self.now
                        else f"is valid only from {issuer.not_valid_before_utc:%Y-%m-%d}")
                result.problem = (f"the only issuer found for {describe(current)}, "
                                  f"{describe(issuer)}, {when}; clients would reject the chain")
                return result
            if self.trust.contains(issuer):
                result.anchor = issuer  # a cross-signed anchor: the path is trusted here
                return result
            seen.add(fingerprint(issuer))
            result.intermediates.append(issuer)
            result.origins.append(origin or "the served chain")
            current = issuer
        result.problem = f"no trusted root within {MAX_DEPTH} intermediates"
        return result

    def _pick(self, candidates: list[x509.Certificate]) -> x509.Certificate | None:
        """Prefer an issuer that is valid now and is itself issued by a trust anchor."""
        candidates = [c for c in candidates if _is_ca(c)]
        if not candidates:
            return None
        return sorted(candidates, key=lambda c: (not valid_at(c, self.now),
                                                 not self.trust.issuers_of(c)))[0]

    def _fetch_issuer(self, child: x509.Certificate, seen: set[bytes], result: Completion):
        urls = ca_issuer_urls(child)
        what = f"the issuer {_name(child.issuer)} of {describe(child)}"
        if not urls:
            return None, f"{what} is not at hand and the certificate has no AIA caIssuers URL"
        if self.offline:
            return None, (f"{what} is not at hand and --offline forbids fetching it from "
                          f"{urls[0]} (add it with --intermediates DIR)")
        reasons = []
        for url in urls[:MAX_URLS_PER_CERT]:
            issuer, problem = self._issuer_from(url, child, seen)
            if issuer is None and url in self._from_cache:
                # a stale or tampered cache entry: ask the CA itself (still once per run)
                issuer, problem = self._issuer_from(url, child, seen, fresh=True)
            elif (issuer is not None and url in self._from_cache
                  and not valid_at(issuer, self.now)):
                renewed, _ = self._issuer_from(url, child, seen, fresh=True)
                issuer = renewed or issuer
            if issuer is None:
                reasons.append(problem)
                continue
            result.fetched.append(url)
            return issuer, None
        return None, f"cannot fetch {what}: " + "; ".join(reasons)

    def _issuer_from(self, url: str, child: x509.Certificate, seen: set[bytes],
                     fresh: bool = False):
        data, problem = self.fetch(url, fresh=fresh)
        if data is None:
            return None, problem
        certs = parse_response(data)
        if not certs:
            return None, f"{url}: not a certificate (DER, PEM or PKCS#7 expected)"
        good = [c for c in certs if fingerprint(c) not in seen and issued_by(child, c)]
        issuer = self._pick(good)
        if issuer is None and good:
            return None, (f"{url}: served {describe(good[0])}, which signed "
                          f"{describe(child)} but is not a CA certificate (refused)")
        if issuer is None:
            names = ", ".join(describe(c) for c in certs[:3])
            return None, (f"{url}: served {names}, which did not issue {describe(child)} "
                          "(refused)")
        return issuer, None

    # -- the network, once per URL ---------------------------------------------------------

    def fetch(self, url: str, fresh: bool = False) -> tuple[bytes | None, str | None]:
        """The response body for a URL: memory, then disk cache, then one request per run.

        `fresh` skips the disk cache (its entry did not verify); the network is still asked at
        most once per URL per run."""
        if url in self._responses and not (fresh and url in self._from_cache):
            return self._responses[url]
        answer: tuple[bytes | None, str | None]
        cached = None if fresh else self._cache_read(url)
        if cached is not None and parse_response(cached):
            answer = (cached, None)
            self._from_cache.add(url)
        else:
            self._from_cache.discard(url)
            self.requests.append(url)
            try:
                data = self._get(url, public_only=self.public_only)
                answer = (data, None)
                if parse_response(data):
                    self._cache_write(url, data)
            except FetchRefused as exc:
                answer = (None, str(exc))
        self._responses[url] = answer
        return answer

    def _cache_path(self, url: str) -> str:
        return os.path.join(cache_dir(), hashlib.sha256(url.encode()).hexdigest() + ".bin")

    def _cache_read(self, url: str) -> bytes | None:
        if not self.use_cache:
            return None
        data, _problem = read_file(self._cache_path(url))
        if data is None or len(data) > MAX_BYTES:
            return None
        return data

    def _cache_write(self, url: str, data: bytes) -> None:
        if not self.use_cache:
            return
        path = self._cache_path(url)
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            tmp = f"{path}.{os.getpid()}.tmp"
            with open(tmp, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except OSError:
            pass  # a cache that cannot be written only costs a request next time


def _is_ca(cert: x509.Certificate) -> bool:
    """Only a CA certificate can be an intermediate (clients: 'invalid CA certificate')."""
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return cert.version == x509.Version.v1  # old v1 CA certificates carry no extensions
    except ValueError:
        return False


def _name(n: x509.Name) -> str:
    return f"'{n.rfc4514_string()}'"
