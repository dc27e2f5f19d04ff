"""Stapling that cannot work because of the certificate or the URL it names: Must-Staple
certificates on sites that do not staple, certificates loaded per handshake (nginx staples nothing
for those), and responder URLs that are not http://.

must-staple-without-stapling, stapling-dynamic-cert, stapling-responder-not-http.
"""

from __future__ import annotations

from certlint.context import Context
from certlint.model import Site
from certlint.pki.chain import describe
from certlint.pki.revocation import must_staple
from certlint.rules._stapling import (
    find_issuer,
    http_url,
    responder_override,
    responder_url,
    stapling_file,
    stapling_on,
    store_certs,
)
from certlint.rules._util import analysed_slots
from certlint.rules.base import CHAIN_SOURCES, rule

FIREFOX = "Firefox refuses the site with MOZILLA_PKIX_ERROR_REQUIRED_TLS_FEATURE_MISSING"


@rule("must-staple-without-stapling", sources=CHAIN_SOURCES)
def check_must_staple(site: Site, ctx: Context):
    for slot, chain in analysed_slots(site, ctx):
        leaf = chain.leaf_cert
        if not must_staple(leaf):
            continue
        problem, severity = _staple_problem(site, ctx, chain, slot)
        if problem is None:
            continue
        what = (f"{describe(leaf)} in {slot.cert.shown}" if site.server == "probe"
                else slot.cert.shown)
        message = (f"{what} is a Must-Staple certificate (TLS Feature "
                   f"status_request, RFC 7633) but {problem}: {FIREFOX}")
        yield ctx.finding("must-staple-without-stapling", slot.cert.directive, message, site,
                          severity=severity)


def _staple_problem(site: Site, ctx: Context, chain, slot):
    if site.server == "probe":
        served = slot.served
        if served is not None and served.staple_seen and served.staple is None \
                and served.staple_text is None:
            return "the server sent no OCSP staple in the handshake", None
        return None, None  # stapled (staple-invalid judges it), or the source cannot tell
    name = "ssl_stapling" if site.server == "nginx" else "SSLUseStapling"
    if not stapling_on(site):
        return f"{name} is off for this site", None
    if stapling_file(site) is not None:
        return None, None
    url = responder_url(site, chain.leaf_cert)
    if url is None:
        return "it carries no OCSP URL and no responder is configured, so nothing is stapled", None
    if not http_url(url, site.server):
        return f"the responder {url} is not http://, so nothing is stapled", None
    leaf = chain.leaf_cert
    served = [c for c in chain.served if c is not leaf] + list(chain.auto_added)
    if find_issuer(leaf, [served, store_certs(ctx, site)]) is None:
        return "the server cannot find its issuer certificate, so nothing is stapled", None
    if site.server == "nginx":
        return ("nginx staples lazily: the first handshakes after every start or reload, and "
                "every period the responder is unreachable, carry no staple (prefetch with "
                "ssl_stapling_file or reissue without Must-Staple)", "warning")
    return None, None


@rule("stapling-dynamic-cert", servers=("nginx",))
def check_dynamic(site: Site, ctx: Context):
    if not stapling_on(site):
        return
    for slot in site.slots:
        if slot.cert.path is None and "$" in slot.cert.shown:
            yield ctx.finding(
                "stapling-dynamic-cert", slot.cert.directive,
                f"ssl_certificate {slot.cert.shown} holds variables, so nginx loads it per "
                "handshake and OCSP stapling is silently off for it (no warning is logged); "
                "ssl_stapling on does nothing here", site)
            return


@rule("stapling-responder-not-http", servers=("nginx",))
def check_responder_scheme(site: Site, ctx: Context):
    """nginx speaks OCSP over plain http:// only (responses are signed, so that is safe)."""
    ocsp_responder = site.get("ssl_ocsp_responder")
    if ocsp_responder is not None and ocsp_responder.value and not http_url(
            ocsp_responder.value, "nginx"):
        yield ctx.finding(
            "stapling-responder-not-http", ocsp_responder,
            f"ssl_ocsp_responder {ocsp_responder.value} is not an http:// URL: nginx will not "
            f"start ([emerg] invalid URL prefix in OCSP responder \"{ocsp_responder.value}\" in "
            "\"ssl_ocsp_responder\")", site, severity="error")
    if not stapling_on(site) or stapling_file(site) is not None:
        return
    seen = set()
    for slot, chain in analysed_slots(site, ctx):
        url = responder_url(site, chain.leaf_cert)
        if url is None or http_url(url, "nginx") or url in seen:
            continue
        seen.add(url)
        override = responder_override(site)
        at = override if override is not None else slot.cert.directive
        source = "ssl_stapling_responder" if override is not None else (
            f"the OCSP URL in {slot.cert.shown}")
        yield ctx.finding(
            "stapling-responder-not-http", at,
            f"{source} {url} is not an http:// URL: nginx ignores stapling for this "
            f"certificate (\"ssl_stapling\" ignored, invalid URL prefix in OCSP responder "
            f"\"{url}\") and never staples; use the responder's http:// URL", site)
