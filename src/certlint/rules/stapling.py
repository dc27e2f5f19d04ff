"""OCSP stapling setup shared by nginx and Apache: resolver, OCSP URL, issuer, verification.

stapling-no-resolver, stapling-no-ocsp-url, stapling-issuer-missing,
stapling-verify-no-trusted-cert.
"""

from __future__ import annotations

import os

from certlint.context import Context
from certlint.model import Site
from certlint.pki.revocation import is_ip_literal, ocsp_urls, url_host
from certlint.pki.verify import fingerprint, is_self_signed
from certlint.rules._facts import site_facts, where
from certlint.rules._stapling import (
    find_issuer,
    http_url,
    responder_override,
    responder_url,
    stapling_at,
    stapling_file,
    stapling_on,
    store_certs,
)
from certlint.rules._stapling_fix import resolver_plan, stapling_off_plan, trusted_chain_plan
from certlint.rules._util import analysed_slots
from certlint.rules.base import rule


@rule("stapling-no-resolver", servers=("nginx",))
def check_no_resolver(site: Site, ctx: Context):
    if not stapling_on(site) or stapling_file(site) is not None:
        return
    if site.get("resolver") is not None:
        return
    hosts = []
    for _slot, chain in analysed_slots(site, ctx):
        url = responder_url(site, chain.leaf_cert)
        if url is None or not http_url(url, "nginx"):
            continue  # nginx ignores stapling for this certificate anyway
        host = url_host(url)
        if host and not is_ip_literal(host) and host not in hosts:
            hosts.append(host)
    if not hosts:
        return
    host = hosts[0]
    located = site.extra.get("location_directives", {}).get("resolver", [])
    note = (f" (the resolver at {located[0].path}:{located[0].line} is inside a location and "
            "does not serve OCSP)") if located else ""
    message = (
        f"ssl_stapling is on but no resolver is set in this server or in http{{}}{note}: "
        f"nginx resolves the OCSP responder {host} only once, at startup, with the system "
        f"resolver (and ignores stapling with 'host not found in OCSP responder' when that "
        f"fails); every refresh then logs \"no resolver defined to resolve {host} while "
        "requesting certificate status\" and reuses the startup addresses, so when the "
        "responder moves (OCSP responders sit behind CDNs) clients get no staple")
    fix = resolver_plan(site, ctx, "stapling-no-resolver")
    yield ctx.finding("stapling-no-resolver", stapling_at(site), message, site,
                      fix=fix, fixable=bool(fix and fix.edits),
                      facts={**site_facts(site), "ocsp_hosts": hosts,
                             "stapling": where(stapling_at(site), ctx),
                             "location_resolver": [where(d, ctx) for d in located]})


@rule("stapling-no-ocsp-url")
def check_no_ocsp_url(site: Site, ctx: Context):
    if not stapling_on(site) or responder_override(site) or stapling_file(site) is not None:
        return
    slots = list(analysed_slots(site, ctx))
    bare = [(slot, chain) for slot, chain in slots if not ocsp_urls(chain.leaf_cert)]
    if not bare:
        return
    for slot, _chain in bare:
        path = slot.cert.shown
        if site.server == "nginx":
            says = ("nginx logs at every start and reload: \"ssl_stapling\" ignored, no OCSP "
                    f"responder URL in the certificate \"{slot.cert.path}\"")
        else:
            says = ("Apache logs AH02218: ssl_stapling_init_cert: no OCSP URI in certificate "
                    "and no SSLStaplingForceURL set, and AH02604: Unable to configure "
                    "certificate ... for stapling")
        message = (f"stapling is on but the certificate {path} carries no OCSP URL (Let's "
                   f"Encrypt dropped them in 2025): {says}; stapling is dead configuration "
                   "for this certificate")
        fix = None
        if len(bare) == len(slots):
            fix = stapling_off_plan(site, "stapling-no-ocsp-url",
                                    "the certificate has no OCSP URL, so the server never "
                                    "staples; the CA publishes revocation by CRL only")
        yield ctx.finding("stapling-no-ocsp-url", stapling_at(site), message, site,
                          fix=fix, fixable=fix is not None)


