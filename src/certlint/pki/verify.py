"""Signature checks: does this certificate really issue that one? Cached by certificate pair.

`verify_directly_issued_by` refuses legacy algorithms (SHA-1, MD5): those are exactly the
certificates weak-signature must still place in their chain, so a plain public-key check with
the certificate's own hash algorithm is the fallback.
"""

from __future__ import annotations

from functools import lru_cache

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, padding, rsa
from cryptography.x509.oid import SignatureAlgorithmOID

from certlint.pki.der import elements, tlv


def per_certificate(fn):
    """Cache a one-certificate function by object identity: hashing a certificate re-hashes its
    DER (about 1 us a time, dozens of times per site). The cache holds the certificate, so its
    id stays its own; PkiStore hands out one object per distinct certificate."""
    cache: dict[int, tuple] = {}

    def cached(cert):
        hit = cache.get(id(cert))
        if hit is not None and hit[0] is cert:
            return hit[1]
        if len(cache) >= 65536:
            cache.clear()
        value = fn(cert)
        cache[id(cert)] = (cert, value)
        return value

    cached.__doc__, cached.__name__, cached.__wrapped__ = fn.__doc__, fn.__name__, fn
    return cached


@per_certificate
def fingerprint(cert: x509.Certificate) -> bytes:
    return cert.fingerprint(hashes.SHA256())


@per_certificate
def subject_der(cert: x509.Certificate) -> bytes:
    """The DER subject name (cached: cryptography builds a new Name object on every access)."""
    names = _tbs_names(cert)
    return names[1] if names is not None else cert.subject.public_bytes()


@per_certificate
def issuer_der(cert: x509.Certificate) -> bytes:
    names = _tbs_names(cert)
    return names[0] if names is not None else cert.issuer.public_bytes()


@per_certificate
def _tbs_names(cert: x509.Certificate) -> tuple[bytes, bytes] | None:
    """(issuer, subject) as encoded in the certificate: the DER elements read out of the
    to-be-signed part. cryptography parses certificates as strict DER, so these are the bytes
    `Name.public_bytes()` re-encodes, without building the Name objects (the costliest part of
    a chain walk after the signature itself). None when the layout is not the expected one;
    callers then re-encode."""
    try:
        tag, body, _end = tlv(cert.tbs_certificate_bytes, 0)
        fields = elements(body, 6)
    except (IndexError, ValueError):
        return None
    if tag != 0x30:
        return None
    if fields and fields[0][0] == 0xA0:  # [0] EXPLICIT version
        fields = fields[1:]
    if len(fields) < 5 or fields[2][0] != 0x30 or fields[4][0] != 0x30:
        return None  # serial, signature algorithm, issuer, validity, subject
    return fields[2][1], fields[4][1]


@per_certificate
def cert_spki(cert: x509.Certificate) -> bytes:
    """The DER SubjectPublicKeyInfo of a certificate's key."""
    from certlint.pki.load import spki

    return spki(cert.public_key())


@per_certificate
def _extension_values(cert: x509.Certificate) -> dict[type, object]:
    """{extension class: value}, parsed once per certificate (cryptography's lookup by class
    walks every extension with an isinstance check on each call). Raises as
    `cert.extensions` does for malformed extensions; nothing is cached then."""
    return {type(ext.value): ext.value for ext in cert.extensions}


def extension(cert: x509.Certificate, cls):
    """The value of the certificate's extension of class `cls` (x509.KeyUsage, ...), or None
    when it has none or its extensions cannot be parsed."""
    try:
        return _extension_values(cert).get(cls)
    except ValueError:
        return None


@per_certificate
def subject_key_id(cert: x509.Certificate) -> bytes | None:
    """The Subject Key Identifier, or None."""
    ski = extension(cert, x509.SubjectKeyIdentifier)
    return ski.digest if ski is not None else None


@per_certificate
def authority_key_id(cert: x509.Certificate) -> bytes | None:
    """The key identifier of the Authority Key Identifier, or None."""
    aki = extension(cert, x509.AuthorityKeyIdentifier)
    return aki.key_identifier if aki is not None else None


def may_issue(child: x509.Certificate, parent: x509.Certificate) -> bool:
    """Cheap pre-check before a signature check: the names match and, where both carry key
    identifiers, they agree (OpenSSL's X509_check_akid). Never a signature."""
    if issuer_der(child) != subject_der(parent):
        return False
    aki = authority_key_id(child)
    ski = subject_key_id(parent) if aki is not None else None
    return aki is None or ski is None or aki == ski


def issued_by(child: x509.Certificate, parent: x509.Certificate) -> bool:
    """True when `parent` is named as `child`'s issuer and its key verifies the signature."""
    if issuer_der(child) != subject_der(parent):
        return False  # names compared as DER, as the chain builder indexes them
    return _verify(child, parent)


@lru_cache(maxsize=65536)
def _verify(child: x509.Certificate, parent: x509.Certificate) -> bool:
    oid = child.signature_algorithm_oid
    if oid in ECDSA_SHA2 or oid in RSA_PKCS1_SHA2:
        # the common case, with the issuer's key parsed once however many leaves it signed
        return _verify_with(child, _public_key(parent))
    try:
        child.verify_directly_issued_by(parent)
        return True
    except InvalidSignature:
        return False
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return _verify_legacy(child, parent)


ECDSA_SHA2 = {SignatureAlgorithmOID.ECDSA_WITH_SHA256, SignatureAlgorithmOID.ECDSA_WITH_SHA384,
              SignatureAlgorithmOID.ECDSA_WITH_SHA512}
RSA_PKCS1_SHA2 = {SignatureAlgorithmOID.RSA_WITH_SHA256, SignatureAlgorithmOID.RSA_WITH_SHA384,
                  SignatureAlgorithmOID.RSA_WITH_SHA512}


@lru_cache(maxsize=4096)
def _public_key(cert: x509.Certificate):
    return cert.public_key()


def signature_ok(key, signature: bytes, data: bytes, algorithm) -> bool:
    """Does `key` verify `signature` over `data`? RSA PKCS#1 v1.5, ECDSA and DSA with the hash
    `algorithm`, Ed25519 and Ed448 without one; any other key, a key that does not fit the
    algorithm, or a bad signature: False. (RSA-PSS needs its parameters: its callers check it.)"""
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(algorithm))
        elif isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, data, padding.PKCS1v15(), algorithm)
        elif isinstance(key, dsa.DSAPublicKey):
            key.verify(signature, data, algorithm)
        elif isinstance(key, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)):
            key.verify(signature, data)
        else:
            return False
        return True
    except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
        return False


def _verify_with(child: x509.Certificate, key) -> bool:
    """ECDSA or RSA PKCS#1 v1.5 with SHA-2, checked against an already parsed issuer key."""
    if not isinstance(key, (ec.EllipticCurvePublicKey, rsa.RSAPublicKey)):
        return False  # the signature's algorithm does not fit the issuer's key type
    return signature_ok(key, child.signature, child.tbs_certificate_bytes,
                        child.signature_hash_algorithm)


def _verify_legacy(child: x509.Certificate, parent: x509.Certificate) -> bool:
    """Check a signature made with an algorithm `verify_directly_issued_by` no longer accepts."""
    try:
        key, algorithm = parent.public_key(), child.signature_hash_algorithm
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return False
    return signature_ok(key, child.signature, child.tbs_certificate_bytes, algorithm)


@per_certificate
def is_self_signed(cert: x509.Certificate) -> bool:
    return issued_by(cert, cert)
