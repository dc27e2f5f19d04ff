"""Ask a certificate's OCSP responder, as a stapling server or a revocation-checking client does.

`ask_ocsp(cert, issuer, fetcher)` builds an OCSP request for (cert, issuer) with a SHA-1 CertID
(what OpenSSL, nginx and Apache send), POSTs it to each of the certificate's OCSP URLs through
the run's bounded fetcher (`certlint.pki.fetch`) until one answers, and judges the answer with
`judge_response`:
- the response status (malformedRequest, internalError, tryLater, sigRequired, unauthorized);
- a SingleResponse for exactly this CertID (serial, issuer name hash, issuer key hash);
- the signature (`certlint.pki.ocsp_signature`: PKCS#1 v1.5, RSA-PSS, ECDSA, EdDSA): by the
  issuer's own key, or by a delegated responder certificate the issuer signed with the
  id-kp-OCSPSigning EKU, valid now (RFC 6960 4.2.2.2);
- thisUpdate not in the future and nextUpdate not past (5 minutes of clock skew allowed);
- the certificate status: good, revoked (with time and reason), unknown.

The outcome is an `OcspOutcome` whose `kind` picks the rule: "unreachable"
(ocsp-responder-unreachable, with the fetch step that failed), "bad" (ocsp-response-bad),
"revoked" (cert-revoked), "good", or "none" (no OCSP URL: nothing to ask).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from certlint.pki.chain import describe
from certlint.pki.fetch import MAX_BYTES, Fetcher, FetchError, shown
from certlint.pki.ocsp_signature import ocsp_signing, signed_by
from certlint.pki.revocation import ocsp_urls
from certlint.pki.verify import issued_by

SKEW = dt.timedelta(minutes=5)
MAX_URLS = 3
STATUS_NAMES = {
    ocsp.OCSPResponseStatus.MALFORMED_REQUEST: "malformedRequest",
    ocsp.OCSPResponseStatus.INTERNAL_ERROR: "internalError",
    ocsp.OCSPResponseStatus.TRY_LATER: "tryLater",
    ocsp.OCSPResponseStatus.SIG_REQUIRED: "sigRequired",
    ocsp.OCSPResponseStatus.UNAUTHORIZED: "unauthorized",
}


@dataclass
class OcspOutcome:
    """What asking the responder for one certificate came to."""

    kind: str  # "good" | "revoked" | "bad" | "unreachable" | "none"
    url: str = ""
    message: str = ""
    step: str | None = None  # "unreachable": the fetch step that failed
    revoked_at: dt.datetime | None = None
    reason: str | None = None
    this_update: dt.datetime | None = None
    next_update: dt.datetime | None = None
    facts: dict = field(default_factory=dict)


def build_request(cert: x509.Certificate, issuer: x509.Certificate) -> bytes:
    """A DER OCSP request for one certificate, SHA-1 CertID, no nonce (as nginx sends it)."""
    builder = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, hashes.SHA1())
    return builder.build().public_bytes(serialization.Encoding.DER)


def ask_ocsp(cert: x509.Certificate, issuer: x509.Certificate, fetcher: Fetcher,
             now: dt.datetime, urls: list[str] | None = None) -> OcspOutcome:
    """Ask the certificate's responder(s) about it; the first URL that answers decides."""
    urls = list(urls if urls is not None else ocsp_urls(cert))[:MAX_URLS]
    if not urls:
        return OcspOutcome("none")
    request = build_request(cert, issuer)
    failures: list[OcspOutcome] = []
    for url in urls:
        try:
            body = fetcher.post(url, request, "application/ocsp-request", limit=MAX_BYTES)
        except FetchError as exc:
            failures.append(OcspOutcome("unreachable", url, str(exc), step=exc.step,
                                        facts={"url": url, "step": exc.step}))
            continue
        return judge_bytes(body, cert, issuer, now, url)
    return failures[0]


def judge_bytes(body: bytes, cert: x509.Certificate, issuer: x509.Certificate,
                now: dt.datetime, url: str = "") -> OcspOutcome:
    try:
        resp = ocsp.load_der_ocsp_response(body)
    except ValueError:
        where = shown(url) if url else "the answer"
        return OcspOutcome("unreachable", url, f"{where}: the answer is not an OCSP response "
                           f"({len(body)} bytes that do not parse)", step="unparseable",
                           facts={"url": url, "step": "unparseable"})
    return judge_response(resp, cert, issuer, now, url)


