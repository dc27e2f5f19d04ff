"""Helpers shared by rule modules: walking a site's loaded certificate slots, naming things."""

from __future__ import annotations

from certlint.context import Context
from certlint.model import CertSlot, Directive, Site
from certlint.pki.chain import ChainAnalysis

OPENSSL_CLIENTS = "OpenSSL-based clients such as curl, wget, Python requests, Java and Go on Linux"


def analysed_slots(site: Site, ctx: Context) -> list[tuple[CertSlot, ChainAnalysis]]:
    """Each certificate slot of a site whose files load, with its chain analysis."""
    return ctx.analysed_slots(site)


def chain_directive(site: Site, slot: CertSlot) -> Directive:
    """The directive to change for chain problems: the chain file on Apache when it is set."""
    if site.server == "apache" and slot.chain is not None:
        return slot.chain.directive
    return slot.cert.directive


def cert_directive_name(site: Site) -> str:
    return "ssl_certificate" if site.server == "nginx" else "SSLCertificateFile"


def server_refuses(site: Site, detail: str = "") -> str:
    """How the server says no when the first certificate does not match the key (a probed
    site: how clients say no, since the server is running)."""
    if site.server == "probe":
        return ("a client takes the first certificate as the server's own and checks the "
                "handshake signature against it: the handshake fails (OpenSSL: 'bad signature' / "
                "'wrong signature type'; browsers: ERR_SSL_PROTOCOL_ERROR)")
    if site.server == "nginx":
        return ("nginx refuses to start: SSL_CTX_use_PrivateKey(...) failed (SSL: ... "
                "key values mismatch)")
    return ("Apache refuses to start: AH02565: Certificate and private key ... do not match"
            + detail)


def needs_own_certificate(site: Site) -> bool:
    """nginx: a TLS server block that names no certificate at all (none inherited either)."""
    return (site.server == "nginx" and not site.slots and bool(site.extra.get("tls_listen"))
            and not site.flag("ssl_reject_handshake"))


def borrowed_from(site: Site) -> Site | None:
    """nginx: the default server whose certificate a certificate-less server block is answered
    with (SNI picks the block, but its empty SSL context leaves the default one in place)."""
    if not needs_own_certificate(site):
        return None
    for default in site.extra.get("default_sites", {}).values():
        if default is not site and default.slots:
            return default
    return None


def shown_name(directive: Directive) -> str:
    """A directive's name for messages: as the server's docs spell it (Apache names are stored
    lower-cased; `sslcertificatefile` is shown as `SSLCertificateFile`)."""
    from certlint.parsers.apache_names import spelled

    return spelled(directive.name) if directive.name.islower() else directive.name
