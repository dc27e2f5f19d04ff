"""Client-certificate revocation setups that reject every client or check nothing.

crl-missing-for-ca (a CA of the client chain without its CRL), apache-crl-check-disabled
(CRLs configured but SSLCARevocationCheck none), client-ocsp-no-responder (client OCSP with no
responder to ask, or nginx ssl_ocsp without a resolver).
"""

from __future__ import annotations

from certlint.context import Context
from certlint.model import Site
from certlint.pki.chain import describe
from certlint.pki.revocation import crl_signed_by, is_ca, is_ip_literal, ocsp_urls, url_host
from certlint.pki.verify import is_self_signed
from certlint.rules._stapling import client_ca_certs, client_verify_on
from certlint.rules.base import rule
from certlint.rules.revocation import crl_sources


@rule("crl-missing-for-ca")
def check_missing_crl(site: Site, ctx: Context):
    if site.server == "apache":
        check = site.get("sslcarevocationcheck")
        if check is None or check.value.lower() != "chain" or any(
                a.lower() == "no_crl_for_cert_ok" for a in check.args[1:]):
            return
    sources = list(crl_sources(site, ctx))
    if not sources:
        return
    cas = [c for c in client_ca_certs(ctx, site) if is_ca(c)]
    crls = [entry for _d, entries in sources for entry in entries]
    at = sources[0][0]
    for ca in cas:
        if any(crl_signed_by(entry, ca) for entry in crls):
            continue
        root = " (a root: its own CRL is checked too)" if is_self_signed(ca) else ""
        if site.server == "nginx":
            how = ("nginx checks a CRL for every certificate of the client chain, root "
                   "included: every client whose chain passes through it gets 400 'The SSL "
                   "certificate error', logged as 'client SSL certificate verify error: "
                   "(3:unable to get certificate CRL)' only at info level")
        else:
            how = ("SSLCARevocationCheck chain needs a CRL for every CA of the client chain: "
                   "every client whose chain passes through it fails the handshake (AH02039: "
                   "Certificate Verification: Error (3): unable to get certificate CRL)")
        yield ctx.finding("crl-missing-for-ca", at,
                          f"{at.value} has no CRL from the client CA {describe(ca)}{root}: "
                          f"{how}; add that CA's current CRL (PEM) to the file", site)


@rule("apache-crl-check-disabled", servers=("apache",))
def check_crl_disabled(site: Site, ctx: Context):
    check = site.get("sslcarevocationcheck")
    if check is not None and check.value.lower() != "none":
        return
    for name in ("sslcarevocationfile", "sslcarevocationpath"):
        d = site.get(name)
        if d is not None and d.value:
            shown = "SSLCARevocationFile" if name.endswith("file") else "SSLCARevocationPath"
            yield ctx.finding(
                "apache-crl-check-disabled", d,
                f"{shown} {d.value} is loaded but never checked: SSLCARevocationCheck is "
                f"{'none' if check is not None else 'not set (default none)'}, so revoked "
                "client certificates are accepted (AH01902: ... X.509 CRL storage locations "
                "configured, but CRL checking (SSLCARevocationCheck) is not enabled); set "
                "SSLCARevocationCheck chain", site)
            return


@rule("client-ocsp-no-responder")
def check_client_ocsp(site: Site, ctx: Context):
    if site.server == "nginx":
        yield from _nginx_ocsp(site, ctx)
    else:
        yield from _apache_ocsp(site, ctx)


def _intermediates_without_url(site: Site, ctx: Context):
    return [c for c in client_ca_certs(ctx, site)
            if is_ca(c) and not is_self_signed(c) and not ocsp_urls(c)]


def _nginx_ocsp(site: Site, ctx: Context):
    d = site.get("ssl_ocsp")
    if d is None or d.value.lower() not in ("on", "leaf") or not client_verify_on(site):
        return
    responder = site.get("ssl_ocsp_responder")
    if responder is not None and responder.value:
        return
    if d.value.lower() == "on":
        for ca in _intermediates_without_url(site, ctx):
            yield ctx.finding(
                "client-ocsp-no-responder", d,
                f"ssl_ocsp on checks every certificate of the client chain, but the client CA "
                f"{describe(ca)} carries no OCSP URL and no ssl_ocsp_responder is set: nginx "
                "fails with 'no OCSP responder URL in certificate' and rejects every client "
                "under that CA with 400 'The SSL certificate error'", site)
    if site.get("resolver") is None:
        hosts = [url_host(u) for ca in client_ca_certs(ctx, site) for u in ocsp_urls(ca)]
        if hosts and all(is_ip_literal(h) for h in hosts if h):
            return
        yield ctx.finding(
            "client-ocsp-no-responder", d,
            "ssl_ocsp is on but no resolver is set in this server or in http{}: nginx cannot "
            "resolve the OCSP responder named in client certificates ('no resolver defined to "
            "resolve ... while requesting certificate status'), so every client is rejected "
            "with 400 ('client SSL certificate verify error: certificate status request "
            "failed'); add a resolver", site)


def _apache_ocsp(site: Site, ctx: Context):
    d = site.get("sslocspenable")
    if d is None or d.value.lower() not in ("on", "leaf") or not client_verify_on(site):
        return
    default = site.get("sslocspdefaultresponder")
    if default is not None and default.value:
        return
    override = site.get("sslocspoverrideresponder")
    why = ("AH01918: no OCSP responder specified in certificate and no default configured "
           "(debug level), then AH02039: Certificate Verification: Error (50): application "
           "verification failure")
    if override is not None and override.flag():
        yield ctx.finding(
            "client-ocsp-no-responder", override,
            f"SSLOCSPOverrideResponder on without SSLOCSPDefaultResponder: there is no "
            f"responder to ask and every client fails the handshake ({why})", site)
        return
    if d.value.lower() == "on":
        for ca in _intermediates_without_url(site, ctx):
            yield ctx.finding(
                "client-ocsp-no-responder", d,
                f"SSLOCSPEnable on checks every certificate of the client chain, but the client "
                f"CA {describe(ca)} carries no OCSP URL and no SSLOCSPDefaultResponder is set: "
                f"every client under that CA fails the handshake ({why})", site)
