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
longer verify. The cache folder is certlint's own: entries are written through `mkstemp`
(O_EXCL|O_NOFOLLOW) and renamed into place, read without following links, and a folder other
users may write to is not used (a notice says so). The network goes through the run's bounded
fetcher (`certlint.pki.fetch`): 64 KiB, one 10 s deadline per fetch, http only (redirects too),
the run's `--network-budget`. Private and loopback hosts are allowed outside CI (internal CAs
publish there); with `--aia-public-only` (the default when CI is set) they are refused, checked
on the address really connected to.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import os
import socket
import stat
import tempfile
import warnings
from dataclasses import dataclass, field

from cryptography import x509

from certlint.pki.chain import describe, valid_at
from certlint.pki.fetch import Fetcher, FetchError, is_private
from certlint.pki.load import parse_cert_bytes, read_file
from certlint.pki.revocation import ca_issuer_urls
from certlint.pki.trust import TrustStore
from certlint.pki.verify import fingerprint, is_self_signed, issued_by
from certlint.userdirs import cache_folder

MAX_BYTES = 64 * 1024
TIMEOUT = 10.0  # per fetch, connect + headers + body (the fetcher's deadline)
MAX_URLS_PER_CERT = 5
MAX_SEARCH_STEPS = 64  # issuers tried in one completion (cross-signs branch)
MAX_DEPTH = 8


def cache_dir() -> str:
    """Where fetched AIA responses are kept: CERTLINT_CACHE_DIR, else the user cache folder."""
    return cache_folder("aia", override_holds_it=False)


def parse_response(data: bytes) -> list[x509.Certificate]:
    """Certificates in an AIA response: DER, PKCS#7 certs-only (DER or PEM), PEM, bare base64."""
    from cryptography.hazmat.primitives.serialization import pkcs7  # imports `email`

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


FetchRefused = FetchError  # the name fix's callers know


def host_is_private(host: str) -> bool:
    """Does the host name or address lead to a private, loopback or link-local address?"""
    try:
        infos = socket.getaddrinfo(host, None)
    except (OSError, UnicodeError):
        return False  # unresolvable: the fetch fails on its own
    return any(is_private(info[4][0]) for info in infos)


@dataclass
class Completion:
    """The issuing path found for a leaf: intermediates leaf-upward, the anchor, or why not."""

    intermediates: list[x509.Certificate] = field(default_factory=list)
    anchor: x509.Certificate | None = None
    problem: str | None = None
    fetched: list[str] = field(default_factory=list)  # URLs whose answer was used
    origins: list[str] = field(default_factory=list)  # where each intermediate came from
    # offline: the AIA URLs the search would have fetched an issuer from (a run online may
    # complete the path there)
    wanted: list[str] = field(default_factory=list)
    # the self-signed certificate the preferred path ended at, not a trust anchor (private CA)
    untrusted_root: x509.Certificate | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None and self.anchor is not None