def judge_response(resp: ocsp.OCSPResponse, cert: x509.Certificate, issuer: x509.Certificate,
                   now: dt.datetime, url: str = "") -> OcspOutcome:
    """Judge a parsed OCSP response about `cert` (issued by `issuer`) at `now`."""
    facts = {"url": url, "certificate": describe(cert).strip("'"),
             "serial": f"{cert.serial_number:X}"}
    where = f"{shown(url)}: " if url else ""

    def bad(why: str, **extra) -> OcspOutcome:
        facts.update(extra)
        return OcspOutcome("bad", url, where + why, facts=dict(facts, problem=why))

    if resp.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
        name = STATUS_NAMES.get(resp.response_status, str(resp.response_status))
        return bad(f"the responder answered with the error status {name}", status=name)
    single = _single_for(resp, cert, issuer)
    if single is None:
        return bad(f"the response is not about {describe(cert)} (no SingleResponse for its "
                   f"serial {cert.serial_number:X} and issuer)")
    problem = _signature_problem(resp, issuer, now)
    if problem:
        return bad(problem)
    this_update = single.this_update_utc
    next_update = single.next_update_utc
    if this_update > now + SKEW:
        return bad(f"thisUpdate {this_update:%Y-%m-%d %H:%M} UTC is in the future")
    if next_update is not None and next_update < now - SKEW:
        return bad(f"the response is past its nextUpdate ({next_update:%Y-%m-%d %H:%M} UTC)")
    status = single.certificate_status
    if status == ocsp.OCSPCertStatus.UNKNOWN:
        return bad(f"the responder does not know {describe(cert)} (status unknown)",
                   status="unknown")
    out = OcspOutcome("good", url, where + "good", this_update=this_update,
                      next_update=next_update, facts=facts)
    if status == ocsp.OCSPCertStatus.REVOKED:
        out.kind = "revoked"
        out.revoked_at = single.revocation_time_utc
        reason = single.revocation_reason
        out.reason = reason.value if reason is not None else None
        out.facts.update(revoked_at=f"{out.revoked_at:%Y-%m-%d %H:%M:%S} UTC"
                         if out.revoked_at else None, reason=out.reason)
        out.message = revoked_text(cert, out.revoked_at, out.reason)
    return out


def revoked_text(cert: x509.Certificate, when: dt.datetime | None, reason: str | None) -> str:
    at = f" on {when:%Y-%m-%d %H:%M} UTC" if when else ""
    why = f" (reason: {reason})" if reason else " (no reason given)"
    return f"{describe(cert)} is revoked{at}{why}"


def _hash(algorithm: hashes.HashAlgorithm, data: bytes) -> bytes:
    digest = hashes.Hash(algorithm)
    digest.update(data)
    return digest.finalize()


def _spk(cert: x509.Certificate) -> bytes:
    """The subjectPublicKey BIT STRING contents, what CertID's issuerKeyHash hashes."""
    der = cert.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)
    return _bit_string_of_spki(der)


def _bit_string_of_spki(der: bytes) -> bytes:
    """The subjectPublicKey bits of a DER SubjectPublicKeyInfo (unused-bits byte dropped)."""

    def header(pos: int) -> tuple[int, int]:
        length = der[pos + 1]
        if length < 0x80:
            return pos + 2, length
        n = length & 0x7F
        return pos + 2 + n, int.from_bytes(der[pos + 2:pos + 2 + n], "big")

    body, _ = header(0)  # SEQUENCE
    alg_body, alg_len = header(body)  # AlgorithmIdentifier
    bits_body, bits_len = header(alg_body + alg_len)  # BIT STRING
    return der[bits_body + 1:bits_body + bits_len]


def _single_for(resp: ocsp.OCSPResponse, cert: x509.Certificate, issuer: x509.Certificate):
    name_der = issuer.subject.public_bytes()
    spk = _spk(issuer)
    for single in resp.responses:
        if single.serial_number != cert.serial_number:
            continue
        algorithm = single.hash_algorithm
        if (single.issuer_name_hash == _hash(algorithm, name_der)
                and single.issuer_key_hash == _hash(algorithm, spk)):
            return single
    return None


def _signature_problem(resp: ocsp.OCSPResponse, issuer: x509.Certificate,
                       now: dt.datetime) -> str | None:
    """None when the issuer or a responder it authorised signed the response."""
    if signed_by(resp, issuer.public_key()):
        return None
    for responder in resp.certificates:
        if not issued_by(responder, issuer):
            continue
        if not ocsp_signing(responder):
            return (f"the response is signed by {describe(responder)}, which the issuer "
                    "signed without the OCSP Signing purpose (id-kp-OCSPSigning): not an "
                    "authorised responder")
        if not responder.not_valid_before_utc <= now <= responder.not_valid_after_utc:
            return (f"the response is signed by the responder certificate "
                    f"{describe(responder)}, which is not valid now (expired "
                    f"{responder.not_valid_after_utc:%Y-%m-%d})")
        if signed_by(resp, responder.public_key()):
            return None
        return f"the signature does not verify with the responder {describe(responder)}'s key"
    return (f"the signature does not verify with the key of the issuer {describe(issuer)}, and "
            "no responder certificate the issuer authorised comes with the response")
