"""Shared facts for the stapling and revocation rules: is stapling on, which responder, which CA
certificates the server's verify store holds, and where a new directive can go in a block."""

from __future__ import annotations

import os

from cryptography import x509

from certlint.context import Context
from certlint.model import Directive, Site
from certlint.pki.revocation import is_http_url, ocsp_urls, unique
from certlint.pki.verify import fingerprint, issued_by

# directive names per server (lower-cased, as the model keys them)
NAMES = {
    "nginx": {"stapling": "ssl_stapling", "responder": "ssl_stapling_responder",
              "cert": "ssl_certificate"},
    "apache": {"stapling": "sslusestapling", "responder": "sslstaplingforceurl",
               "cert": "sslcertificatefile"},
}
SHOWN = {"ssl_stapling": "ssl_stapling", "sslusestapling": "SSLUseStapling",
         "sslstaplingforceurl": "SSLStaplingForceURL", "sslstaplingcache": "SSLStaplingCache",
         "sslcacertificatefile": "SSLCACertificateFile",
         "sslcarevocationfile": "SSLCARevocationFile",
         "sslcarevocationpath": "SSLCARevocationPath",
         "sslcarevocationcheck": "SSLCARevocationCheck", "sslocspenable": "SSLOCSPEnable",
         "sslsessioncache": "SSLSessionCache", "sslcertificatefile": "SSLCertificateFile"}


def shown(name: str) -> str:
    """A directive name as users write it (Apache names are stored lower-cased)."""
    return SHOWN.get(name, name)


def stapling_directive(site: Site) -> Directive | None:
    return site.get(NAMES[site.server]["stapling"])


def stapling_on(site: Site) -> bool:
    return site.flag(NAMES[site.server]["stapling"])


def responder_override(site: Site) -> Directive | None:
    d = site.get(NAMES[site.server]["responder"])
    return d if d is not None and d.value else None


def stapling_file(site: Site) -> Directive | None:
    if site.server != "nginx":
        return None
    d = site.get("ssl_stapling_file")
    return d if d is not None and d.value else None


def responder_url(site: Site, leaf: x509.Certificate) -> str | None:
    """The URL the server asks: the override directive, else the leaf's first OCSP URL."""
    override = responder_override(site)
    if override is not None:
        return override.value
    urls = ocsp_urls(leaf)
    return urls[0] if urls else None


def stapling_at(site: Site) -> Directive:
    """Where a finding about the site's stapling points: its own ssl_stapling line, else the
    block (the setting is inherited from http{} or the main server and shared with others)."""
    d = stapling_directive(site)
    if d is not None and own_directive(site, d):
        return d
    return site.origin


def own_directive(site: Site, d: Directive) -> bool:
    """Set in the site's own block (an nginx server, an Apache vhost, or the main server when
    that is the site itself), not inherited from a level other sites share."""
    if d.name.lower() not in site.own:
        return False
    if site.extra.get("main_server"):
        return d.block == "main"
    return d.block not in ("http", "main", "stream")


def file_certs(ctx: Context, site: Site, names: tuple[str, ...]) -> list[x509.Certificate]:
    """Certificates of the files named by these directives (loadable ones only)."""
    out: list[x509.Certificate] = []
    for name in names:
        for d in site.get_all(name):
            loaded = ctx.cert_file(ctx.config.file_ref(d))
            if loaded is not None and loaded.ok:
                out.extend(loaded.certs)
    return out


def dir_certs(ctx: Context, site: Site, name: str) -> list[x509.Certificate]:
    """Certificates in every file of a directory directive (Apache SSLCACertificatePath)."""
    out: list[x509.Certificate] = []
    for d in site.get_all(name):
        ref = ctx.config.file_ref(d)
        if ref.path is None or not os.path.isdir(ref.path):
            continue
        for entry in sorted(os.listdir(ref.path))[:4096]:
            full = os.path.join(ref.path, entry)
            if os.path.isfile(full):
                loaded = ctx.store.cert_file(full)
                if loaded.ok:
                    out.extend(loaded.certs)
    return out


def store_certs(ctx: Context, site: Site) -> list[x509.Certificate]:
    """The server's verify store: what it looks issuers up in besides the served chain."""
    if site.server == "nginx":
        return unique(file_certs(ctx, site, ("ssl_trusted_certificate",
                                             "ssl_client_certificate")))
    return unique(file_certs(ctx, site, ("sslcacertificatefile",))
                  + dir_certs(ctx, site, "sslcacertificatepath"))


def client_ca_certs(ctx: Context, site: Site) -> list[x509.Certificate]:
    """The CAs that issue client certificates: nginx `ssl_client_certificate` (the CA list sent
    to clients), else `ssl_trusted_certificate`; Apache `SSLCACertificateFile`/`Path`. An nginx
    `ssl_trusted_certificate` next to `ssl_client_certificate` usually holds the server's own
    chain for OCSP stapling, not client CAs."""
    if site.server == "nginx":
        client = file_certs(ctx, site, ("ssl_client_certificate",))
        return unique(client or file_certs(ctx, site, ("ssl_trusted_certificate",)))
    return store_certs(ctx, site)


def find_issuer(cert: x509.Certificate, pools: list[list[x509.Certificate]]
                ) -> x509.Certificate | None:
    for pool in pools:
        for candidate in pool:
            if fingerprint(candidate) != fingerprint(cert) and issued_by(cert, candidate):
                return candidate
    return None


def client_verify_on(site: Site) -> bool:
    if site.server == "nginx":
        d = site.get("ssl_verify_client")
        return d is not None and d.value.lower() in ("on", "optional", "optional_no_ca")
    d = site.get("sslverifyclient")
    return d is not None and d.value.lower() in ("require", "optional", "optional_no_ca")


def http_url(url: str, server: str) -> bool:
    return is_http_url(url, case_sensitive=(server == "apache"))


def anchor_in_block(site: Site, prefer: tuple[str, ...]) -> Directive:
    """A directive of the block itself after which a new directive can be inserted."""
    for name in prefer:
        for d in site.get_all(name):
            if own_directive(site, d) and d.path and d.line:
                return d
    for values in site.directives.values():
        for d in values:
            if own_directive(site, d):
                return d
    return site.origin
