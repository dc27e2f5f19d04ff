"""File-level rules: cert-file-missing, cert-file-unparseable, key-encrypted, cert-path-dynamic.

They look at every file a TLS site names (certificate, key, chain, trusted/client CA, CRL),
as the server would open it, and say what the server says when it cannot.
"""

from __future__ import annotations

from certlint.context import Context
from certlint.model import FileRef, Site
from certlint.rules._util import needs_own_certificate, shown_name
from certlint.rules.base import rule

# (directive, what it holds) for files other than the certificate slots
NGINX_CA_FILES = ("ssl_trusted_certificate", "ssl_client_certificate")
NGINX_OTHER_FILES = ("ssl_crl", "ssl_stapling_file", "ssl_password_file")
APACHE_CA_FILES = ("sslcacertificatefile",)
APACHE_OTHER_FILES = ("sslcarevocationfile",)


def _refs(site: Site, ctx: Context):
    """(FileRef, kind) for every file the site names; kind is cert, key, chain, ca or other."""
    for slot in site.slots:
        yield slot.cert, "cert"
        if slot.key is not None:
            yield slot.key, "key"
        if slot.chain is not None:
            yield slot.chain, "chain"
    ca_names = NGINX_CA_FILES if site.server == "nginx" else APACHE_CA_FILES
    other_names = NGINX_OTHER_FILES if site.server == "nginx" else APACHE_OTHER_FILES
    for name in ca_names:
        for d in site.get_all(name):
            yield ctx.config.file_ref(d), "ca"
    for name in other_names:
        for d in site.get_all(name):
            yield ctx.config.file_ref(d), "other"


# what nginx 1.22 says when it cannot open each kind of file
NGINX_OPEN_ERRORS = {
    "ssl_certificate": "cannot load certificate ...: BIO_new_file() failed ... No such file",
    "ssl_certificate_key": ("cannot load certificate key ...: BIO_new_file() failed ... "
                            "No such file"),
    "ssl_trusted_certificate": "SSL_CTX_load_verify_locations(...) failed",
    "ssl_client_certificate": "SSL_CTX_load_verify_locations(...) failed",
    "ssl_crl": "X509_LOOKUP_load_file(...) failed",
    "ssl_password_file": "open() ... failed (2: No such file or directory)",
    "ssl_stapling_file": "BIO_new_file(...) failed",
}


def _missing_message(site: Site, ref: FileRef, problem: str) -> str:
    name = ref.directive.name if site.server == "nginx" else shown_name(ref.directive)
    if site.server == "nginx":
        consequence = ("nginx -t fails and nginx will not start ("
                       + NGINX_OPEN_ERRORS.get(name, NGINX_OPEN_ERRORS["ssl_certificate"]) + ")")
    else:
        consequence = (f"Apache will not start ({name}: file '{ref.path}' does "
                       "not exist or is empty)")
    hint = ""
    if site.server == "apache" and "${" in ref.directive.value:
        # an unexpanded ${VAR}: certlint never takes it from its own environment (SECURITY.md
        # promise 4); httpd may get it from its own (systemd, envvars)
        hint = ("; the path holds a ${VAR} that Define, envvars and --env do not set: if "
                "httpd's environment sets it, pass --env NAME=VALUE")
    return f"{name} {ref.shown}: the file {problem}; {consequence}{hint}"


