"""Strength rules: weak-signature (SHA-1 or worse) and weak-key (RSA < 2048, EC < 256 bits,
DSA at all; a DSA key's strength is set by its q as much as its p, as OpenSSL counts it).

The self-signature of a trust anchor does not matter to clients, so it is not checked.
"""

from __future__ import annotations

import re

from cryptography.hazmat.primitives.asymmetric import dsa, ec, rsa

from certlint.context import Context
from certlint.model import Site
from certlint.pki.chain import describe
from certlint.pki.verify import is_self_signed
from certlint.rules._util import analysed_slots
from certlint.rules.base import CHAIN_SOURCES, rule

WEAK_HASHES = {"md2", "md4", "md5", "sha1"}
SECLEVEL = re.compile(r"@SECLEVEL=(\d)")
LOADS_ANYWAY = ("nginx or Apache built with OpenSSL 3 (Debian 12, Ubuntu 22.04+, RHEL 9) "
                "refuse to load it")


def lowered_level(site: Site) -> tuple[int, str] | None:
    """(level, directive) when the cipher string lowers OpenSSL's security level, which is
    what lets a server built with OpenSSL 3 load a weak certificate at all."""
    name = "ssl_ciphers" if site.server == "nginx" else "sslciphersuite"
    d = site.get(name)
    m = SECLEVEL.search(" ".join(d.args)) if d is not None else None
    return (int(m.group(1)), "ssl_ciphers" if site.server == "nginx" else "SSLCipherSuite") \
        if m else None


DEFAULT_LEVEL = 2  # OpenSSL 3 as built by Debian 12, Ubuntu 22.04+ and RHEL 9


def server_side(site: Site, max_level: int, error: str) -> tuple[str, bool]:
    """What the server itself does with the weak certificate, given the configured level:
    the words for the message, and whether it refuses to load it (then it will not start)."""
    if site.server == "probe":  # it is served: the server's OpenSSL allows it
        return ("this server sends it anyway (an older OpenSSL, or a lowered security level); "
                "the next OpenSSL 3 build of the server will refuse to load it"), False
    lowered = lowered_level(site)
    if lowered is not None and lowered[0] <= max_level:
        return (f"the server loads it only because {lowered[1]} lowers OpenSSL's security "
                f"level (@SECLEVEL={lowered[0]}); clients at their default level still refuse "
                "it"), False
    if lowered is None and max_level >= DEFAULT_LEVEL:
        return "the server itself still loads it", False
    return f"{LOADS_ANYWAY}: SSL_CTX_use_certificate(...) failed (... {error})", True


def _bn_security_bits(l_bits: int, n_bits: int | None = None) -> int:
    """OpenSSL's BN_security_bits: the strength of a modulus of `l_bits`, capped for DSA by
    half the size of its subgroup order q (`n_bits`)."""
    secbits = next((b for size, b in ((15360, 256), (7680, 192), (3072, 128), (2048, 112),
                                      (1024, 80)) if l_bits >= size), 0)
    if n_bits is None:
        return secbits
    half = n_bits // 2
    return 0 if half < 80 else min(half, secbits)


def security_bits(public_key) -> int:
    """The security bits OpenSSL assigns a key (what `@SECLEVEL` compares against)."""
    if isinstance(public_key, rsa.RSAPublicKey):
        return _bn_security_bits(public_key.key_size)
    if isinstance(public_key, dsa.DSAPublicKey):
        q = public_key.parameters().parameter_numbers().q
        return _bn_security_bits(public_key.key_size, q.bit_length())
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        size = public_key.key_size
        return next((b for bits, b in ((512, 256), (384, 192), (256, 128), (224, 112),
                                       (160, 80)) if size >= bits), size // 2)
    return 128  # Ed25519 and the like


LEVEL_BITS = ((5, 256), (4, 192), (3, 128), (2, 112), (1, 80))


def loads_up_to(public_key) -> int:
    """The highest OpenSSL security level that accepts this key (1: 80 bits, 2: 112 bits)."""
    bits = security_bits(public_key)
    return next((level for level, need in LEVEL_BITS if bits >= need), 0)


@rule("weak-signature", sources=CHAIN_SOURCES)
def check_signature(site: Site, ctx: Context):
    for slot, chain in analysed_slots(site, ctx):
        for i in chain.path:
            cert = chain.served[i]
            if is_self_signed(cert):
                continue
            algo = cert.signature_hash_algorithm
            name = algo.name.lower() if algo is not None else ""
            if name in WEAK_HASHES:
                server, refuses = server_side(site, 0, "ca md too weak")
                yield ctx.finding(
                    "weak-signature", slot.cert.directive,
                    f"{slot.cert.shown}: {describe(cert)} is signed with {name.upper()}; browsers "
                    "and OpenSSL 3 clients reject it ('CA signature digest algorithm too weak', "
                    "openssl verify error 68), and "
                    f"{server}. Reissue with SHA-256", site,
                    severity="error" if refuses else None)


def weakness(public_key) -> str | None:
    if isinstance(public_key, rsa.RSAPublicKey) and public_key.key_size < 2048:
        return f"an RSA {public_key.key_size}-bit key (minimum 2048)"
    if isinstance(public_key, ec.EllipticCurvePublicKey) and public_key.key_size < 256:
        return f"an EC {public_key.key_size}-bit key (minimum 256)"
    if isinstance(public_key, dsa.DSAPublicKey):
        q_bits = public_key.parameters().parameter_numbers().q.bit_length()
        strength = security_bits(public_key)
        if strength < 112:
            return (f"a DSA key with a {public_key.key_size}-bit p but a {q_bits}-bit q: "
                    f"{strength} bits of security, as OpenSSL counts it (the smaller of p's "
                    "strength and half of q), below the 112 of the default security level; "
                    "and DSA is no longer supported by browsers")
        return "a DSA key (no longer supported by browsers)"
    return None


@rule("weak-key", sources=CHAIN_SOURCES)
def check_key(site: Site, ctx: Context):
    for slot, chain in analysed_slots(site, ctx):
        for i in chain.path:
            cert = chain.served[i]
            weak = weakness(cert.public_key())
            if weak:
                server, refuses = server_side(site, loads_up_to(cert.public_key()),
                                              "ee key too small / ca key too small")
                yield ctx.finding(
                    "weak-key", slot.cert.directive,
                    f"{slot.cert.shown}: {describe(cert)} has {weak}; OpenSSL 3 clients at the "
                    "default security level refuse it ("
                    + ("'EE certificate key too weak', openssl verify error 66" if i == chain.leaf
                       else "'CA certificate key too weak', openssl verify error 67")
                    + f"), and {server}. Reissue with RSA 2048+ or ECDSA P-256", site,
                    severity="error" if refuses else None)
