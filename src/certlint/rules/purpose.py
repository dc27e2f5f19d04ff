"""cert-wrong-purpose: a certificate on the served path is used for something its own
extensions forbid, judged as OpenSSL's `X509_verify_cert` judges it for a TLS client (purpose
`sslserver`, crypto/x509/v3_purp.c and x509_vfy.c):

- the leaf's extended key usage lacks serverAuth (anyExtendedKeyUsage alone does not do), or
  its key usage allows none of digitalSignature, keyEncipherment, keyAgreement: verify error 26
  "unsupported certificate purpose";
- an intermediate (or the anchor) whose extended key usage lacks serverAuth: error 26 as well;
- an intermediate that is no CA (basicConstraints CA:FALSE, or absent with no key usage) or whose
  key usage lacks keyCertSign: error 79 "invalid CA certificate" (OpenSSL 1.1: 24);
- a CA's basicConstraints pathLength exceeded by the non-self-issued CAs below it: error 25
  "path length constraint exceeded";
- a CA's name constraints (DNS names and IP addresses) violated by a certificate below it:
  error 47 "permitted subtree violation" / 48 "excluded subtree violation".
"""

from __future__ import annotations

import ipaddress

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from certlint.context import Context
from certlint.model import Site
from certlint.pki.chain import describe
from certlint.pki.verify import extension, issuer_der, subject_der
from certlint.rules._util import analysed_slots, chain_directive
from certlint.rules.base import rule

SERVER_AUTH = ExtendedKeyUsageOID.SERVER_AUTH
SGC = {x509.ObjectIdentifier("2.16.840.1.113730.4.1"),  # Netscape SGC
       x509.ObjectIdentifier("1.3.6.1.4.1.311.10.3.3")}  # Microsoft SGC
EKU_NAMES = {SERVER_AUTH: "serverAuth", ExtendedKeyUsageOID.CLIENT_AUTH: "clientAuth",
             ExtendedKeyUsageOID.CODE_SIGNING: "codeSigning",
             ExtendedKeyUsageOID.EMAIL_PROTECTION: "emailProtection",
             ExtendedKeyUsageOID.TIME_STAMPING: "timeStamping",
             ExtendedKeyUsageOID.OCSP_SIGNING: "OCSPSigning",
             ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE: "anyExtendedKeyUsage"}
CLIENTS = "clients refuse it"


def _ext(cert: x509.Certificate, cls):
    return extension(cert, cls)


def eku_problem(cert: x509.Certificate) -> str | None:
    """Why the extended key usage rules out a TLS server (OpenSSL's xku_reject), or None."""
    eku = _ext(cert, x509.ExtendedKeyUsage)
    if eku is None or SERVER_AUTH in eku or any(oid in SGC for oid in eku):
        return None
    names = ", ".join(EKU_NAMES.get(oid, oid.dotted_string) for oid in eku) or "empty"
    return f"its extended key usage ({names}) lacks serverAuth"


def leaf_ku_problem(cert: x509.Certificate) -> str | None:
    ku = _ext(cert, x509.KeyUsage)
    if ku is None or ku.digital_signature or ku.key_encipherment or ku.key_agreement:
        return None
    return ("its key usage allows none of digitalSignature, keyEncipherment and keyAgreement, "
            "which a TLS server key needs")


def ca_problem(cert: x509.Certificate) -> str | None:
    """OpenSSL's check_ca for a certificate that must be a CA (error 79), or None."""
    ku = _ext(cert, x509.KeyUsage)
    if ku is not None and not ku.key_cert_sign:
        return "its key usage lacks keyCertSign"
    bc = _ext(cert, x509.BasicConstraints)
    if bc is not None:
        return None if bc.ca else "its basicConstraints say CA:FALSE"
    if ku is not None or cert.version == x509.Version.v1:
        return None  # tolerated by OpenSSL (key usage with certSign, or a v1 root)
    return "it has no basicConstraints extension, so it is no CA certificate"


def _self_issued(cert: x509.Certificate) -> bool:
    # equal DER names are equal names: the Name objects are built only when the bytes differ
    return subject_der(cert) == issuer_der(cert) or cert.subject == cert.issuer


def _dns_names(cert: x509.Certificate, leaf: bool) -> list[str]:
    san = _ext(cert, x509.SubjectAlternativeName)
    names = list(san.get_values_for_type(x509.DNSName)) if san is not None else []
    if not names and leaf:  # OpenSSL checks a host-like CN when there is no DNS SAN
        names = [a.value for a in cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
                 if isinstance(a.value, str) and "." in a.value and " " not in a.value]
    return names


def _ips(cert: x509.Certificate) -> list:
    san = _ext(cert, x509.SubjectAlternativeName)
    return list(san.get_values_for_type(x509.IPAddress)) if san is not None else []


def _dns_in(name: str, base: str) -> bool:
    """OpenSSL's nc_dns: `base` matches itself and any name with more labels on the left."""
    name, base = name.lower(), base.lower()
    if not base:
        return True
    if len(name) < len(base):
        return False
    if len(name) > len(base) and not base.startswith(".") and name[-len(base) - 1] != ".":
        return False
    return name.endswith(base)