@rule("stapling-issuer-missing")
def check_issuer_missing(site: Site, ctx: Context):
    if not stapling_on(site) or stapling_file(site) is not None:
        return
    store = store_certs(ctx, site)
    for slot, chain in analysed_slots(site, ctx):
        leaf = chain.leaf_cert
        if responder_url(site, leaf) is None:
            continue  # stapling-no-ocsp-url says it
        served = [c for c in chain.served if c is not leaf] + list(chain.auto_added)
        if find_issuer(leaf, [served, store]) is not None:
            continue
        if site.server == "nginx":
            trusted = "ssl_trusted_certificate"
            says = ("nginx logs \"ssl_stapling\" ignored, issuer certificate not found for "
                    f"certificate \"{slot.cert.path}\" and never staples")
        else:
            trusted = "SSLCACertificateFile"
            says = ("Apache logs AH02217: ssl_stapling_init_cert: can't retrieve issuer "
                    "certificate! and never staples")
        message = (f"stapling is on but the issuer of {slot.cert.shown} "
                   f"({leaf.issuer.rfc4514_string()}) is neither in the served chain nor in "
                   f"{trusted}: {says}")
        fix = None
        if site.server == "nginx":
            path = _issuer_path(ctx, leaf)
            if path:
                fix = trusted_chain_plan(site, ctx, slot, "stapling-issuer-missing", path)
        yield ctx.finding("stapling-issuer-missing", slot.cert.directive, message, site,
                          fix=fix, fixable=fix is not None)


def _issuer_path(ctx: Context, leaf):
    """Issuer chain of the leaf up to a trusted root, from the trust store and --intermediates."""
    pool = []
    for folder in ctx.options.intermediates:
        if os.path.isdir(folder):
            for name in sorted(os.listdir(folder)):
                loaded = ctx.store.cert_file(os.path.join(folder, name))
                if loaded.ok:
                    pool.extend(loaded.certs)
    path, current = [], leaf
    for _ in range(8):
        anchors = ctx.trust.issuers_of(current)
        if anchors:
            return path + [anchors[0]]
        issuer = find_issuer(current, [pool])
        if issuer is None:
            return None
        path.append(issuer)
        current = issuer
    return None


@rule("stapling-verify-no-trusted-cert", servers=("nginx",))
def check_verify_trusted(site: Site, ctx: Context):
    if not stapling_on(site) or stapling_file(site) is not None:
        return
    if not site.flag("ssl_stapling_verify"):
        return
    store = store_certs(ctx, site)
    trusted = site.get("ssl_trusted_certificate")
    for slot, chain in analysed_slots(site, ctx):
        leaf = chain.leaf_cert
        url = responder_url(site, leaf)
        if url is None or not http_url(url, "nginx"):
            continue
        served = [c for c in chain.served if c is not leaf]
        issuer = find_issuer(leaf, [served, store])
        if issuer is None:
            continue  # stapling-issuer-missing says it
        if _reaches_store_root(issuer, served, store):
            continue
        wanted = chain.intermediates() + ([chain.anchor] if chain.anchor is not None else [])
        if chain.anchor is None and chain.served_root is not None:
            wanted = chain.intermediates() + [chain.served[chain.served_root]]
        if trusted is None:
            head = ("ssl_stapling_verify is on but no ssl_trusted_certificate is set")
            at = site.get("ssl_stapling_verify")
        else:
            head = (f"ssl_stapling_verify is on but ssl_trusted_certificate {trusted.value} "
                    "does not hold the issuer chain up to the root")
            at = trusted
        message = (f"{head}: when the CA signs OCSP responses with a delegated responder "
                   "certificate (most CAs do), nginx cannot verify the responses it fetches for "
                   f"{slot.cert.shown} (OCSP_basic_verify() failed ... certificate verify error)"
                   " and staples nothing")
        fix = (trusted_chain_plan(site, ctx, slot, "stapling-verify-no-trusted-cert", wanted)
               if wanted and is_self_signed(wanted[-1]) else None)
        yield ctx.finding("stapling-verify-no-trusted-cert", at, message, site,
                          fix=fix, fixable=fix is not None)


def _reaches_store_root(issuer, served, store) -> bool:
    """Does the issuer chain up to a self-signed root that the verify store holds?"""
    store_prints = {fingerprint(c) for c in store}
    current = issuer
    for _ in range(10):
        if is_self_signed(current):
            return fingerprint(current) in store_prints
        parent = find_issuer(current, [store, served])
        if parent is None:
            return False
        current = parent
    return False
