"""The per-run context rules read: options, the file store, the trust store, cached analyses."""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from certlint.defaults import DEFAULT_APACHE_VERSION
from certlint.docs import load_docs
from certlint.model import CertSlot, Directive, FileRef, Finding, ServerConfig, Site
from certlint.parsers.nginx_versions import DEFAULT_NGINX_VERSION
from certlint.pki.chain import MAX_DEPTH, ChainAnalysis, _pool_candidates, analyse, is_ca
from certlint.pki.load import CertFile, KeyFile, PkiStore
from certlint.pki.trust import TrustStore
from certlint.pki.verify import cert_spki, fingerprint, is_self_signed, issued_by

HASHED_NAME = re.compile(r"^[0-9a-f]{8}\.\d+$")  # `openssl rehash` names in a CA path


@dataclass
class Options:
    """Everything a user can set that changes what rules conclude."""

    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc))
    expiry_warn_days: int = 30
    ca_bundles: list[str] = field(default_factory=list)
    apache_version: str = DEFAULT_APACHE_VERSION
    nginx_version: str = DEFAULT_NGINX_VERSION
    root: str | None = None
    server: str | None = None
    debug: bool = False
    # fix-time options (certlint fix): AIA fetching and stapling repairs
    offline: bool = False  # never touch the network
    intermediates: list[str] = field(default_factory=list)  # folders of PEM intermediates
    # refuse AIA/OCSP/CRL URLs on private/loopback hosts; None: only when CI is set
    aia_public_only: bool | None = None
    use_cache: bool = True  # on-disk AIA cache (CERTLINT_CACHE_DIR overrides its place)
    resolvers: list[str] = field(default_factory=list)  # --resolver ADDR for stapling fixes
    defines: list[str] = field(default_factory=list)  # apache2 -D NAME (--define NAME)
    jobs: int = 1  # processes that check sites (check: every core, for big trees)
    ignore: set[str] = field(default_factory=set)  # --ignore RULE: not reported
    # per-path-ignores of the project config: (absolute glob, rules) pairs
    per_path_ignores: list[tuple[str, frozenset[str]]] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)  # httpd's environment (--env NAME=VALUE)
    # network (fix's AIA, probe, check --online): certlint.pki.network
    online: bool = False  # check --online: OCSP and CRL requests as the server would make them
    network_budget: float = 60.0  # --network-budget: seconds of network for the whole run
    timeout: float | None = None  # per fetch (None: certlint.pki.fetch.TIMEOUT)
    fetcher: Any = field(default=None, repr=False, compare=False)  # the run's Fetcher


@lru_cache(maxsize=16)
def _apache_reads_chain(version: str) -> bool:
    """Apache >= 2.4.8 loads intermediates from SSLCertificateFile."""
    from certlint.parsers.apache_conditions import version_at_least

    return version_at_least(version, "2.4.8")