def _ip_in(ip, network) -> bool:
    return isinstance(network, (ipaddress.IPv4Network, ipaddress.IPv6Network)) and \
        ip.version == network.version and ip in network


def constraint_problem(ca: x509.Certificate, cert: x509.Certificate, leaf: bool
                       ) -> tuple[int, str] | None:
    """(openssl error, words) when `cert` breaks `ca`'s name constraints, else None."""
    nc = _ext(ca, x509.NameConstraints)
    if nc is None:
        return None
    permitted = list(nc.permitted_subtrees or [])
    excluded = list(nc.excluded_subtrees or [])
    perm_dns = [g.value for g in permitted if isinstance(g, x509.DNSName)]
    excl_dns = [g.value for g in excluded if isinstance(g, x509.DNSName)]
    perm_ip = [g.value for g in permitted if isinstance(g, x509.IPAddress)]
    excl_ip = [g.value for g in excluded if isinstance(g, x509.IPAddress)]
    for name in _dns_names(cert, leaf):
        hit = next((b for b in excl_dns if _dns_in(name, b)), None)
        if hit is not None:
            return 48, f"its name {name} is in the excluded subtree {hit}"
        if perm_dns and not any(_dns_in(name, b) for b in perm_dns):
            return 47, f"its name {name} is outside the permitted subtrees ({', '.join(perm_dns)})"
    for ip in _ips(cert):
        hit = next((n for n in excl_ip if _ip_in(ip, n)), None)
        if hit is not None:
            return 48, f"its address {ip} is in the excluded subtree {hit}"
        if perm_ip and not any(_ip_in(ip, n) for n in perm_ip):
            return 47, f"its address {ip} is outside the permitted subtrees"
    return None


OPENSSL_ERRORS = {  # as OpenSSL 3 words them
    79: "'invalid CA certificate' (openssl verify error 79; OpenSSL 1.1: error 24)",
    25: "'path length constraint exceeded' (openssl verify error 25)",
    26: "'unsuitable certificate purpose' (openssl verify error 26; OpenSSL 1.1: "
        "'unsupported certificate purpose')",
    47: "'permitted subtree violation' (openssl verify error 47)",
    48: "'excluded subtree violation' (openssl verify error 48)",
}


def problems(certs: list[x509.Certificate]) -> list[tuple[int, int, str]]:
    """(position in `certs`, openssl error, words) for every purpose, CA, path length and name
    constraint problem of a path (leaf first, anchor last), in OpenSSL's order per certificate."""
    found: list[tuple[int, int, str]] = []
    plen = 0  # non-self-issued CA certificates below the current one
    for i, cert in enumerate(certs):
        if i == 0:
            why = eku_problem(cert) or leaf_ku_problem(cert)
            if why:
                found.append((0, 26, why))
            continue
        why = ca_problem(cert)
        if why and i < len(certs) - 1:  # OpenSSL is lenient with the anchor here
            found.append((i, 79, why))
        why = eku_problem(cert)
        if why:
            found.append((i, 26, why))
        bc = _ext(cert, x509.BasicConstraints)
        if i > 1 and bc is not None and bc.path_length is not None and plen > bc.path_length:
            found.append((i, 25, f"its pathLength is {bc.path_length} but {plen} CA "
                                 "certificate(s) stand between it and the leaf"))
        if not _self_issued(cert):
            plen += 1
    for i, ca in enumerate(certs[1:], 1):
        for j in range(i):
            hit = constraint_problem(ca, certs[j], leaf=j == 0)
            if hit is not None:
                found.append((j, hit[0], f"{hit[1]} of the CA {describe(ca)}"))
                break
    return found


@rule("cert-wrong-purpose")
def check(site: Site, ctx: Context):
    for slot, chain in analysed_slots(site, ctx):
        # the leaf is judged wherever it sits in the file: once the order is fixed, its
        # purpose problem is what remains (the differential test found fix saying "0 remain")
        certs = chain.path_certs()
        if chain.anchor is not None and all(c is not chain.anchor for c in certs):
            certs = certs + [chain.anchor]
        for i, code, why in problems(certs):
            what = "the leaf" if i == 0 else f"the CA certificate {describe(certs[i])}"
            if i == 0:
                what += f" {describe(certs[0])}"
            at = slot.cert.directive if i == 0 else chain_directive(site, slot)
            hint = ("Reissue the certificate as a TLS server certificate (extended key usage "
                    "serverAuth)" if i == 0 else
                    "Serve a chain through CA certificates allowed to issue it (ask the CA for "
                    "the right intermediate)")
            yield ctx.finding(
                "cert-wrong-purpose", at,
                f"{slot.cert.shown}: {what}: {why}. The server starts, but every client that "
                f"verifies fails with {OPENSSL_ERRORS[code]}; browsers refuse it too. {hint}",
                site)
