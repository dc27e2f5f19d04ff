"""Chain analysis of what a server sends: leaf, issuing path, anchor, and what is out of place.

Issuance is decided by real signature checks, not by names alone. Path building is
trusted-first (like OpenSSL 1.1+): at each step, an issuer in the trust store ends the path, so
an expired cross-sign further down the file is noticed as unneeded rather than followed.
Among several served issuers that share a subject (cross-signs, a renewed intermediate), one
valid now is preferred.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from cryptography import x509

from certlint.pki.trust import TrustStore
from certlint.pki.verify import (
    cert_spki,
    fingerprint,
    is_self_signed,
    issued_by,
    issuer_der,
    may_issue,
    per_certificate,
    subject_der,
)

# Hostile input bounds (SECURITY.md promise 10): a served file of thousands of copies, or of
# hundreds of certificates sharing one subject, must not cost a signature check per pair.
MAX_ISSUER_CANDIDATES = 16  # same-subject issuers tried per step (real files: 1-3 cross-signs)
MAX_DEPTH = 100  # OpenSSL's default verify depth


@per_certificate
def not_after(cert: x509.Certificate) -> dt.datetime:
    return cert.not_valid_after_utc  # a new datetime on every access: kept per certificate


@per_certificate
def not_before(cert: x509.Certificate) -> dt.datetime:
    return cert.not_valid_before_utc


def valid_at(cert: x509.Certificate, now: dt.datetime) -> bool:
    return not_before(cert) <= now <= not_after(cert)


def describe(cert: x509.Certificate) -> str:
    """Short human name of a certificate: its CN, else its whole subject."""
    cns = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    if cns:
        return f"'{cns[0].value}'"
    return f"'{cert.subject.rfc4514_string() or '(empty subject)'}'"


@dataclass
class ChainAnalysis:
    """What the served certificates amount to.

    `served` is the list in the order the server sends it. `leaf` is an index into it. `path`
    lists indexes of served certificates from the leaf upward; `anchor` is the trust-store
    certificate the path ends at (None when it reaches none). Everything else is a finding.
    """

    served: list[x509.Certificate]
    leaf: int = 0
    key_matches: bool | None = None  # None: no usable key to compare
    key_matches_other: int | None = None  # index of a served cert the key belongs to (not 0)
    path: list[int] = field(default_factory=list)
    anchor: x509.Certificate | None = None
    served_root: int | None = None  # index of a self-signed cert on the path (sent anchor)
    root_trusted: bool = False
    missing_issuer: x509.Name | None = None  # issuer name the path stops at, if incomplete
    misordered: bool = False
    unrelated: list[int] = field(default_factory=list)
    duplicates: list[int] = field(default_factory=list)
    auto_added: list[x509.Certificate] = field(default_factory=list)  # from a server's CA store
    # when `path` (the first-choice walk, as OpenSSL builds it) fails: a path through other
    # served certificates that does reach an anchor, if one exists
    alternative: list[int] | None = None
    # a probed chain that stops short: what AIA found above its last certificate
    # (a certlint.pki.aia.Completion), None when not looked up (offline, or a config site)
    fetched: object | None = None
    # the untrusted self-signed root that AIA served as the missing issuer itself (no
    # intermediate missing in between): a private CA, not a missing intermediate
    fetched_root: x509.Certificate | None = None

    @property
    def leaf_cert(self) -> x509.Certificate:
        return self.served[self.leaf]

    @property
    def leaf_first(self) -> bool:
        return self.leaf == 0

    @property
    def complete(self) -> bool:
        return self.anchor is not None or (self.served_root is not None and self.root_trusted)

    def path_certs(self) -> list[x509.Certificate]:
        return [self.served[i] for i in self.path] + list(self.auto_added)

    def intermediates(self) -> list[x509.Certificate]:
        """Path certificates between the leaf and the anchor (the anchor itself excluded)."""
        certs = self.path_certs()[1:]
        if self.served_root is not None:
            root = self.served[self.served_root]
            certs = [c for c in certs if c is not root]
        return certs


def analyse(served: list[x509.Certificate], key_spki: bytes | None, trust: TrustStore,
            now: dt.datetime, extra_pool: list[x509.Certificate] | None = None
            ) -> ChainAnalysis:
    """Analyse a served chain. `extra_pool` holds certificates the server itself adds to the
    chain when the file lacks them (Apache builds from SSLCACertificateFile; nginx never does)."""
    result = ChainAnalysis(served=served)
    if not served:
        return result
    # one index entry per distinct certificate (a copy is a duplicate, never a candidate)
    by_subject: dict[bytes, list[int]] = {}
    firsts: set[bytes] = set()
    for i, cert in enumerate(served):
        print_ = fingerprint(cert)
        if print_ in firsts:
            continue
        firsts.add(print_)
        by_subject.setdefault(subject_der(cert), []).append(i)

    result.leaf = _find_leaf(served, key_spki, by_subject, result)
    branching: list[int] = []
    _walk(result, served, by_subject, trust, now, extra_pool, [], branching)
    if not result.complete:
        result.alternative = _working_alternative(result.leaf, branching, served, by_subject,
                                                  trust, now, extra_pool)
    path = result.path
    _place_sent_anchor(served, path, result, trust)
    on_path = set(path)
    path_prints = {fingerprint(served[i]) for i in path}
    for i, cert in enumerate(served):
        if i in on_path:
            continue
        if fingerprint(cert) in path_prints:
            result.duplicates.append(i)
        elif (result.anchor is not None and result.served_root is None
              and fingerprint(cert) == fingerprint(result.anchor)):
            # the trust anchor the path ended at, sent as well (SSL Labs: "Contains anchor")
            result.served_root = i
            result.root_trusted = True
        else:
            result.unrelated.append(i)
    rest = path[1:]
    if result.leaf == 0:
        result.misordered = rest != list(range(1, len(rest) + 1))
    return result


MAX_PATH_ATTEMPTS = 32


def _working_alternative(leaf: int, branching: list[int], served, by_subject, trust, now,
                         extra_pool) -> list[int] | None:
    """When the first-choice path fails, is there another path through the served
    certificates that reaches a trust anchor? (OpenSSL does not look for one: it takes the
    first matching issuer in the file. Browsers that build paths themselves may find it.)"""
    decisions: list[int] = []
    for _attempt in range(MAX_PATH_ATTEMPTS):
        decisions = _next_decisions(decisions, branching)
        if decisions is None:
            return None
        trial = ChainAnalysis(served=served, leaf=leaf)
        branching = []
        _walk(trial, served, by_subject, trust, now, extra_pool, decisions, branching)
        if trial.complete:
            return trial.path
    return None


def _next_decisions(decisions: list[int], branching: list[int]) -> list[int] | None:
    """The next choice vector over the branching points met (an odometer, deepest first)."""
    current = decisions + [0] * (len(branching) - len(decisions))
    for k in range(len(branching) - 1, -1, -1):
        if current[k] + 1 < branching[k]:
            return current[:k] + [current[k] + 1]
    return None


def _walk(result: ChainAnalysis, served, by_subject, trust, now, extra_pool,
          decisions: list[int], branching: list[int]) -> None:
    """Walk up from the leaf, trusted-first, taking at each step the issuer `decisions` names
    (by default the first valid one in file order, as OpenSSL does); fills `result`."""
    seen = {fingerprint(served[result.leaf])}
    path = [result.leaf]
    current = served[result.leaf]
    while True:
        if is_self_signed(current):
            if len(path) > 1 or current is not served[result.leaf]:
                result.served_root = path[-1]
            result.root_trusted = trust.contains(current)
            if result.root_trusted and len(path) == 1:
                result.anchor = current  # a self-signed leaf the user trusts (--ca-bundle)
            break
        anchors = trust.issuers_of(current)
        if anchors:
            valid = [a for a in anchors if valid_at(a, now)]
            result.anchor = (valid or anchors)[0]
            break
        if len(path) >= MAX_DEPTH:
            result.missing_issuer = current.issuer
            break
        candidates = [i for i in _candidates(current, by_subject, served, seen)
                      if issued_by(current, served[i])]
        if not candidates:
            pooled = [c for c in _pool_candidates(current, extra_pool, seen)
                      if issued_by(current, c)]
            if pooled:
                # the server adds this issuer itself (Apache auto-chain)
                nxt = _prefer(pooled, now)
                result.auto_added.append(nxt)
                seen.add(fingerprint(nxt))
                current = nxt
                if is_self_signed(nxt):
                    result.root_trusted = trust.contains(nxt)
                    if result.root_trusted:
                        result.anchor = nxt
                        result.auto_added.pop()
                    break
                continue
            result.missing_issuer = current.issuer
            break
        ordered = sorted(candidates, key=lambda i: (not valid_at(served[i], now), i))
        step = len(branching)
        branching.append(len(ordered))
        idx = ordered[min(decisions[step], len(ordered) - 1) if step < len(decisions) else 0]
        path.append(idx)
        seen.add(fingerprint(served[idx]))
        current = served[idx]
        if trust.contains(current) and not is_self_signed(current):
            # a served cross-signed root that is itself an anchor: the path is trusted here
            result.anchor = current
            break
    result.path = path


def _place_sent_anchor(served, path: list[int], result: ChainAnalysis,
                       trust: TrustStore) -> None:
    """Trusted-first building stops at the store's anchor; a served copy of that same root
    (self-signed, same subject and key) then belongs at the top of the path, as the sent anchor.
    A cross-signed copy (same subject and key, issued by another root) is not the anchor."""
    if result.anchor is None or result.served_root is not None:
        return
    anchor_id = (subject_der(result.anchor), cert_spki(result.anchor))
    top = served[path[-1]]
    for i, cert in enumerate(served):
        if i in path or cert.subject != top.issuer:
            continue
        if (subject_der(cert), cert_spki(cert)) == anchor_id and is_self_signed(cert):
            path.append(i)
            result.served_root = i
            result.root_trusted = trust.contains(cert)
            return


def _candidates(cert: x509.Certificate, by_subject: dict[bytes, list[int]], served,
                seen) -> list[int]:
    """Indexes of served certificates that may have issued `cert` (name and key identifier
    agree), not yet on the path; at most MAX_ISSUER_CANDIDATES, in file order. No signature
    is checked here."""
    out = []
    for i in by_subject.get(issuer_der(cert), ()):
        if fingerprint(served[i]) not in seen and may_issue(cert, served[i]):
            out.append(i)
            if len(out) >= MAX_ISSUER_CANDIDATES:
                break
    return out


def _pool_candidates(cert: x509.Certificate, pool, seen) -> list[x509.Certificate]:
    """The same for a server's own CA store (Apache's SSLCACertificateFile, from the tree)."""
    out = []
    for c in pool or ():
        if may_issue(cert, c) and fingerprint(c) not in seen:
            out.append(c)
            if len(out) >= MAX_ISSUER_CANDIDATES:
                break
    return out


def _prefer(certs: list[x509.Certificate], now: dt.datetime) -> x509.Certificate:
    return sorted(certs, key=lambda c: not valid_at(c, now))[0]


def _find_leaf(served, key_spki, by_subject, result: ChainAnalysis) -> int:
    if key_spki is not None:
        matches = [i for i, c in enumerate(served) if cert_spki(c) == key_spki]
        if matches:
            result.key_matches = matches[0] == 0
            if matches[0] != 0:
                result.key_matches_other = matches[0]
            return matches[0]
        result.key_matches = False
    # structural leaf: a certificate that issues no other served certificate
    issuers: set[int] = set()
    for i in sorted(i for same in by_subject.values() for i in same):  # distinct certificates
        cert = served[i]
        for j in _candidates(cert, by_subject, served, ()):
            if j != i and issued_by(cert, served[j]):
                issuers.add(j)
    candidates = [i for i in range(len(served)) if i not in issuers]
    if not candidates:
        return 0
    non_ca = [i for i in candidates if not _is_ca(served[i])]
    return (non_ca or candidates)[0]


def is_ca(cert: x509.Certificate) -> bool:
    """Does the certificate say it is a CA (basicConstraints CA:TRUE)?"""
    return _is_ca(cert)


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False
