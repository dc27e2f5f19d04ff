"""Who may sign an OCSP response, and did they: shared by the online OCSP check
(`certlint.pki.ocsp_check`) and the stapled-response judge (`certlint.pki.staple`).

`signed_by(resp, key)` verifies the response signature with one public key, by the signature
algorithm the response names: RSA PKCS#1 v1.5, RSA-PSS (its hash, MGF1 hash and salt length read
from the algorithm parameters, as OpenSSL's OCSP_basic_verify does; `cryptography` does not
parse them for OCSP responses), ECDSA, DSA, Ed25519 or Ed448 (certlint.pki.verify.signature_ok).
`ocsp_signing(cert)` says whether a certificate carries id-kp-OCSPSigning, which a delegated
responder certificate needs (RFC 6960 4.2.2.2).
"""

from __future__ import annotations

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, SignatureAlgorithmOID

from certlint.pki.der import items, tlv
from certlint.pki.verify import extension, signature_ok

# DER contents of the hash OIDs RSASSA-PSS-params may name (RFC 4055)
_HASHES = {
    bytes.fromhex("2b0e03021a"): hashes.SHA1,
    bytes.fromhex("608648016503040204"): hashes.SHA224,
    bytes.fromhex("608648016503040201"): hashes.SHA256,
    bytes.fromhex("608648016503040202"): hashes.SHA384,
    bytes.fromhex("608648016503040203"): hashes.SHA512,
}
_MGF1 = bytes.fromhex("2a864886f70d010108")
_OID, _SEQUENCE, _INTEGER = 0x06, 0x30, 0x02


def signed_by(resp: ocsp.OCSPResponse, key) -> bool:
    """Does `key` verify the signature of the (successful) response `resp`?"""
    try:
        data, sig = resp.tbs_response_bytes, resp.signature
        if resp.signature_algorithm_oid == SignatureAlgorithmOID.RSASSA_PSS:
            pss = _pss(resp)
            if pss is None or not isinstance(key, rsa.RSAPublicKey):
                return False
            key.verify(sig, data, pss[0], pss[1])
            return True
        algorithm = resp.signature_hash_algorithm
    except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
        return False
    return signature_ok(key, sig, data, algorithm)


def ocsp_signing(cert: x509.Certificate) -> bool:
    """Does `cert` carry the OCSP Signing purpose (id-kp-OCSPSigning)?"""
    eku = extension(cert, x509.ExtendedKeyUsage)
    return eku is not None and ExtendedKeyUsageOID.OCSP_SIGNING in list(eku)


def _pss(resp: ocsp.OCSPResponse) -> tuple[padding.PSS, hashes.HashAlgorithm] | None:
    """The PSS padding and hash the response's RSASSA-PSS-params name (RFC 4055 3.1; absent
    fields take the defaults SHA-1, MGF1 with SHA-1, salt length 20), None when unreadable."""
    try:
        der = resp.public_bytes(Encoding.DER)
        tbs = resp.tbs_response_bytes
        start = der.find(tbs)
        if start < 0:
            return None
        # BasicOCSPResponse: tbsResponseData, then the signatureAlgorithm AlgorithmIdentifier
        tag, algorithm_id, _end = tlv(der, start + len(tbs))
        fields = items(algorithm_id)
        if tag != _SEQUENCE or len(fields) != 2 or fields[1][0] != _SEQUENCE:
            return None
        digest, mgf_digest, salt = hashes.SHA1, hashes.SHA1, 20
        for field_tag, content in items(fields[1][1]):
            (inner_tag, inner), = items(content)
            if field_tag == 0xA0 and inner_tag == _SEQUENCE:
                digest = _hash_of(inner)
            elif field_tag == 0xA1 and inner_tag == _SEQUENCE:
                mgf = items(inner)
                if mgf[0] != (_OID, _MGF1) or mgf[1][0] != _SEQUENCE:
                    return None
                mgf_digest = _hash_of(mgf[1][1])
            elif field_tag == 0xA2 and inner_tag == _INTEGER:
                salt = int.from_bytes(inner, "big", signed=True)
        if digest is None or mgf_digest is None or salt < 0:
            return None
        return padding.PSS(padding.MGF1(mgf_digest()), salt), digest()
    except (ValueError, IndexError):
        return None


def _hash_of(algorithm_id: bytes):
    """The hash class an AlgorithmIdentifier's content names, or None."""
    tag, oid = items(algorithm_id)[0]
    return _HASHES.get(oid) if tag == _OID else None