class AiaFetcher:
    """Builds issuing paths for one run; shares responses across all sites of the run."""

    def __init__(self, trust: TrustStore, now: dt.datetime | None = None, offline: bool = False,
                 intermediates: list[str] | None = None, public_only: bool = False,
                 use_cache: bool = True, fetcher: Fetcher | None = None):
        self.trust = trust
        self.now = now or dt.datetime.now(dt.timezone.utc)
        self.offline = offline
        self.public_only = public_only
        self.use_cache = use_cache
        self.net = fetcher or Fetcher(timeout=TIMEOUT, public_only=public_only, offline=offline)
        self._responses: dict[str, tuple[bytes | None, str | None]] = {}
        self._from_cache: set[str] = set()  # URLs whose answer this run came from the disk cache
        self.local: list[x509.Certificate] = []
        self.local_origin: dict[bytes, str] = {}  # fingerprint -> "--intermediates DIR/NAME"
        self.fetched_from: dict[bytes, str] = {}  # fingerprint -> the AIA URL it came from
        self.errors: list[str] = []  # problems with --intermediates folders
        self.notices: list[str] = []  # said once per run: a refused cache folder
        self._cache_ok: bool | None = None
        for folder in intermediates or []:
            self._load_folder(folder)

    @property
    def requests(self) -> list[str]:
        """URLs really requested over the network this run, in order."""
        return self.net.requests

    @classmethod
    def from_options(cls, trust: TrustStore, options) -> AiaFetcher:
        from certlint.pki.network import public_only_default, run_fetcher

        return cls(trust, now=options.now, offline=options.offline,
                   intermediates=options.intermediates,
                   public_only=public_only_default(options.aia_public_only),
                   use_cache=options.use_cache, fetcher=run_fetcher(options))

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
        completion's `origins` says it for every intermediate it uses.

        A path search, not a single walk: when the issuer at hand leads nowhere (a served
        cross-sign issued by a root nobody trusts, an expired copy), the other candidates are
        tried, and the certificate's own AIA URL too, before giving up. The first problem met
        on the preferred path is the one reported."""
        result = Completion()
        labels = dict(labels or {})
        pool = list(have or []) + self.local
        problems: list[str] = []
        budget = [MAX_SEARCH_STEPS]
        found = self._search(leaf, pool, {fingerprint(leaf)}, [], result, problems, budget)
        if found is None:
            result.problem = problems[0] if problems else "no trusted root reached"
        else:
            result.intermediates, result.anchor = found
        for cert in result.intermediates:
            fp = fingerprint(cert)
            url = self.fetched_from.get(fp)
            result.origins.append(labels.get(fp) or self.local_origin.get(fp)
                                  or (f"AIA {url}" if url else "the served chain"))
        return result

    def _search(self, current, pool, seen: set[bytes], path: list, result: Completion,
                problems: list[str], budget: list[int]):
        """(intermediates, anchor) of a path from `current` up, or None (reasons in
        `problems`)."""
        anchors = self.trust.issuers_of(current)
        if anchors:
            valid = [a for a in anchors if valid_at(a, self.now)]
            return path, (valid or anchors)[0]
        if is_self_signed(current):
            problems.append(f"the path ends at the self-signed {describe(current)}, which is "
                            "not a trusted root (pass it with --ca-bundle if clients trust it)")
            if result.untrusted_root is None:
                result.untrusted_root = current
            return None
        if len(path) >= MAX_DEPTH:
            problems.append(f"no trusted root within {MAX_DEPTH} intermediates")
            return None
        budget[0] -= 1
        if budget[0] < 0:
            return None
        candidates = self._ranked([c for c in pool if fingerprint(c) not in seen
                                   and issued_by(current, c)])
        tried = {fingerprint(c) for c in candidates}
        fetched_once = False
        while True:
            if candidates:
                issuer = candidates.pop(0)
            elif not fetched_once:
                fetched_once = True
                issuer, problem = self._fetch_issuer(current, seen, result)
                if issuer is None:
                    if not tried:  # nothing at hand at all: the fetch problem is the reason
                        problems.append(problem)
                    return None
                if fingerprint(issuer) in tried:
                    return None
            else:
                return None
            if not valid_at(issuer, self.now):
                when = (f"expired on {issuer.not_valid_after_utc:%Y-%m-%d}"
                        if issuer.not_valid_after_utc < self.now
                        else f"is valid only from {issuer.not_valid_before_utc:%Y-%m-%d}")
                problems.append(f"the only issuer found for {describe(current)}, "
                                f"{describe(issuer)}, {when}; clients would reject the chain")
                continue
            if self.trust.contains(issuer):
                return path, issuer  # a cross-signed anchor: the path is trusted here
            found = self._search(issuer, pool, seen | {fingerprint(issuer)}, path + [issuer],
                                 result, problems, budget)
            if found is not None:
                return found

    def _ranked(self, candidates: list[x509.Certificate]) -> list[x509.Certificate]:
        """CA candidates, best first: valid now, then issued by a trust anchor."""
        return sorted([c for c in candidates if _is_ca(c)],
                      key=lambda c: (not valid_at(c, self.now), not self.trust.issuers_of(c)))

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
            result.wanted.append(urls[0])
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
            self.fetched_from.setdefault(fingerprint(issuer), url)
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
            try:
                data = self.net.get(url, limit=MAX_BYTES)
                answer = (data, None)
                if parse_response(data):
                    self._cache_write(url, data)
            except FetchError as exc:
                answer = (None, str(exc))
        self._responses[url] = answer
        return answer

    # -- the on-disk cache: certlint's own folder, refused when others may write to it -------

    def _cache_folder(self) -> str | None:
        if not self.use_cache:
            return None
        folder = cache_dir()
        if self._cache_ok is None:
            problem = check_cache_folder(folder)
            self._cache_ok = problem is None
            if problem:
                self.notices.append(problem)
        return folder if self._cache_ok else None

    def _cache_path(self, folder: str, url: str) -> str:
        return os.path.join(folder, hashlib.sha256(url.encode()).hexdigest() + ".bin")

    def _cache_read(self, url: str) -> bytes | None:
        folder = self._cache_folder()
        if folder is None:
            return None
        return read_cache_file(self._cache_path(folder, url), MAX_BYTES)

    def _cache_write(self, url: str, data: bytes) -> None:
        folder = self._cache_folder()
        if folder is None:
            return
        path = self._cache_path(folder, url)
        try:
            # mkstemp: O_CREAT|O_EXCL|O_NOFOLLOW at an unpredictable name, mode 0600; the rename
            # replaces whatever sits at the final name (a planted link itself, not its target)
            fd, tmp = tempfile.mkstemp(prefix=".aia-", suffix=".tmp", dir=folder)
        except OSError:
            return  # a cache that cannot be written only costs a request next time
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except OSError:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def check_cache_folder(folder: str) -> str | None:
    """Create the cache folder (mode 0700) or vet an existing one: it must be a folder owned by
    this user that no other user may write to. A problem is returned as a notice; the run then
    goes on without the cache."""
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        info = os.stat(folder)
    except OSError as exc:
        return (f"the AIA cache folder {folder} cannot be used "
                f"({exc.strerror or exc.__class__.__name__}); fetching without a cache")
    if not stat.S_ISDIR(info.st_mode):
        return f"the AIA cache folder {folder} is not a folder; fetching without a cache"
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return (f"the AIA cache folder {folder} is writable by other users (mode "
                f"{stat.S_IMODE(info.st_mode):o}): not used, since another user could plant "
                f"links or answers there; `chmod go-w {folder}` or set CERTLINT_CACHE_DIR")
    if hasattr(os, "geteuid") and info.st_uid != os.geteuid():
        return (f"the AIA cache folder {folder} belongs to another user (uid {info.st_uid}): "
                "not used; set CERTLINT_CACHE_DIR to a folder of your own")
    return None


def read_cache_file(path: str, limit: int) -> bytes | None:
    """A cache entry: a regular file opened without following links, at most `limit` bytes."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
            return None
        with os.fdopen(fd, "rb") as fh:
            fd = -1
            data = fh.read(limit + 1)
    except OSError:
        return None
    finally:
        if fd >= 0:
            os.close(fd)
    return data if len(data) <= limit else None


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
