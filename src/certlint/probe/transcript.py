"""Served chains read from files: an `openssl s_client -showcerts [-status]` transcript (what
customers paste into tickets) and a PEM bundle exactly as a server would send it.

Both are untrusted input: reads are bounded (`pki.load.read_file`), and a file that is not what
it claims to be is a clear usage error (`SourceError`), never a traceback.
"""

from __future__ import annotations

import re
import warnings

from cryptography import x509

from certlint.model import ServedChain
from certlint.pki.load import CERT_LABELS, PEM_BLOCK, _b64, parse_cert_bytes, read_file


class SourceError(ValueError):
    """The transcript or bundle cannot be used (a usage error, exit code 2)."""


CHAIN_START = re.compile(r"^Certificate chain\s*$", re.M)
CHAIN_ENTRY = re.compile(r"^\s*\d+\s+s:", re.M)
SERVER_CERT = re.compile(r"^Server certificate\s*$", re.M)
SECTION_END = re.compile(r"^---\s*$", re.M)
OCSP_NONE = re.compile(r"^OCSP response:\s*no response sent", re.M)
OCSP_START = re.compile(r"^OCSP response:\s*$", re.M)
OCSP_FENCE = re.compile(r"^={10,}\s*$", re.M)


def _text(path: str) -> str:
    data, why = read_file(path)
    if data is None:
        raise SourceError(f"{path} {why}")
    text = data.decode("utf-8", errors="replace").replace("\r\n", "\n").replace("\r", "\n")
    # pasted into a ticket or an e-mail: indented or quoted lines ("> ")
    return "\n".join(re.sub(r"^(\s*>)*\s*", "", line) for line in text.split("\n"))


def _certs(section: str, path: str) -> list[x509.Certificate]:
    out = []
    for n, (label, body) in enumerate(PEM_BLOCK.findall(section.encode()), 1):
        if label not in CERT_LABELS:
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out.append(x509.load_der_x509_certificate(_b64(body)))
        except ValueError as exc:
            raise SourceError(f"{path}: certificate block {n} is corrupt (bad base64 or not a "
                              "certificate; was the transcript cut or re-wrapped?)") from exc
    return out


def read_transcript(path: str) -> ServedChain:
    """The chain in the order `s_client -showcerts` printed it, and the `-status` staple."""
    text = _text(path)
    start = CHAIN_START.search(text)
    if start is None:
        hint = (" (it holds PEM certificates: use --pem-file for a bundle)"
                if "-----BEGIN CERTIFICATE-----" in text else "")
        raise SourceError(f"{path} is not an `openssl s_client -showcerts` transcript: no "
                          f"'Certificate chain' section{hint}")
    rest = text[start.end():]
    server = SERVER_CERT.search(rest)
    chain_part = rest[:server.start()] if server else rest
    entries = len(CHAIN_ENTRY.findall(chain_part))
    certs = _certs(chain_part, path)
    if not certs and server is not None:
        # without -showcerts s_client prints only the server's own certificate
        end = SECTION_END.search(rest, server.end())
        certs = _certs(rest[server.end():end.start() if end else len(rest)], path)
        if entries > 1:
            raise SourceError(f"{path} was made without -showcerts: the server sent {entries} "
                              "certificates but the transcript holds only the first. Run "
                              "`openssl s_client -connect HOST:443 -servername HOST -showcerts "
                              "-status </dev/null`")
    if not certs:
        raise SourceError(f"{path}: the 'Certificate chain' section holds no PEM certificate "
                          "(make the transcript with -showcerts)")
    chain = ServedChain(certs=certs, source="transcript")
    head = text[:start.start()]
    if OCSP_NONE.search(head):
        chain.staple_seen = True
    else:
        ocsp = OCSP_START.search(head)
        if ocsp is not None:
            chain.staple_seen = True
            body = head[ocsp.end():]
            fences = list(OCSP_FENCE.finditer(body))
            if len(fences) >= 2:
                body = body[fences[0].end():fences[1].start()]
            chain.staple_text = body.strip() or None
    return chain


def read_pem_bundle(path: str) -> ServedChain:
    """A PEM bundle as a server sends it: every certificate, in file order."""
    data, why = read_file(path)
    if data is None:
        raise SourceError(f"{path} {why}")
    loaded = parse_cert_bytes(path, data)
    if not loaded.ok:
        raise SourceError(f"{path} {loaded.error}")
    return ServedChain(certs=list(loaded.certs), source="pem")
