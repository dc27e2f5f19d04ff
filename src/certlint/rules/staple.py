"""The OCSP staple a probed endpoint sends: staple-invalid (stale, for another certificate, not
signed by the issuer or a responder it authorized, or revoked) and staple-missing (the
certificate names an OCSP responder and nothing is stapled).

A Must-Staple certificate without a staple is must-staple-without-stapling instead of
staple-missing; a certificate without an OCSP URL (Let's Encrypt since 2025) gets no staple
finding at all. Only live handshakes and `-status` transcripts can show a staple.
"""

from __future__ import annotations

from certlint.context import Context
from certlint.model import Site
from certlint.pki.chain import describe
from certlint.pki.revocation import must_staple, ocsp_urls
from certlint.pki.staple import judge_der, judge_text
from certlint.pki.verify import issued_by
from certlint.rules._util import analysed_slots
from certlint.rules.base import rule

REJECTED = ("clients that check staples reject it (Firefox: "
            "SEC_ERROR_OCSP_OLD_RESPONSE / MOZILLA_PKIX_ERROR_OCSP_RESPONSE_FOR_CERT_MISSING; "
            "`openssl s_client -status` prints it as is) and a Must-Staple certificate fails "
            "hard")


def leaf_issuer(chain):
    """The leaf's issuer certificate: served, fetched over AIA, or the trust anchor."""
    leaf = chain.leaf_cert
    fetched = list(getattr(chain.fetched, "intermediates", []) or [])
    for cert in chain.path_certs()[1:] + fetched + [chain.anchor]:
        if cert is not None and issued_by(leaf, cert):
            return cert
    return None


@rule("staple-invalid", sources=("probe",))
def check_invalid(site: Site, ctx: Context):
    for slot, chain in analysed_slots(site, ctx):
        served = slot.served
        if served is None or not chain.leaf_first:
            continue
        leaf = chain.leaf_cert
        if served.staple is not None:
            verdict = judge_der(served.staple, leaf, leaf_issuer(chain), ctx.now)
        elif served.staple_text:
            verdict = judge_text(served.staple_text, leaf, ctx.now)
        else:
            continue
        if not verdict.problems:
            continue
        yield ctx.finding(
            "staple-invalid", slot.cert.directive,
            f"The OCSP response stapled for {describe(leaf)} "
            + "; it ".join(verdict.problems)
            + f": {REJECTED}. Fix what the server staples (nginx: refresh or drop "
            "ssl_stapling_file; check the resolver and the responder's reachability)",
            site, facts=verdict.facts)


@rule("staple-missing", sources=("probe",))
def check_missing(site: Site, ctx: Context):
    for slot, chain in analysed_slots(site, ctx):
        served = slot.served
        if served is None or not served.staple_seen or not chain.leaf_first:
            continue
        if served.staple is not None or served.staple_text:
            continue
        leaf = chain.leaf_cert
        urls = ocsp_urls(leaf)
        if not urls or must_staple(leaf):
            continue  # no responder: nothing to staple; Must-Staple: its own rule
        yield ctx.finding(
            "staple-missing", slot.cert.directive,
            f"{describe(leaf)} names the OCSP responder {urls[0]} but the server stapled no "
            "response, so every client that checks revocation asks the responder itself "
            "(slower, and a privacy leak). nginx staples lazily: the first handshakes after a "
            "start or reload carry none; if it never staples, check ssl_stapling, the resolver "
            "and the responder's reachability (Apache: SSLUseStapling, SSLStaplingCache)",
            site, facts={"ocsp_urls": urls})
