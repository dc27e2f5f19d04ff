"""Fetch a certificate's CRL distribution points, as revocation-checking clients do.

Windows (schannel) and other clients that check CRLs fetch each http distribution point of the
leaf and of every intermediate; when none can be fetched they fail with
`CRYPT_E_REVOCATION_OFFLINE (0x80092013)`. `check_crl(cert, issuer, fetcher, now)` does the
same through the run's bounded fetcher (10 MiB cap): the answer may be DER or PEM, must be a CRL
signed by the certificate's issuer (name and signature), and must not be past its nextUpdate
(clients treat an expired CRL as unavailable). Then the certificate's serial is looked up.

The outcome's `kind`: "revoked" (cert-revoked, with time and reason), "unreachable"
(crl-unreachable: no distribution point gave a usable CRL, each reason listed), "good",
or "none" (no http distribution point).
"""

from __future__ import annotations

import datetime as dt
import warnings
from dataclasses import dataclass, field

from cryptography import x509

from certlint.pki.chain import describe
from certlint.pki.fetch import MAX_CRL_BYTES, Fetcher, FetchError, shown
from certlint.pki.ocsp_check import revoked_text
from certlint.pki.verify import extension

MAX_URLS = 5


@dataclass
class CrlOutcome:
    kind: str  # "good" | "revoked" | "unreachable" | "none"
    urls: list[str] = field(default_factory=list)
    message: str = ""
    revoked_at: dt.datetime | None = None
    reason: str | None = None
    facts: dict = field(default_factory=dict)


def crl_urls(cert: x509.Certificate) -> list[str]:
    """The URIs of the certificate's CRL distribution points, in order."""
    points = extension(cert, x509.CRLDistributionPoints)
    if points is None:
        return []
    out = []
    for point in points:
        for name in point.full_name or []:
            if isinstance(name, x509.UniformResourceIdentifier) and name.value not in out:
                out.append(name.value)
    return out


def parse_crl(data: bytes) -> x509.CertificateRevocationList | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for loader in (x509.load_der_x509_crl, x509.load_pem_x509_crl):
            try:
                return loader(data)
            except ValueError:
                continue
    return None


def check_crl(cert: x509.Certificate, issuer: x509.Certificate, fetcher: Fetcher,
              now: dt.datetime) -> CrlOutcome:
    """Fetch the certificate's CRLs until one is usable; is the certificate on it?"""
    urls = [u for u in crl_urls(cert) if u[:7].lower() == "http://"][:MAX_URLS]
    if not urls:
        return CrlOutcome("none")
    reasons = []
    for url in urls:
        try:
            data = fetcher.get(url, limit=MAX_CRL_BYTES)
        except FetchError as exc:
            reasons.append(str(exc))
            continue
        crl = parse_crl(data)
        if crl is None:
            reasons.append(f"{shown(url)}: the answer is not a CRL (DER or PEM expected, "
                           f"{len(data)} bytes that do not parse)")
            continue
        if crl.issuer != issuer.subject or not _signed(crl, issuer):
            reasons.append(f"{shown(url)}: the CRL is not signed by the issuer "
                           f"{describe(issuer)}")
            continue
        next_update = crl.next_update_utc
        if next_update is not None and next_update < now:
            reasons.append(f"{shown(url)}: the CRL is past its nextUpdate "
                           f"({next_update:%Y-%m-%d %H:%M} UTC); clients treat it as "
                           "unavailable")
            continue
        entry = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
        facts = {"url": url, "certificate": describe(cert).strip("'"),
                 "serial": f"{cert.serial_number:X}"}
        if entry is None:
            return CrlOutcome("good", [url], f"{shown(url)}: not revoked", facts=facts)
        reason = _reason(entry)
        when = entry.revocation_date_utc
        facts.update(revoked_at=f"{when:%Y-%m-%d %H:%M:%S} UTC", reason=reason)
        return CrlOutcome("revoked", [url], revoked_text(cert, when, reason), revoked_at=when,
                          reason=reason, facts=facts)
    return CrlOutcome("unreachable", urls, "; ".join(reasons),
                      facts={"urls": urls, "certificate": describe(cert).strip("'"),
                             "reasons": reasons})


def _reason(entry: x509.RevokedCertificate) -> str | None:
    try:
        return entry.extensions.get_extension_for_class(x509.CRLReason).value.reason.value
    except (x509.ExtensionNotFound, ValueError):
        return None


def _signed(crl: x509.CertificateRevocationList, issuer: x509.Certificate) -> bool:
    try:
        return bool(crl.is_signature_valid(issuer.public_key()))
    except (TypeError, ValueError):
        return False
