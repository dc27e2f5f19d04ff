"""key-mismatch: the private key does not belong to the certificate the server sends first.

Reported only when the leaf is first; a key that belongs to a later certificate in the file is a
wrong order (chain-wrong-order), not a mismatch.
"""

from __future__ import annotations

from certlint.context import Context
from certlint.model import Site
from certlint.pki.chain import describe
from certlint.rules._util import analysed_slots, server_refuses
from certlint.rules.base import rule


@rule("key-mismatch")
def check(site: Site, ctx: Context):
    for slot, chain in analysed_slots(site, ctx):
        if chain.key_matches is not False or not chain.leaf_first:
            continue
        key = ctx.slot_key(slot)
        at = slot.key.directive if slot.key is not None else slot.cert.directive
        kind = f" ({key.description})" if key is not None and key.description else ""
        yield ctx.finding(
            "key-mismatch", at,
            f"{at.name} {at.value}: the private key{kind} does not belong to the certificate "
            f"{describe(chain.leaf_cert)} in {slot.cert.shown}; {server_refuses(site)}. "
            "Point the key directive at the certificate's own key (or the certificate "
            "directive at the key's certificate)", site)
