"""Revocation material: OCSP URLs and Must-Staple in certificates, CRL files, OCSP response files.

Everything is read the way nginx, Apache and OpenSSL read it: CRL files are PEM (several CRLs may
sit in one file), an `ssl_stapling_file` is one DER OCSP response. Problems come back as data
(`error`), never as exceptions, so rules can say what the server would say.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import warnings
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID

from certlint.pki.load import PEM_BLOCK, read_file
from certlint.pki.verify import extension, fingerprint, is_self_signed

MAX_CRL_FILES = 4096  # per SSLCARevocationPath directory


def ocsp_urls(cert: x509.Certificate) -> list[str]:
    """The OCSP responder URLs of the certificate's Authority Information Access extension."""
    return _aia_urls(cert, AuthorityInformationAccessOID.OCSP)


def ca_issuer_urls(cert: x509.Certificate) -> list[str]:
    """The caIssuers URLs of a certificate's AIA extension, in order."""
    return _aia_urls(cert, AuthorityInformationAccessOID.CA_ISSUERS)


def _aia_urls(cert: x509.Certificate, method: x509.ObjectIdentifier) -> list[str]:
    aia = extension(cert, x509.AuthorityInformationAccess)
    return [d.access_location.value for d in aia or ()
            if d.access_method == method
            and isinstance(d.access_location, x509.UniformResourceIdentifier)]


def must_staple(cert: x509.Certificate) -> bool:
    """True when the certificate carries the TLS Feature status_request (RFC 7633)."""
    feature = extension(cert, x509.TLSFeature)
    return feature is not None and x509.TLSFeatureType.status_request in list(feature)


def url_host(url: str) -> str:
    """The host part of an http URL ('' when there is none)."""
    try:
        return urlsplit(url).hostname or ""
    except ValueError:
        return ""


def is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        return False


def is_http_url(url: str, case_sensitive: bool = False) -> bool:
    """nginx accepts `http://` in any case; Apache compares the scheme with strcmp."""
    prefix = url[:7] if case_sensitive else url[:7].lower()
    return prefix == "http://" and len(url) > 7


# -- CRLs ------------------------------------------------------------------------------------


@dataclass
class CrlEntry:
    """One CRL and the file it came from."""

    crl: x509.CertificateRevocationList
    path: str

    @property
    def next_update(self) -> dt.datetime | None:
        return self.crl.next_update_utc

    @property
    def last_update(self) -> dt.datetime:
        return self.crl.last_update_utc

    @property
    def issuer(self) -> str:
        cns = self.crl.issuer.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
        return f"'{cns[0].value}'" if cns else f"'{self.crl.issuer.rfc4514_string()}'"


@dataclass
class CrlFile:
    """The CRLs of one file (or of every file in an SSLCARevocationPath directory)."""

    path: str
    crls: list[CrlEntry] = field(default_factory=list)
    error: str | None = None


def load_crl_bytes(path: str, data: bytes) -> CrlFile:
    result = CrlFile(path)
    blocks = [(label, body) for label, body in PEM_BLOCK.findall(data) if label == b"X509 CRL"]
    if not blocks:
        try:
            result.crls.append(CrlEntry(x509.load_der_x509_crl(data), path))
            result.error = ("holds a DER (binary) CRL; nginx and Apache need PEM "
                            "(nginx: PEM_read_bio_X509_CRL() failed). Convert it: "
                            "openssl crl -inform der -in FILE -out FILE.pem")
        except ValueError:
            result.error = "holds no PEM CRL ('-----BEGIN X509 CRL-----')"
        return result
    for label, body in blocks:
        pem = b"-----BEGIN " + label + b"-----\n" + body + b"-----END " + label + b"-----\n"
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result.crls.append(CrlEntry(x509.load_pem_x509_crl(pem), path))
        except ValueError:
            result.error = "holds a CRL block that cannot be decoded"
    return result


def load_crl_file(path: str) -> CrlFile:
    data, problem = read_file(path)
    if data is None:
        return CrlFile(path, error=problem)
    return load_crl_bytes(path, data)


def load_crl_dir(path: str) -> CrlFile:
    """Every CRL in a hashed directory (Apache SSLCARevocationPath), files in name order."""
    result = CrlFile(path)
    try:
        names = sorted(os.listdir(path))[:MAX_CRL_FILES]
    except OSError as exc:
        result.error = f"cannot be listed ({exc.strerror or exc.__class__.__name__})"
        return result
    for name in names:
        full = os.path.join(path, name)
        if os.path.isdir(full):
            continue
        loaded = load_crl_file(full)
        result.crls.extend(loaded.crls)
    return result


def crl_signed_by(entry: CrlEntry, ca: x509.Certificate) -> bool:
    if entry.crl.issuer != ca.subject:
        return False
    try:
        return bool(entry.crl.is_signature_valid(ca.public_key()))
    except (TypeError, ValueError):
        return False


def is_ca(cert: x509.Certificate) -> bool:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return is_self_signed(cert)


def unique(certs: list[x509.Certificate]) -> list[x509.Certificate]:
    seen, out = set(), []
    for cert in certs:
        fp = fingerprint(cert)
        if fp not in seen:
            seen.add(fp)
            out.append(cert)
    return out


# -- OCSP responses --------------------------------------------------------------------------


@dataclass
class OcspFile:
    """A DER OCSP response as `ssl_stapling_file` holds it."""

    path: str
    response: ocsp.OCSPResponse | None = None
    error: str | None = None


def load_ocsp_file(path: str) -> OcspFile:
    data, problem = read_file(path)
    if data is None:
        return OcspFile(path, error=problem)
    try:
        return OcspFile(path, ocsp.load_der_ocsp_response(data))
    except ValueError:
        hint = " (it looks like PEM or text; nginx needs DER)" if data[:1] in (b"-", b"O") else ""
        return OcspFile(path, error=f"is not a DER OCSP response{hint}")


def response_matches(resp: ocsp.OCSPResponse, cert: x509.Certificate) -> bool:
    """Is this (successful) response about `cert`? Serial and issuer-name hash of the CertID."""
    if resp.serial_number != cert.serial_number:
        return False
    digest = hashes.Hash(resp.hash_algorithm)
    digest.update(cert.issuer.public_bytes())
    return digest.finalize() == resp.issuer_name_hash


def cert_pem(*certs: x509.Certificate) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)
