"""Revocation checks over the network: what a stapling server and a revocation-checking client
really get from the CA's OCSP responder and CRL distribution points.

ocsp-responder-unreachable, ocsp-response-bad, cert-revoked, crl-unreachable.

They run on config sites only with `certlint check --online` (then for each stapling site, as
the server would ask: through the nginx `resolver` addresses when configured, else the system
resolver; and for the CRLs of client-certificate CAs), and on probed sites unless `--offline`
(the leaf's OCSP responder, the CRLs of the leaf and of each intermediate). Every fetch goes
through the run's bounded fetcher (`certlint.pki.network`). One computation per site feeds all
four rules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cryptography import x509

from certlint.context import Context
from certlint.model import Directive, Site
from certlint.pki.chain import describe
from certlint.pki.revocation import url_host
from certlint.pki.verify import fingerprint, is_self_signed
from certlint.rules._stapling import (
    client_ca_certs,
    client_verify_on,
    find_issuer,
    responder_url,
    stapling_at,
    stapling_file,
    stapling_on,
    store_certs,
)
from certlint.rules._util import analysed_slots
from certlint.rules.base import rule

if TYPE_CHECKING:  # the network modules load only for a run that goes online
    from certlint.pki.crl_check import CrlOutcome
    from certlint.pki.fetch import Fetcher
    from certlint.pki.ocsp_check import OcspOutcome

RULES = ("ocsp-responder-unreachable", "ocsp-response-bad", "cert-revoked", "crl-unreachable")


def _probed(site: Site) -> bool:
    return getattr(site, "endpoint", None) is not None


def _active(site: Site, ctx: Context) -> bool:
    if _probed(site):
        return not ctx.options.offline
    return ctx.options.online


def _register(name: str):
    try:
        return rule(name, sources=("config", "probe"))
    except TypeError:  # a registry without probe sources
        return rule(name)


def _results(site: Site, ctx: Context) -> list[tuple[str, Directive, str, dict]]:
    cache = ctx.__dict__.setdefault("_online_results", {})
    hit = cache.get(id(site))
    if hit is not None and hit[0] is site:
        return hit[1]
    out: list[tuple[str, Directive, str, dict]] = []
    if _active(site, ctx):
        from certlint.pki.network import run_fetcher

        fetcher = run_fetcher(ctx.options)
        if _probed(site):
            out = _probe_checks(site, ctx, fetcher)
        else:
            out = _stapling_checks(site, ctx, fetcher) + _client_crl_checks(site, ctx, fetcher)
    cache[id(site)] = (site, out)
    return out


def prefetch(sites: list[Site], ctx: Context, concurrency: int = 16) -> None:
    """Run the network checks of many sites at once (threads), so that the rules, which run
    site after site, find their answers ready: a probe of 200 endpoints asks 200 responders in
    parallel, not one after the other. The fetcher keeps one request per URL across threads."""
    todo = [s for s in sites if _active(s, ctx) and s.slots]
    if len(todo) < 2:
        return
    for site in todo:  # chain analyses (and the trust store's lazy index) in this thread only
        for _ in analysed_slots(site, ctx):
            pass
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(todo)))) as pool:
        for future in [pool.submit(_results, site, ctx) for site in todo]:
            try:
                future.result()
            except Exception:  # noqa: BLE001 - the rule itself reports it when it runs again
                pass


def _findings(name: str, site: Site, ctx: Context):
    for rule_name, at, message, facts in _results(site, ctx):
        if rule_name == name:
            yield _finding(ctx, rule_name, at, message, site, facts)


def _finding(ctx: Context, name, at, message, site, facts):
    try:
        return ctx.finding(name, at, message, site, facts=facts)
    except TypeError:  # a Finding without facts
        return ctx.finding(name, at, message, site)


@_register("ocsp-responder-unreachable")
def check_responder_unreachable(site: Site, ctx: Context):
    yield from _findings("ocsp-responder-unreachable", site, ctx)


@_register("ocsp-response-bad")
def check_response_bad(site: Site, ctx: Context):
    yield from _findings("ocsp-response-bad", site, ctx)


@_register("cert-revoked")
def check_revoked(site: Site, ctx: Context):
    yield from _findings("cert-revoked", site, ctx)


@_register("crl-unreachable")
def check_crl_unreachable(site: Site, ctx: Context):
    yield from _findings("crl-unreachable", site, ctx)


# -- config sites (check --online) -----------------------------------------------------------


def nginx_resolvers(site: Site) -> list[str]:
    """The addresses of the site's effective nginx `resolver` (options such as valid= left out)."""
    d = site.get("resolver") if site.server == "nginx" else None
    if d is None:
        return []
    return [a for a in d.args if "=" not in a]


