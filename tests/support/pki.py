"""A test PKI factory: play the CA with `cryptography` (roots, intermediates, leaves, CRLs).

Everything a test needs to build a case: AIA caIssuers / OCSP URLs, Must-Staple, chosen
validity windows, SHA-1 signatures, small keys. Keys default to EC P-256 (fast); RSA on request.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
DAY = dt.timedelta(days=1)


def new_key(kind: str = "ec", size: int = 2048):
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=size)
    curve = {256: ec.SECP256R1(), 384: ec.SECP384R1(), 2048: ec.SECP256R1()}.get(size,
                                                                              ec.SECP256R1())
    return ec.generate_private_key(curve)


def name(cn: str, org: str | None = "certlint test") -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    if org:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    return x509.Name(attrs)


@dataclass
class Issued:
    """A certificate and its private key."""

    cert: x509.Certificate
    key: object
    ca: CA | None = field(default=None, repr=False)

    @property
    def pem(self) -> bytes:
        return cert_pem(self.cert)

    @property
    def key_pem(self) -> bytes:
        return key_pem(self.key)


class CA:
    """A certificate authority: a root (self-signed) or an intermediate issued by `parent`."""

    def __init__(self, cn: str, parent: CA | None = None, key_kind: str = "ec",
                 not_before: dt.datetime | None = None, not_after: dt.datetime | None = None,
                 ca_issuers: list[str] | None = None, ocsp: list[str] | None = None,
                 crl_urls: list[str] | None = None, hash_alg=None, key=None,
                 path_length: int | None = None):
        self.cn = cn
        self.parent = parent
        self.key = key or new_key(key_kind)
        self.subject = name(cn)
        issuer_key = parent.key if parent else self.key
        builder = (
            x509.CertificateBuilder()
            .subject_name(self.subject)
            .issuer_name(parent.subject if parent else self.subject)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before or NOW - 3650 * DAY)
            .not_valid_after(not_after or NOW + 30 * 365 * DAY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()),
                           critical=False)
        )
        if parent:
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(parent.key.public_key()),
                critical=False)
        builder = _add_aia(builder, ca_issuers, ocsp)
        builder = _add_crl_dp(builder, crl_urls)
        self.cert = builder.sign(issuer_key, hash_alg or hashes.SHA256())

    @property
    def pem(self) -> bytes:
        return cert_pem(self.cert)

    @property
    def key_pem(self) -> bytes:
        return key_pem(self.key)

    def intermediate(self, cn: str, **kwargs) -> CA:
        return CA(cn, parent=self, **kwargs)

    def cross_sign(self, other: CA, not_after: dt.datetime | None = None,
                   not_before: dt.datetime | None = None) -> x509.Certificate:
        """`other`'s subject and key, issued by this CA (a cross-certificate)."""
        return (
            x509.CertificateBuilder()
            .subject_name(other.subject)
            .issuer_name(self.subject)
            .public_key(other.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before or NOW - 3650 * DAY)
            .not_valid_after(not_after or NOW + 3650 * DAY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )

    def leaf(self, *dns_names: str, key_kind: str = "ec", key_size: int = 2048,
             not_before: dt.datetime | None = None, not_after: dt.datetime | None = None,
             ca_issuers: list[str] | None = None, ocsp: list[str] | None = None,
             crl_urls: list[str] | None = None, must_staple: bool = False, hash_alg=None,
             ips: list[str] | None = None, client: bool = False, key=None) -> Issued:
        key = key or new_key(key_kind, key_size)
        names = list(dns_names) or ["example.test"]
        import ipaddress

        sans = [x509.DNSName(n) for n in names]
        sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in (ips or [])]
        eku = [ExtendedKeyUsageOID.CLIENT_AUTH] if client else [ExtendedKeyUsageOID.SERVER_AUTH]
        builder = (
            x509.CertificateBuilder()
            .subject_name(name(names[0], org=None))
            .issuer_name(self.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before or NOW - DAY)
            .not_valid_after(not_after or NOW + 20 * 365 * DAY)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.ExtendedKeyUsage(eku), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False)
        )
        builder = _add_aia(builder, ca_issuers, ocsp)
        builder = _add_crl_dp(builder, crl_urls)
        if must_staple:
            builder = builder.add_extension(
                x509.TLSFeature([x509.TLSFeatureType.status_request]), critical=False)
        cert = builder.sign(self.key, hash_alg or hashes.SHA256())
        return Issued(cert, key, self)

    def crl(self, revoked: list[x509.Certificate] = (), last_update: dt.datetime | None = None,
            next_update: dt.datetime | None = None) -> x509.CertificateRevocationList:
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.subject)
            .last_update(last_update or NOW - DAY)
            .next_update(next_update or NOW + 30 * DAY)
        )
        for cert in revoked:
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(cert.serial_number)
                .revocation_date(NOW - DAY).build())
        return builder.sign(self.key, hashes.SHA256())

    def chain_to_root(self) -> list[x509.Certificate]:
        """This CA's certificate and its parents', up to and including the root."""
        out, ca = [], self
        while ca is not None:
            out.append(ca.cert)
            ca = ca.parent
        return out


def _add_aia(builder, ca_issuers, ocsp):
    descriptions = [x509.AccessDescription(AuthorityInformationAccessOID.OCSP,
                                           x509.UniformResourceIdentifier(u))
                    for u in (ocsp or [])]
    descriptions += [x509.AccessDescription(AuthorityInformationAccessOID.CA_ISSUERS,
                                            x509.UniformResourceIdentifier(u))
                     for u in (ca_issuers or [])]
    if descriptions:
        builder = builder.add_extension(x509.AuthorityInformationAccess(descriptions),
                                        critical=False)
    return builder


def _add_crl_dp(builder, urls):
    if urls:
        builder = builder.add_extension(x509.CRLDistributionPoints([
            x509.DistributionPoint([x509.UniformResourceIdentifier(u)], None, None, None)
            for u in urls]), critical=False)
    return builder


def cert_pem(*certs: x509.Certificate) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def cert_der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def key_pem(key, password: bytes | None = None) -> bytes:
    enc = (serialization.BestAvailableEncryption(password) if password
           else serialization.NoEncryption())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc)


def crl_pem(crl) -> bytes:
    return crl.public_bytes(serialization.Encoding.PEM)


def write(path: str | os.PathLike, data: bytes, mode: int = 0o644) -> str:
    path = os.fspath(path)
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(data)
    os.chmod(path, mode)
    return path


@dataclass
class StandardPKI:
    """root -> intermediate -> leaf for one name: the shape most cases start from."""

    root: CA
    inter: CA
    leaf: Issued

    @classmethod
    def make(cls, *names: str, **leaf_kwargs) -> StandardPKI:
        root = CA("certlint Test Root")
        inter = root.intermediate("certlint Test Intermediate")
        leaf = inter.leaf(*(names or ("example.test",)), **leaf_kwargs)
        return cls(root, inter, leaf)

    def fullchain(self) -> bytes:
        return cert_pem(self.leaf.cert, self.inter.cert)
