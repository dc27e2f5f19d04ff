"""Signature checks: does this certificate really issue that one? Cached by fingerprint pair."""

from __future__ import annotations

from functools import lru_cache

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes


def fingerprint(cert: x509.Certificate) -> bytes:
    return cert.fingerprint(hashes.SHA256())


def issued_by(child: x509.Certificate, parent: x509.Certificate) -> bool:
    """True when `parent` is named as `child`'s issuer and its key verifies the signature."""
    if child.issuer != parent.subject:
        return False
    return _verify(child, parent)


@lru_cache(maxsize=65536)
def _verify(child: x509.Certificate, parent: x509.Certificate) -> bool:
    try:
        child.verify_directly_issued_by(parent)
        return True
    except (InvalidSignature, ValueError, TypeError):
        return False


def is_self_signed(cert: x509.Certificate) -> bool:
    return issued_by(cert, cert)