def _issuer_of(site: Site, ctx: Context, chain) -> x509.Certificate | None:
    path = chain.path_certs()
    if len(path) > 1:
        return path[1]
    if chain.anchor is not None:
        return chain.anchor
    if _probed(site):
        return None
    return find_issuer(chain.leaf_cert, [store_certs(ctx, site)])


def _stapling_checks(site: Site, ctx: Context, fetcher: Fetcher):
    from certlint.pki.ocsp_check import ask_ocsp

    if site.server not in ("nginx", "apache") or not stapling_on(site):
        return []
    if stapling_file(site) is not None:
        return []  # nginx serves the file and asks no responder
    out = []
    resolvers = nginx_resolvers(site)
    at = stapling_at(site)
    for _slot, chain in analysed_slots(site, ctx):
        leaf = chain.leaf_cert
        url = responder_url(site, leaf)
        issuer = _issuer_of(site, ctx, chain)
        if not url or issuer is None or url[:7].lower() != "http://":
            continue  # stapling-no-ocsp-url / stapling-issuer-missing say why
        outcome = ask_ocsp(leaf, issuer, fetcher.via(resolvers), ctx.now, urls=[url])
        out += _ocsp_results(site, at, leaf, outcome, resolvers)
    return out


def _client_crl_checks(site: Site, ctx: Context, fetcher: Fetcher):
    from certlint.pki.crl_check import check_crl

    if site.server not in ("nginx", "apache") or not client_verify_on(site):
        return []
    cas = client_ca_certs(ctx, site)
    at = _client_ca_directive(site)
    if at is None:
        return []
    out = []
    for ca in cas:
        if is_self_signed(ca):
            continue
        issuer = find_issuer(ca, [cas, list(ctx.trust.issuers_of(ca))])
        if issuer is None:
            continue
        outcome = check_crl(ca, issuer, fetcher, ctx.now)
        out += _crl_results(site, at, ca, outcome, "client CA")
    return out


def _client_ca_directive(site: Site) -> Directive | None:
    names = (("ssl_client_certificate", "ssl_trusted_certificate") if site.server == "nginx"
             else ("sslcacertificatefile", "sslcacertificatepath"))
    for name in names:
        d = site.get(name)
        if d is not None:
            return d
    return None


# -- probed sites ------------------------------------------------------------------------------


def _probe_checks(site: Site, ctx: Context, fetcher: Fetcher):
    from certlint.pki.crl_check import check_crl
    from certlint.pki.ocsp_check import ask_ocsp

    out = []
    for slot, chain in analysed_slots(site, ctx):
        at = slot.cert.directive
        path = chain.path_certs()
        if chain.anchor is not None and (not path or fingerprint(path[-1])
                                         != fingerprint(chain.anchor)):
            path = path + [chain.anchor]
        leaf = chain.leaf_cert
        revoked: set[bytes] = set()
        for i, cert in enumerate(path[:-1]):
            issuer = path[i + 1]
            if i == 0:
                outcome = ask_ocsp(cert, issuer, fetcher, ctx.now)
                found = _ocsp_results(site, at, leaf, outcome, [])
                out += found
                if any(r[0] == "cert-revoked" for r in found):
                    revoked.add(fingerprint(cert))
            crl = check_crl(cert, issuer, fetcher, ctx.now)
            if crl.kind == "revoked" and fingerprint(cert) in revoked:
                continue  # the responder said it already
            out += _crl_results(site, at, cert, crl, "leaf" if i == 0 else "intermediate")
    return out


# -- messages ----------------------------------------------------------------------------------


