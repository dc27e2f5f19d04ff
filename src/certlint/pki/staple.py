"""Judging a stapled OCSP response as clients that check staples do (RFC 6960 4.2.2.2, 3.2):
it must be a successful response, for the leaf (serial and issuer hashes), signed by the issuer
or by a responder certificate the issuer gave id-kp-OCSPSigning (see
`certlint.pki.ocsp_signature`), current (thisUpdate in the past, nextUpdate in the future) and
"good".

`judge_der` takes the DER from a live handshake; `judge_text` the response as
`openssl s_client -status` prints it in a transcript (no signature to check there).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.x509 import ocsp

from certlint.pki.chain import describe
from certlint.pki.ocsp_signature import ocsp_signing, signed_by
from certlint.pki.verify import issued_by

SKEW = dt.timedelta(minutes=5)


@dataclass
class Verdict:
    """What is wrong with a staple (`problems`, empty when it is fine) and what it says."""

    problems: list[str] = field(default_factory=list)
    facts: dict = field(default_factory=dict)


def _day(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M UTC")


def _utc(obj, name: str):
    value = getattr(obj, name + "_utc", None)
    if value is None:
        value = getattr(obj, name, None)
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
    return value


def _matches_issuer(single, leaf: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        want = ocsp.OCSPRequestBuilder().add_certificate(
            leaf, issuer, single.hash_algorithm).build()
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return False
    return (want.issuer_name_hash == single.issuer_name_hash
            and want.issuer_key_hash == single.issuer_key_hash)


def _is_responder_for(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    return ocsp_signing(cert) and issued_by(cert, issuer)


def _signer(resp, issuer: x509.Certificate) -> tuple[bool, str]:
    """Is the response signed by the issuer, or by a delegated responder of the issuer?"""
    if signed_by(resp, issuer.public_key()):
        return True, "the issuer"
    for cert in resp.certificates:
        if signed_by(resp, cert.public_key()):
            if _is_responder_for(cert, issuer):
                return True, f"the delegated responder {describe(cert)}"
            return False, (f"signed by {describe(cert)}, which the issuer did not authorize as "
                           "an OCSP responder (no id-kp-OCSPSigning certificate issued by it)")
    return False, "its signature does not verify with the issuer's key or a responder it authorized"


def judge_der(der: bytes, leaf: x509.Certificate, issuer: x509.Certificate | None,
              now: dt.datetime) -> Verdict:
    verdict = Verdict()
    try:
        resp = ocsp.load_der_ocsp_response(der)
    except ValueError:
        verdict.problems.append("is not a parseable OCSP response")
        return verdict
    if resp.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
        verdict.problems.append(f"is an OCSP error response "
                                f"({resp.response_status.name.lower()})")
        return verdict
    singles = list(getattr(resp, "responses", None) or [resp])
    mine = [s for s in singles if s.serial_number == leaf.serial_number
            and (issuer is None or _matches_issuer(s, leaf, issuer))]
    if not mine:
        other = singles[0]
        verdict.facts["staple_serial"] = f"{other.serial_number:X}"
        verdict.problems.append(
            f"is for another certificate (serial {other.serial_number:X}; the leaf "
            f"{describe(leaf)} has serial {leaf.serial_number:X})")
        return verdict
    single = mine[0]
    if issuer is not None:
        ok, why = _signer(resp, issuer)
        if not ok:
            verdict.problems.append(f"is not signed by the issuer or a responder it authorized: "
                                    f"{why}")
    this_update, next_update = _utc(single, "this_update"), _utc(single, "next_update")
    _times(verdict, this_update, next_update, now)
    status = single.certificate_status
    verdict.facts["cert_status"] = status.name.lower()
    if status == ocsp.OCSPCertStatus.REVOKED:
        when = _utc(single, "revocation_time")
        reason = single.revocation_reason
        verdict.problems.append(
            "says the certificate is revoked"
            + (f" since {_day(when)}" if when else "")
            + (f" (reason: {reason.name})" if reason is not None else ""))
    return verdict


def _times(verdict: Verdict, this_update, next_update, now: dt.datetime) -> None:
    if this_update is not None:
        verdict.facts["this_update"] = this_update.isoformat()
        if this_update > now + SKEW:
            verdict.problems.append(f"is not valid yet (thisUpdate {_day(this_update)})")
    if next_update is not None:
        verdict.facts["next_update"] = next_update.isoformat()
        if next_update < now:
            verdict.problems.append(f"is past its nextUpdate ({_day(next_update)}): a stale "
                                    "response")


FIELD = re.compile(r"^\s*([A-Za-z ]+?):\s*(.*?)\s*$", re.M)


def _text_time(value: str) -> dt.datetime | None:
    try:
        return dt.datetime.strptime(" ".join(value.split()), "%b %d %H:%M:%S %Y GMT").replace(
            tzinfo=dt.timezone.utc)
    except ValueError:
        return None


def judge_text(text: str, leaf: x509.Certificate, now: dt.datetime) -> Verdict:
    """A response as `openssl s_client -status` prints it: status, serial, times."""
    verdict = Verdict()
    fields: dict[str, str] = {}
    for m in FIELD.finditer(text):
        fields.setdefault(m.group(1).strip().lower(), m.group(2))
    status = fields.get("ocsp response status", "")
    if status and not status.lower().startswith("successful"):
        verdict.problems.append(f"is an OCSP error response ({status})")
        return verdict
    serial = fields.get("serial number", "").replace(":", "")
    try:
        number = int(serial, 16) if serial else None
    except ValueError:
        number = None
    if number is not None and number != leaf.serial_number:
        verdict.problems.append(f"is for another certificate (serial {number:X}; the leaf "
                                f"{describe(leaf)} has serial {leaf.serial_number:X})")
        return verdict
    _times(verdict, _text_time(fields.get("this update", "")),
           _text_time(fields.get("next update", "")), now)
    cert_status = fields.get("cert status", "").lower()
    if cert_status:
        verdict.facts["cert_status"] = cert_status
    if cert_status == "revoked":
        when = fields.get("revocation time")
        reason = fields.get("revocation reason")
        verdict.problems.append("says the certificate is revoked"
                                + (f" since {when}" if when else "")
                                + (f" (reason: {reason})" if reason else ""))
    return verdict
