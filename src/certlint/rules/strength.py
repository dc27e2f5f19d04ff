"""Strength rules: weak-signature (SHA-1 or worse) and weak-key (RSA < 2048, EC < 256 bits).

The self-signature of a trust anchor does not matter to clients, so it is not checked.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric import dsa, ec, rsa

from certlint.context import Context
from certlint.model import Site
from certlint.pki.chain import describe
from certlint.pki.verify import is_self_signed
from certlint.rules._util import analysed_slots
from certlint.rules.base import rule

WEAK_HASHES = {"md2", "md4", "md5", "sha1"}


@rule("weak-signature")
def check_signature(site: Site, ctx: Context):
    for slot, chain in analysed_slots(site, ctx):
        for i in chain.path:
            cert = chain.served[i]
            if is_self_signed(cert):
                continue
            algo = cert.signature_hash_algorithm
            name = algo.name.lower() if algo is not None else ""
            if name in WEAK_HASHES:
                yield ctx.finding(
                    "weak-signature", slot.cert.directive,
                    f"{slot.cert.shown}: {describe(cert)} is signed with {name.upper()}; browsers "
                    "and OpenSSL 3 clients reject it, and nginx or Apache built with OpenSSL 3 "
                    "(Debian 12, Ubuntu 22.04+, RHEL 9) refuse to load it: "
                    "SSL_CTX_use_certificate(...) failed (... ca md too weak). Reissue with "
                    "SHA-256", site)


def weakness(public_key) -> str | None:
    if isinstance(public_key, rsa.RSAPublicKey) and public_key.key_size < 2048:
        return f"an RSA {public_key.key_size}-bit key (minimum 2048)"
    if isinstance(public_key, ec.EllipticCurvePublicKey) and public_key.key_size < 256:
        return f"an EC {public_key.key_size}-bit key (minimum 256)"
    if isinstance(public_key, dsa.DSAPublicKey):
        return "a DSA key (no longer supported by browsers)"
    return None


@rule("weak-key")
def check_key(site: Site, ctx: Context):
    for slot, chain in analysed_slots(site, ctx):
        for i in chain.path:
            cert = chain.served[i]
            weak = weakness(cert.public_key())
            if weak:
                yield ctx.finding(
                    "weak-key", slot.cert.directive,
                    f"{slot.cert.shown}: {describe(cert)} has {weak}; OpenSSL 3 clients at the "
                    "default security level refuse it, and nginx or Apache built with OpenSSL 3 "
                    "(Debian 12, Ubuntu 22.04+, RHEL 9) will not even load it: "
                    "SSL_CTX_use_certificate(...) failed (... ee key too small / ca key too "
                    "small). Reissue with RSA 2048+ or ECDSA P-256", site)