def _server_log(site: Site, step: str | None, host: str) -> str:
    """What the server logs when its own stapling request fails at this step."""
    if site.server == "nginx":
        return {
            "resolve": f"nginx logs \"{host} could not be resolved (110: Operation timed out) "
                       "while requesting certificate status\" (or \"Host not found\")",
            "connect": "nginx logs \"recv() failed (111: Connection refused) while requesting "
                       "certificate status\"",
            "timeout": "nginx logs \"OCSP responder timed out (110: Connection timed out) "
                       "while requesting certificate status\"",
        }.get(step or "", "nginx logs an error \"... while requesting certificate status, "
                          f"responder: {host}\"")
    if site.server == "apache":
        return {
            "resolve": f"Apache logs \"AH01972: could not resolve address of OCSP responder "
                       f"{host}\"",
            "connect": f"Apache logs \"AH01974: could not connect to OCSP responder '{host}'\"",
            "reset": "Apache logs \"AH01977: failed reading line from OCSP server\"",
            "unparseable": "Apache logs \"AH01980: bad response from OCSP server\"",
        }.get(step or "", "Apache logs \"AH01941: stapling_renew_response: responder error\"")
    return ""


STEPS = {"resolve": "name resolution", "connect": "connect", "reset": "connection reset",
         "timeout": "timeout", "http-status": "HTTP status", "unparseable": "unparseable answer",
         "too-large": "answer too large", "protocol": "not an HTTP answer",
         "policy": "refused by policy", "budget": "network budget spent", "bad-url": "bad URL"}


def _ocsp_results(site: Site, at: Directive, leaf: x509.Certificate, outcome: OcspOutcome,
                  resolvers: list[str]):
    from certlint.pki.fetch import shown

    if outcome.kind in ("good", "none"):
        return []
    facts = dict(outcome.facts, certificate=describe(leaf).strip("'"))
    if outcome.kind == "revoked":
        return [("cert-revoked", at, f"the OCSP responder {shown(outcome.url)} says "
                 f"{outcome.message}: clients that "
                 "check revocation refuse the site (Firefox: SEC_ERROR_REVOKED_CERTIFICATE, "
                 "Chrome: NET::ERR_CERT_REVOKED), and a stapling server staples nothing "
                 "(nginx: 'certificate status \"revoked\" in the OCSP response'); replace the "
                 "certificate", facts)]
    if outcome.kind == "bad":
        return [("ocsp-response-bad", at, f"the OCSP responder's answer for {describe(leaf)} "
                 f"is unusable: {outcome.message}; a stapling server does not staple it and "
                 "revocation-checking clients treat the status as unknown", facts)]
    if outcome.step in ("policy", "budget", "bad-url"):
        facts["step"] = outcome.step
    host = url_host(outcome.url)
    step = STEPS.get(outcome.step or "", outcome.step or "fetch")
    how = ""
    if not _probed(site) and outcome.step == "resolve":
        how = (f" (asked through the configured resolver {', '.join(resolvers)})" if resolvers
               else " (asked through the system resolver: no nginx resolver is configured)")
    if _probed(site):
        consequence = ("clients that hard-fail on revocation fail, and a server behind the "
                       "same firewall cannot staple")
    else:
        consequence = (f"the server staples nothing ({_server_log(site, outcome.step, host)}), "
                       "and Must-Staple or revocation-checking clients fail")
    facts.update(step=outcome.step, resolvers=resolvers)
    return [("ocsp-responder-unreachable", at,
             f"the OCSP responder of {describe(leaf)} cannot be reached (failed at: {step}"
             f"{how}): {outcome.message}; {consequence}", facts)]


def _crl_results(site: Site, at: Directive, cert: x509.Certificate, outcome: CrlOutcome,
                 role: str):
    from certlint.pki.fetch import shown

    if outcome.kind in ("good", "none"):
        return []
    facts = dict(outcome.facts, role=role)
    if outcome.kind == "revoked":
        return [("cert-revoked", at, f"the CRL at {shown(outcome.urls[0])} says "
                 f"{outcome.message}: clients that check revocation refuse it "
                 "(CRYPT_E_REVOKED on Windows, 'certificate revoked' in OpenSSL)", facts)]
    consequence = ("clients that hard-fail on revocation, such as Windows schannel, fail with "
                   "CRYPT_E_REVOCATION_OFFLINE (0x80092013)")
    if role == "client CA":
        consequence = ("a server or client that checks this CA's CRL cannot get a current one, "
                       "and client certificates it issued cannot be checked")
    return [("crl-unreachable", at, f"no CRL distribution point of the {role} {describe(cert)} "
             f"gives a usable CRL: {outcome.message}; {consequence}", facts)]
