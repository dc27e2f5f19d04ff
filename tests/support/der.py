"""Hand-made DER for certificates OpenSSL loads but `cryptography` refuses.

`cryptography` insists on strict DER; OpenSSL reads BER-ish encodings such as an extension that
spells out its default `critical FALSE`. `explicit_critical_false` re-encodes a certificate that
way and signs it again, so the issuing path still verifies for OpenSSL.
"""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def tlv(tag: int, content: bytes) -> bytes:
    return bytes([tag]) + _length(len(content)) + content


def _items(data: bytes) -> list[tuple[int, bytes]]:
    """The (tag, content) elements of a constructed value's content."""
    out, pos = [], 0
    while pos < len(data):
        tag = data[pos]
        first = data[pos + 1]
        if first < 0x80:
            length, head = first, 2
        else:
            count = first & 0x7F
            length = int.from_bytes(data[pos + 2:pos + 2 + count], "big")
            head = 2 + count
        out.append((tag, data[pos + head:pos + head + length]))
        pos += head + length
    return out


def explicit_critical_false(cert: x509.Certificate, issuer_key) -> bytes:
    """`cert` as DER with its first non-critical extension encoding `critical FALSE`
    explicitly (invalid DER, accepted by OpenSSL), re-signed by `issuer_key`."""
    (_tag, body), = _items(cert.public_bytes(Encoding.DER))
    tbs_tag, tbs = _items(body)[0]
    fields = _items(tbs)
    for i, (tag, content) in enumerate(fields):
        if tag == 0xA3:  # [3] EXPLICIT Extensions
            (seq_tag, exts), = _items(content)
            rebuilt, done = [], False
            for ext_tag, ext in _items(exts):
                parts = _items(ext)
                if not done and len(parts) == 2:  # OID, OCTET STRING: no critical flag
                    parts.insert(1, (0x01, b"\x00"))
                    done = True
                rebuilt.append(tlv(ext_tag, b"".join(tlv(t, c) for t, c in parts)))
            fields[i] = (tag, tlv(seq_tag, b"".join(rebuilt)))
    new_tbs = tlv(tbs_tag, b"".join(tlv(t, c) for t, c in fields))
    algo = cert.signature_hash_algorithm or hashes.SHA256()
    if isinstance(issuer_key, ec.EllipticCurvePrivateKey):
        signature = issuer_key.sign(new_tbs, ec.ECDSA(algo))
    elif isinstance(issuer_key, rsa.RSAPrivateKey):
        signature = issuer_key.sign(new_tbs, padding.PKCS1v15(), algo)
    else:
        raise TypeError("EC or RSA issuer keys only")
    sig_alg = tlv(*_items(body)[1])
    return tlv(0x30, new_tbs + sig_alg + tlv(0x03, b"\x00" + signature))


def pem(der: bytes) -> bytes:
    import base64

    b64 = base64.encodebytes(der).replace(b"\n", b"")
    lines = [b64[i:i + 64] for i in range(0, len(b64), 64)]
    return b"-----BEGIN CERTIFICATE-----\n" + b"\n".join(lines) + b"\n-----END CERTIFICATE-----\n"
