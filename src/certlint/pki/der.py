"""Just enough DER to read what `cryptography` does not hand out: the encoded names of a
certificate, the RSASSA-PSS parameters of an OCSP response. Reads only; every length is
checked against the data, and malformed input raises ValueError or IndexError."""

from __future__ import annotations


def tlv(der: bytes, pos: int) -> tuple[int, bytes, int]:
    """The DER element at `pos`: its tag, its content and where it ends."""
    tag, first = der[pos], der[pos + 1]
    if first < 0x80:
        head, length = 2, first
    else:
        count = first & 0x7F
        if not 1 <= count <= 4:
            raise ValueError("unsupported DER length")
        head, length = 2 + count, int.from_bytes(der[pos + 2:pos + 2 + count], "big")
    end = pos + head + length
    if end > len(der):
        raise ValueError("truncated DER")
    return tag, der[pos + head:end], end


def items(content: bytes) -> list[tuple[int, bytes]]:
    """The (tag, content) elements inside a constructed element's content."""
    out, pos = [], 0
    while pos < len(content):
        tag, inner, pos = tlv(content, pos)
        out.append((tag, inner))
    return out


def elements(content: bytes, count: int) -> list[tuple[int, bytes]]:
    """The first `count` elements inside a constructed element's content, each as (tag, its
    whole encoding): only as far as needed (a certificate's names come before its extensions)."""
    out, pos = [], 0
    while pos < len(content) and len(out) < count:
        start = pos
        tag, _inner, pos = tlv(content, pos)
        out.append((tag, content[start:pos]))
    return out
