"""CRLs for client certificates: expired, expiring soon, from no known client CA, unloadable.

crl-expired, crl-expiring-soon, crl-unknown-issuer: the CRLs of nginx `ssl_crl`, Apache
`SSLCARevocationFile` and every file in `SSLCARevocationPath`, checked only where the server
really uses them (client verification on; on Apache, SSLCARevocationCheck not `none`).
crl-file-unparseable: a CRL file the server cannot load at all (it then does not start).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from certlint.context import Context
from certlint.model import Directive, Site
from certlint.pki.revocation import CrlEntry, crl_signed_by, load_crl_dir, load_crl_file
from certlint.rules._stapling import client_verify_on, shown, store_certs
from certlint.rules.base import rule

SOON_FLOOR = dt.timedelta(days=2)


def load_cached(ctx: Context, loader, path: str):
    """Each CRL file or directory is read once per run, however many sites name it."""
    cache = ctx.__dict__.setdefault("_crl_cache", {})
    key = (loader.__name__, path)
    if key not in cache:
        cache[key] = loader(path)
    return cache[key]


def crl_sources(site: Site, ctx: Context) -> Iterator[tuple[Directive, list[CrlEntry]]]:
    """(directive, its CRLs) for every CRL file or directory the site really checks with."""
    if not client_verify_on(site):
        return
    if site.server == "nginx":
        names = (("ssl_crl", load_crl_file),)
    else:
        check = site.get("sslcarevocationcheck")
        if check is None or check.value.lower() == "none":
            return
        names = (("sslcarevocationfile", load_crl_file), ("sslcarevocationpath", load_crl_dir))
    for name, loader in names:
        for d in site.get_all(name):
            ref = ctx.config.file_ref(d)
            if ref.path is None:
                continue
            loaded = load_cached(ctx, loader, ref.path)
            if loaded.crls:
                yield d, loaded.crls


def _by_issuer(crls: list[CrlEntry]) -> dict[bytes, list[CrlEntry]]:
    groups: dict[bytes, list[CrlEntry]] = {}
    for entry in crls:
        groups.setdefault(entry.crl.issuer.public_bytes(), []).append(entry)
    return groups


def _best(entries: list[CrlEntry], now: dt.datetime) -> CrlEntry:
    """The CRL OpenSSL would pick among several from one issuer: a current one if any."""
    def key(e: CrlEntry):
        nu = e.next_update
        return (e.last_update <= now, nu is None or nu >= now,
                nu or dt.datetime.max.replace(tzinfo=dt.timezone.utc))
    return max(entries, key=key)


def _rejects(site: Site, code: int, text: str) -> str:
    if site.server == "nginx":
        return ("every client whose chain passes through that CA gets 400 'The SSL certificate "
                f"error'; nginx logs 'client SSL certificate verify error: ({code}:{text})' only "
                "at info level")
    return ("every client whose chain passes through that CA fails the TLS handshake "
            f"(AH02039: Certificate Verification: Error ({code}): {text})")


def _where(d: Directive, entry: CrlEntry) -> str:
    label = f"{shown(d.name)} {d.value}"
    if d.name.lower() == "sslcarevocationpath":
        label += f" (file {entry.path})"
    return label


@rule("crl-expired")
def check_expired(site: Site, ctx: Context):
    now = ctx.now
    for d, crls in crl_sources(site, ctx):
        for entries in _by_issuer(crls).values():
            best = _best(entries, now)
            if best.last_update > now:
                yield ctx.finding(
                    "crl-expired", d,
                    f"{_where(d, best)}: the CRL of {best.issuer} is not valid yet (lastUpdate "
                    f"{best.last_update:%Y-%m-%d %H:%M} UTC): "
                    + _rejects(site, 11, "CRL is not yet valid"), site)
            elif best.next_update is not None and best.next_update < now:
                yield ctx.finding(
                    "crl-expired", d,
                    f"{_where(d, best)}: the CRL of {best.issuer} expired on "
                    f"{best.next_update:%Y-%m-%d %H:%M} UTC (nextUpdate): "
                    + _rejects(site, 12, "CRL has expired")
                    + "; fetch a fresh CRL and reload the server", site)


@rule("crl-expiring-soon")
def check_expiring(site: Site, ctx: Context):
    now = ctx.now
    cap = dt.timedelta(days=ctx.options.expiry_warn_days)
    for d, crls in crl_sources(site, ctx):
        for entries in _by_issuer(crls).values():
            best = _best(entries, now)
            nu = best.next_update
            if nu is None or nu < now or best.last_update > now:
                continue
            lifetime = nu - best.last_update
            threshold = min(cap, max(SOON_FLOOR, lifetime / 4))
            left = nu - now
            if left <= threshold:
                hours = int(left.total_seconds() // 3600)
                yield ctx.finding(
                    "crl-expiring-soon", d,
                    f"{_where(d, best)}: the CRL of {best.issuer} expires on "
                    f"{nu:%Y-%m-%d %H:%M} UTC (in {hours} h): after that "
                    + _rejects(site, 12, "CRL has expired")
                    + "; refresh it on a schedule shorter than its validity and reload", site)


@rule("crl-unknown-issuer")
def check_unknown_issuer(site: Site, ctx: Context):
    cas = store_certs(ctx, site)  # every CA the server trusts may have issued a CRL in use
    if not cas:
        return
    for d, crls in crl_sources(site, ctx):
        for entry in crls:
            if any(crl_signed_by(entry, ca) for ca in cas):
                continue
            named = [ca for ca in cas if ca.subject == entry.crl.issuer]
            if named:
                yield ctx.finding(
                    "crl-unknown-issuer", d,
                    f"{_where(d, entry)}: the CRL names {entry.issuer} as issuer but is not "
                    "signed by that CA's key (a CRL of an older or another CA with the same "
                    "name): " + _rejects(site, 8, "CRL signature failure"),
                    site, severity="error")
            else:
                yield ctx.finding(
                    "crl-unknown-issuer", d,
                    f"{_where(d, entry)}: the CRL of {entry.issuer} is not from any CA the "
                    "client certificates are verified against, so it revokes nothing here "
                    "(a CRL for the wrong CA, or the client CA file is missing a CA)", site)


@rule("crl-file-unparseable")
def check_unparseable(site: Site, ctx: Context):
    """A CRL file the server cannot load stops it from starting, client verification or not."""
    name = "ssl_crl" if site.server == "nginx" else "sslcarevocationfile"
    for d in site.get_all(name):
        ref = ctx.config.file_ref(d)
        if ref.path is None:
            continue
        data, _problem = ctx.store.raw(ref.path)
        if data is None:
            continue  # cert-file-missing says it
        loaded = load_cached(ctx, load_crl_file, ref.path)
        if loaded.error is None and loaded.crls:
            continue
        if site.server == "nginx":
            says = (f"nginx will not start: X509_LOOKUP_load_file(\"{ref.path}\") failed (SSL: "
                    "... no certificate or crl found)")
        else:
            says = ("Apache will not start: AH01901: ... unable to configure X.509 CRL storage "
                    "for certificate revocation (no certificate or crl found)")
        yield ctx.finding("crl-file-unparseable", d,
                          f"{shown(d.name)} {d.value} {loaded.error or 'holds no CRL'}; {says}",
                          site)
