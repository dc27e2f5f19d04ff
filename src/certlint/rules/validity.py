"""Validity rules: cert-expired, cert-not-yet-valid, cert-expiring-soon.

They judge every certificate the server sends: the ones in the files, and the ones Apache adds
itself from SSLCACertificateFile / SSLCACertificatePath when SSLCertificateFile holds only the
leaf (OpenSSL sends them whatever their dates: an expired intermediate there fails every client
with verify error 10, checked with apache2 and s_client). Those are reported at the CA
directive they come from.

"Expiring soon" is relative to the certificate's lifetime (less than a third left), capped by
`--expiry-warn-days`: a 45-day certificate is not "expiring soon" for half its life.
"""

from __future__ import annotations

import datetime as dt

from certlint.context import Context
from certlint.model import Site
from certlint.pki.chain import describe, not_after, not_before
from certlint.pki.verify import is_self_signed
from certlint.rules._apache_root import _ca_directive
from certlint.rules._facts import cert_facts, slot_facts, where
from certlint.rules._util import analysed_slots, chain_directive, shown_name
from certlint.rules.base import CHAIN_SOURCES, rule


def _added_by_server(site: Site, slot, chain, ctx: Context):
    """(certificate, CA directive) for each certificate Apache adds to the chain itself; a
    self-signed root it sends is left out (clients use their own copy of a root)."""
    if site.server != "apache":
        return []
    added = list(chain.auto_added) + ctx.auto_chained(site, slot)
    return [(c, _ca_directive(site, c, ctx)) for c in added if not is_self_signed(c)]


def _added_message(slot, cert, directive, what: str, client: str) -> str:
    return (f"{slot.cert.shown} holds only the leaf, so Apache completes the chain from "
            f"{shown_name(directive)} {directive.value} with the intermediate {describe(cert)}, "
            f"which {what}: clients fail with '{client}'. Replace it there with the CA's current "
            "intermediate, or serve the leaf and the current intermediates from "
            "SSLCertificateFile")


def _day(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M UTC")


def _role(i: int, chain) -> str:
    return "leaf certificate" if i == chain.leaf else "intermediate"


def _facts(site: Site, slot, chain, ctx: Context, cert, role: str, index: int | None = None,
           at=None) -> dict:
    """The certificate judged, its role (leaf, intermediate, stray, added by Apache from a CA
    directive) and its place in the file."""
    facts = {**slot_facts(site, slot, ctx, chain), "cert_judged": cert_facts(cert), "role": role}
    if index is not None:
        facts["index"] = index + 1
    if at is not None:
        facts["ca_directive"] = where(at, ctx)
    return facts


@rule("cert-expired", sources=CHAIN_SOURCES)
def check_expired(site: Site, ctx: Context):
    for slot, chain in analysed_slots(site, ctx):
        on_path = set(chain.path)
        for i, cert in enumerate(chain.served):
            if not_after(cert) >= ctx.now:
                continue
            at = slot.cert.directive if i == chain.leaf else chain_directive(site, slot)
            if i == chain.leaf:
                msg = (f"{slot.cert.shown}: the certificate {describe(cert)} expired on "
                       f"{_day(not_after(cert))}; every client refuses it ('certificate has "
                       "expired', openssl verify error 10). Renew it")
                yield ctx.finding("cert-expired", at, msg, site, facts=_facts(
                    site, slot, chain, ctx, cert, "leaf"))
            elif i in on_path:
                msg = (f"{slot.cert.shown}: the {_role(i, chain)} {describe(cert)} "
                       f"(#{i + 1}) expired on {_day(not_after(cert))} and no other path is "
                       "served; clients fail with 'certificate has expired'. Replace it with the "
                       "CA's current intermediate")
                yield ctx.finding("cert-expired", at, msg, site, facts=_facts(
                    site, slot, chain, ctx, cert, "intermediate", i))
            else:
                msg = (f"{slot.cert.shown}: certificate #{i + 1} {describe(cert)} expired on "
                       f"{_day(not_after(cert))} and is not needed (an old cross-sign?); "
                       "OpenSSL 1.0.2 and other old clients may still pick it and fail. Drop it")
                yield ctx.finding("cert-expired", at, msg, site, severity="warning",
                                  facts=_facts(site, slot, chain, ctx, cert, "stray", i))
        for cert, at in _added_by_server(site, slot, chain, ctx):
            if not_after(cert) < ctx.now:
                yield ctx.finding("cert-expired", at, _added_message(
                    slot, cert, at, f"expired on {_day(not_after(cert))}",
                    "certificate has expired' (openssl verify error 10"), site, fixable=True,
                    facts=_facts(site, slot, chain, ctx, cert, "added", at=at))


@rule("cert-not-yet-valid", sources=CHAIN_SOURCES)
def check_not_yet_valid(site: Site, ctx: Context):
    for slot, chain in analysed_slots(site, ctx):
        for i in chain.path:
            cert = chain.served[i]
            if not_before(cert) > ctx.now:
                yield ctx.finding(
                    "cert-not-yet-valid", slot.cert.directive,
                    f"{slot.cert.shown}: the {_role(i, chain)} {describe(cert)} is not valid "
                    f"before {_day(not_before(cert))}; clients fail with 'certificate is not yet "
                    "valid' (openssl verify error 9). Check the clock, or wait", site)
        for cert, at in _added_by_server(site, slot, chain, ctx):
            if not_before(cert) > ctx.now:
                yield ctx.finding("cert-not-yet-valid", at, _added_message(
                    slot, cert, at, f"is not valid before {_day(not_before(cert))}",
                    "certificate is not yet valid' (openssl verify error 9"), site, fixable=True)


@rule("cert-expiring-soon", sources=CHAIN_SOURCES)
def check_expiring(site: Site, ctx: Context):
    warn = dt.timedelta(days=ctx.options.expiry_warn_days)
    for slot, chain in analysed_slots(site, ctx):
        added = {id(c): at for c, at in _added_by_server(site, slot, chain, ctx)}
        certs = [(chain.served[i], _role(i, chain), slot.cert.directive) for i in chain.path]
        certs += [(c, "intermediate", at) for c, at in _added_by_server(site, slot, chain, ctx)]
        for cert, role, at in certs:
            end = not_after(cert)
            if end < ctx.now:
                continue
            lifetime = end - not_before(cert)
            threshold = min(warn, lifetime / 3)
            left = end - ctx.now
            if left <= threshold:
                days = left.days
                source = (f" (Apache adds it from {shown_name(at)} {at.value})"
                          if id(cert) in added else "")
                yield ctx.finding(
                    "cert-expiring-soon", at,
                    f"{slot.cert.shown}: the {role} {describe(cert)}{source} expires on "
                    f"{_day(end)} (in {days} day{'s' if days != 1 else ''}, of a "
                    f"{lifetime.days}-day lifetime); renew it now", site,
                    facts={**_facts(site, slot, chain, ctx, cert,
                                    "added" if id(cert) in added else
                                    ("leaf" if role.startswith("leaf") else "intermediate"),
                                    at=at if id(cert) in added else None),
                           "days_left": days, "lifetime_days": lifetime.days})
