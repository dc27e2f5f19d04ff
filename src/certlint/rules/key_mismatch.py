"""key-mismatch: the private key does not belong to the certificate the server sends first.

Reported only when the leaf is first; a key that belongs to a later certificate in the file is a
wrong order (chain-wrong-order), not a mismatch. What the server does depends on the key type:
OpenSSL files a key in the slot of its own type, so a same-type wrong key is refused at start
("key values mismatch") while an EC key for an RSA certificate (or the reverse) loads quietly
and leaves that certificate without a key: nginx starts and its handshakes fail.
"""

from __future__ import annotations

import os

from cryptography.hazmat.primitives import serialization

from certlint.context import Context
from certlint.model import Site
from certlint.pki.chain import describe, is_ca
from certlint.pki.load import describe_key
from certlint.rules._facts import slot_facts
from certlint.rules._util import analysed_slots, server_refuses, shown_name
from certlint.rules.base import rule


def _article(kind: str) -> str:
    return "a" if kind.startswith("DSA") else "an"


def _kind(description: str) -> str:
    return description.split(" ", 1)[0] if description else ""


@rule("key-mismatch")
def check(site: Site, ctx: Context):
    for slot, chain in analysed_slots(site, ctx):
        if chain.key_matches is not False or not chain.leaf_first:
            continue
        key = ctx.slot_key(slot)
        at = slot.key.directive if slot.key is not None else slot.cert.directive
        kind = f" ({key.description})" if key is not None and key.description else ""
        cert_kind = describe_key(chain.leaf_cert.public_key())
        consequence = server_refuses(site)
        types_differ = False
        if (site.server == "nginx" and key is not None and key.public is not None
                and _kind(key.description) != _kind(cert_kind)):
            other = _kind(describe_key(serialization.load_der_public_key(key.public)))
            types_differ = True
            consequence = (
                f"the certificate has {_article(cert_kind)} {cert_kind} key, so OpenSSL files "
                f"this {other} key in another slot: nginx starts without complaint, but the "
                "certificate has no private key and every handshake that needs it fails "
                "(clients see 'handshake failure'; nginx logs 'no shared cipher')")
        fix_hint = ("Point the key directive at the certificate's own key (or the certificate "
                    "directive at the key's certificate)")
        if (site.server == "nginx" and slot.key is not None
                and slot.cert.directive.block == "server" and slot.key.directive.block != "server"):
            # the server set its own certificate and inherited the http-level key
            key_d = slot.key.directive
            fix_hint = (f"This server block sets its own ssl_certificate but no "
                        f"ssl_certificate_key, so it inherits {key_d.value} from "
                        f"{os.path.basename(key_d.path)}:{key_d.line} (each directive is "
                        "inherited on its own). Add the certificate's own ssl_certificate_key "
                        "here")
            at = slot.cert.directive
        inherited = at is slot.cert.directive and slot.key is not None
        named = slot.key.directive if slot.key is not None else at
        all_ca = len(chain.served) > 1 and all(is_ca(c) for c in chain.served)
        if all_ca:
            fix_hint = (f"Every one of the {len(chain.served)} certificates in the file is a CA "
                        "certificate: the directive names a CA bundle, not the site's "
                        "certificate. " + fix_hint)
        yield ctx.finding(
            "key-mismatch", at,
            f"{shown_name(named)} {named.value}: the private key{kind} does not belong to the "
            f"certificate {describe(chain.leaf_cert)} in {slot.cert.shown}; {consequence}. "
            f"{fix_hint}", site, facts={**slot_facts(site, slot, ctx, chain),
                                         "key_inherited": inherited,
                                         "key_type_differs": types_differ,
                                         "all_ca": all_ca})