@rule("cert-file-missing")
def check_missing(site: Site, ctx: Context):
    if needs_own_certificate(site) and site.extra.get("default_for"):
        listen = site.get("listen")
        where = f"'listen {' '.join(listen.args)}'" if listen else "its TLS listen"
        yield ctx.finding(
            "cert-file-missing", site.origin,
            f"this server block is the default server for {where} but has no ssl_certificate "
            "(none set here or in http): nginx refuses to start with 'no \"ssl_certificate\" is "
            "defined for the \"listen ... ssl\" directive'. Add ssl_certificate and "
            "ssl_certificate_key, or 'ssl_reject_handshake on;' for a catch-all", site)
    if site.server == "nginx":
        for slot in site.slots:
            if slot.key is None:
                yield ctx.finding(
                    "cert-file-missing", slot.cert.directive,
                    f"ssl_certificate {slot.cert.shown} has no ssl_certificate_key to go with it "
                    "(keys pair with certificates by position): nginx refuses to start with "
                    f"'no \"ssl_certificate_key\" is defined for certificate'. Add the key",
                    site)
    for ref, _kind in _refs(site, ctx):
        if ref.path is None:
            continue
        data, problem = ctx.store.raw(ref.path)
        if data is None:
            yield ctx.finding("cert-file-missing", ref.directive,
                              _missing_message(site, ref, problem), site)


@rule("cert-file-unparseable")
def check_unparseable(site: Site, ctx: Context):
    for ref, kind in _refs(site, ctx):
        if ref.path is None or kind == "other":
            continue
        data, _problem = ctx.store.raw(ref.path)
        if data is None:
            continue
        if kind == "key":
            slot = next((s for s in site.slots if s.key is ref), None)
            loaded = ctx.slot_key(slot) if slot is not None else ctx.store.key_file(ref.path)
            error = loaded.error
            if loaded.encrypted and loaded.passwords_tried and site.server == "nginx":
                error = (f"is encrypted and none of the {loaded.passwords_tried} passphrase(s) "
                         f"in ssl_password_file {slot.passwords.shown} opens it (nginx: "
                         "PEM_read_bio_PrivateKey() failed ... bad decrypt)")
        else:
            loaded = ctx.store.cert_file(ref.path)
            error = loaded.error
        if error:
            start = ("nginx will not start" if site.server == "nginx"
                     else "Apache will not start")
            yield ctx.finding("cert-file-unparseable", ref.directive,
                              f"{shown_name(ref.directive)} {ref.shown}: the file {error}; {start}",
                              site)
        elif kind != "key" and loaded.unreadable:
            skipped = ", ".join(f"{n} ({why})" for n, why in loaded.unreadable[:5])
            more = len(loaded.unreadable) - 5
            skipped += f" and {more} more" if more > 0 else ""
            scope = ("its chain, key and names are not checked" if kind in ("cert", "chain")
                     else "the other certificates of the file are checked")
            yield ctx.finding(
                "cert-file-unparseable", ref.directive,
                f"{shown_name(ref.directive)} {ref.shown}: certlint cannot read certificate "
                f"{skipped}: its encoding is not strict DER, which the cryptography library "
                "refuses, but OpenSSL (and so the server) loads it. certlint skips it; "
                f"{scope}", site, severity="info")


@rule("key-encrypted")
def check_encrypted(site: Site, ctx: Context):
    for slot in site.slots:
        key = ctx.slot_key(slot)
        if key is not None and key.encrypted and not key.passwords_tried:
            at = slot.key.directive if slot.key else slot.cert.directive
            if key.costly:
                how = key.costly
            elif site.server == "nginx":
                how = ("nginx needs the passphrase from ssl_password_file at every start "
                       "(without it, nginx asks on the terminal and fails under systemd)")
            else:
                how = ("Apache asks for the passphrase at startup unless "
                       "SSLPassPhraseDialog supplies it")
            yield ctx.finding("key-encrypted", at,
                              f"{shown_name(at)} {at.value}: the private key is encrypted, so "
                              f"certlint cannot check it against the certificate; {how}", site)


@rule("cert-path-dynamic")
def check_dynamic(site: Site, ctx: Context):
    for slot in site.slots:
        for ref in (slot.cert, slot.key):
            if ref is not None and ref.path is None:
                note = ""
                if site.server == "nginx" and "$" in ref.shown and site.flag("ssl_stapling"):
                    note = "; OCSP stapling is silently off for certificates loaded this way"
                yield ctx.finding("cert-path-dynamic", ref.directive,
                                  f"{shown_name(ref.directive)} {ref.shown}: {ref.dynamic}, so "
                                  f"certlint cannot open it offline{note}", site)