class Context:
    """Shared by all rules of one run: loads files once and caches chain analyses."""

    def __init__(self, options: Options | None = None, store: PkiStore | None = None,
                 trust: TrustStore | None = None):
        self.options = options or Options()
        self.store = store or PkiStore()
        self.trust = trust or TrustStore(self.options.ca_bundles)
        self.config: ServerConfig | None = None
        self.aia = None  # an AiaFetcher: probe completes a short served chain over AIA
        self._chains: dict[tuple, ChainAnalysis | None] = {}
        # id(slot) -> (site, slot, analysis): every rule asks for the same slots in turn
        self._slot_chains: dict[int, tuple] = {}
        self._once: dict[str, dict[int, tuple]] = {}  # Context.once: name -> id -> (obj, value)

    @property
    def now(self) -> dt.datetime:
        return self.options.now

    # -- files ---------------------------------------------------------------------------

    def cert_file(self, ref: FileRef | None) -> CertFile | None:
        """The loaded certificate file, or None when there is nothing to open offline."""
        if ref is None or ref.path is None:
            return None
        return self.store.cert_file(ref.path)

    def key_file(self, ref: FileRef | None) -> KeyFile | None:
        if ref is None or ref.path is None:
            return None
        return self.store.key_file(ref.path)

    def slot_key(self, slot: CertSlot) -> KeyFile | None:
        """The key of a slot; Apache reads it from the certificate file when none is set."""
        if slot.served is not None:
            return None  # a probed chain: no key file (a live handshake proves the key instead)
        if slot.key is not None:
            if slot.key.path is None:
                return None
            passwords = self.store.passwords(getattr(slot.passwords, "path", None))
            return self.store.key_file(slot.key.path, passwords)
        if self.config is not None and self.config.server == "apache" and slot.cert.path:
            return self.store.key_file(slot.cert.path)
        return None

    # -- chains --------------------------------------------------------------------------

    def served_certs(self, site: Site, slot: CertSlot):
        """What the server really sends for this slot, and what it may add by itself.

        nginx sends the `ssl_certificate` file as it is and never completes it. Apache with an
        `SSLCertificateChainFile` sends the first certificate of `SSLCertificateFile` plus the
        chain file; without one, the whole file. Apache (no SSL_MODE_NO_AUTO_CHAIN) also
        completes the chain from `SSLCACertificateFile`.

        Either way mod_ssl takes the FIRST certificate of the file as the server's own and
        refuses to start when the key belongs to another one (AH02565, checked with apache2 and
        [intermediate, leaf] + SSLCertificateChainFile). The rest of the file is then kept in
        the list, so the analysis sees where the leaf really is (chain-wrong-order) and a fix
        starts from that leaf, not from the certificate Apache would have used.
        """
        if slot.served is not None:  # from the wire or a transcript: exactly what was sent
            return list(slot.served.certs), []
        cert_file = self.cert_file(slot.cert)
        if cert_file is None or not cert_file.ok or cert_file.unreadable:
            return None, []  # certificates only OpenSSL reads: no chain to judge without them
        served = list(cert_file.certs)
        pool = []
        if site.server == "apache":
            if slot.chain is not None:
                chain_file = self.cert_file(slot.chain)
                if chain_file is not None and chain_file.unreadable:
                    return None, []
                extra = list(chain_file.certs) if chain_file and chain_file.ok else []
                if slot.chain.path == slot.cert.path:
                    extra = extra[1:]  # mod_ssl skips the leaf when both name the same file
                served = (served[:1] if self._first_is_leaf(slot, served) else served) + extra
            elif not _apache_reads_chain(self.options.apache_version):
                # before 2.4.8 SSLCertificateFile gives the leaf only
                served = served[:1] if self._first_is_leaf(slot, served) else served
            # OpenSSL builds the chain from the CA store only when none is configured at all
            # (SSLCertificateFile holds just the leaf and no SSLCertificateChainFile is set)
            if self.config is not None and slot.chain is None and len(served) == 1:
                pool = self._apache_ca_store(site)
        return served, pool

    def _first_is_leaf(self, slot: CertSlot, certs: list) -> bool:
        """Is the file's first certificate the server's own? By the key when it can be read;
        else not when it is a CA certificate and a later one is not (a leaf further down)."""
        if len(certs) < 2:
            return True
        key = self.slot_key(slot)
        if key is not None and key.ok:
            if cert_spki(certs[0]) == key.public:
                return True
            return not any(cert_spki(c) == key.public for c in certs[1:])
        return not (is_ca(certs[0]) and any(not is_ca(c) for c in certs[1:]))

    def auto_chained(self, site: Site, slot: CertSlot) -> list:
        """What Apache appends from its CA store beyond the chain analysis: OpenSSL's auto-chain
        sends the whole chain it builds, its root included, while the analysis stops at the
        client's trust anchor (checked with `openssl s_client -showcerts`: leaf, intermediate
        and root when SSLCACertificateFile holds both CA certificates)."""
        chain = self.chain(site, slot)
        if chain is None or site.server != "apache":
            return []
        served, pool = self.served_certs(site, slot)
        if not pool:
            return []
        seen = {fingerprint(c) for c in list(served) + list(chain.auto_added)}
        current, extra = chain.path_certs()[-1], []
        while not is_self_signed(current) and len(extra) < MAX_DEPTH:
            issuers = [c for c in _pool_candidates(current, pool, seen)
                       if issued_by(current, c)]
            if not issuers:
                break
            current = min(issuers, key=lambda c: not (c.not_valid_before_utc <= self.now
                                                      <= c.not_valid_after_utc))
            seen.add(fingerprint(current))
            extra.append(current)
        return extra

    def sent_certs(self, site: Site, slot: CertSlot) -> list | None:
        """Every certificate the server sends for this slot, in order (None: nothing loads)."""
        chain = self.chain(site, slot)
        if chain is None:
            return None
        return list(chain.served) + list(chain.auto_added) + self.auto_chained(site, slot)

    def _apache_ca_store(self, site: Site) -> list:
        """Certificates of SSLCACertificateFile and of SSLCACertificatePath (OpenSSL finds only
        the hash-named `<hash>.N` entries of a path)."""
        pool = []
        ca = site.get("sslcacertificatefile")
        if ca is not None:
            ca_file = self.cert_file(self.config.file_ref(ca))
            if ca_file is not None and ca_file.ok:
                pool += list(ca_file.certs)
        ca_path = site.get("sslcacertificatepath")
        ref = self.config.file_ref(ca_path) if ca_path is not None else None
        if ref is not None and ref.path and os.path.isdir(ref.path):
            from certlint import reads

            reads.listed(ref.path)
            for name in sorted(os.listdir(ref.path)):
                if HASHED_NAME.match(name):
                    loaded = self.store.cert_file(os.path.join(ref.path, name))
                    if loaded.ok:
                        pool += list(loaded.certs)
        return pool

    def once(self, name: str, obj, compute):
        """`compute()` once a run for `obj` (a site or slot), for results several rules share."""
        table = self._once.setdefault(name, {})
        seen = table.get(id(obj))
        if seen is not None and seen[0] is obj:
            return seen[1]
        value = compute()
        table[id(obj)] = (obj, value)
        return value

    def analysed_slots(self, site: Site) -> list[tuple[CertSlot, ChainAnalysis]]:
        """The slots of a site whose files load, with their chain analyses (once a site: a
        dozen rules ask in turn)."""
        return self.once("analysed-slots", site, lambda: [
            (slot, chain) for slot in site.slots
            if (chain := self.chain(site, slot)) is not None])

    def chain(self, site: Site, slot: CertSlot) -> ChainAnalysis | None:
        """The chain analysis of a slot (None when its certificate file cannot be loaded)."""
        seen = self._slot_chains.get(id(slot))
        if seen is not None and seen[0] is site and seen[1] is slot:
            return seen[2]
        if slot.served is not None:
            served = list(slot.served.certs)
            found = (analyse(served, slot.served.key_spki, self.trust, self.now)
                     if served else None)
            if (found is not None and self.aia is not None and not found.complete
                    and found.missing_issuer is not None and found.leaf_first):
                from certlint.pki.completion import complete_over_aia

                complete_over_aia(found, self.aia)
            self._slot_chains[id(slot)] = (site, slot, found)
            return found
        key = (site.server, slot.cert.path, slot.key.path if slot.key else None,
               slot.chain.path if slot.chain else None,
               site.get("sslcacertificatefile").value if site.server == "apache"
               and site.get("sslcacertificatefile") else None,
               site.get("sslcacertificatepath").value if site.server == "apache"
               and site.get("sslcacertificatepath") else None)
        if key not in self._chains:
            served, pool = self.served_certs(site, slot)
            if not served:
                self._chains[key] = None
            else:
                keyfile = self.slot_key(slot)
                spki = keyfile.public if keyfile is not None and keyfile.ok else None
                self._chains[key] = analyse(served, spki, self.trust, self.now, pool)
        self._slot_chains[id(slot)] = (site, slot, self._chains[key])
        return self._chains[key]

    # -- findings ------------------------------------------------------------------------

    def _column(self, at: Directive) -> int:
        """The directive name's real column (not for an `nginx -T` dump: its files are gone,
        and the same path on this machine is another file)."""
        if at.column != 1 or self.config is None or self.config.extra.get("dump"):
            return at.column
        from certlint.locations import column

        return column(at.path, at.line, at.name, self.config.server == "apache",
                      self.options.root)

    def finding(self, rule: str, at: Directive, message: str, site: Site | None = None,
                severity: str | None = None, fixable: bool | None = None,
                fix=None, facts: dict | None = None) -> Finding:
        """A finding at a directive (a probed site: at its target, line and column None).
        Probed findings are not `certlint fix`-able: there is no config to change."""
        doc = load_docs().get(rule)
        if site is not None and site.endpoint is not None and fixable is None:
            fixable = False
        return Finding(
            rule=rule,
            severity=severity or (doc.severity if doc else "error"),
            path=at.path,
            line=at.line,
            column=self._column(at),
            message=message,
            site=site.label if site is not None else "",
            fixable=(doc.fixable if doc else False) if fixable is None else fixable,
            fix=fix,
            facts=dict(facts) if facts else {},
        )
