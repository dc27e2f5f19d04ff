"""Chain rules: chain-incomplete, chain-wrong-order, chain-contains-root, chain-unrelated-cert,
chain-untrusted-root. All read the one chain analysis of each certificate slot."""

from __future__ import annotations

import os

from cryptography.hazmat.primitives import serialization

from certlint.context import Context
from certlint.model import Site
from certlint.pki.chain import describe
from certlint.pki.load import describe_key
from certlint.pki.revocation import ca_issuer_urls
from certlint.pki.siblings import issuer_beside
from certlint.pki.verify import cert_spki, is_self_signed, issued_by, subject_der
from certlint.rules._apache_root import auto_chained_root
from certlint.rules._facts import cert_facts, slot_facts
from certlint.rules._outlook import fix_outlook, fixable_flag
from certlint.rules._util import (
    OPENSSL_CLIENTS,
    analysed_slots,
    chain_directive,
    server_refuses,
)
from certlint.rules.base import CHAIN_SOURCES, rule


def _name(n) -> str:
    return f"'{n.rfc4514_string()}'"


def apache_leaf_only(site: Site, slot, chain) -> bool:
    """Apache's own case: SSLCertificateFile holds just the leaf and no chain file is set."""
    return (site.server == "apache" and slot.chain is None and len(chain.served) == 1
            and not chain.auto_added)


def missing_facts(site: Site, slot, chain, ctx: Context) -> dict:
    """Facts of an incomplete chain: the last certificate reached, the issuer it needs and
    where the CA publishes it (AIA caIssuers)."""
    last = chain.path_certs()[-1]
    facts = slot_facts(site, slot, ctx, chain)
    facts["last"] = cert_facts(last)
    facts["missing_issuer"] = chain.missing_issuer.rfc4514_string()
    facts["issuer_urls"] = facts["last"]["ca_issuers"]
    found = getattr(chain, "fetched", None)
    if found is not None and getattr(found, "ok", False):  # a probe fetched it through AIA
        facts["intermediates"] = [cert_facts(c) for c in found.intermediates]
    return facts


@rule("chain-incomplete", sources=CHAIN_SOURCES)
def check_incomplete(site: Site, ctx: Context):
    for slot, chain in analysed_slots(site, ctx):
        if chain.complete or chain.missing_issuer is None:
            continue
        if apache_leaf_only(site, slot, chain):
            continue  # apache-chain-file-missing says it, with Apache's ways out
        last = chain.path_certs()[-1]
        served = len(chain.served)
        what = "only the leaf certificate" if served == 1 else f"{served} certificates"
        if chain.alternative is not None:
            taken = " -> ".join(f"#{i + 1}" for i in chain.path)
            works = " -> ".join(f"#{i + 1}" for i in chain.alternative)
            yield ctx.finding(
                "chain-incomplete", chain_directive(site, slot),
                f"{slot.cert.shown}: OpenSSL-based clients (curl, wget, Python requests, Java "
                "and Go on Linux) take the first certificate in the file that names the right "
                f"issuer and build {taken}, which ends at {describe(last)} whose issuer "
                f"{_name(chain.missing_issuer)} is neither served nor trusted: they fail with "
                "'unable to get local issuer certificate'. The file also holds a path that "
                f"reaches a trusted root ({works}); browsers may find it, OpenSSL does not "
                "look. Put that path's certificates first, in order, or drop the others",
                site, facts={**missing_facts(site, slot, chain, ctx),
                             "alternative": [i + 1 for i in chain.alternative]})
            continue
        if chain.fetched_root is not None:
            continue  # AIA served a private root: chain-untrusted-root says it
        source = f"{slot.cert.shown} holds"
        if site.server == "apache" and slot.chain is not None:  # the two files make the chain
            source = f"{slot.cert.shown} with SSLCertificateChainFile {slot.chain.shown} serve"
        way_out, fixable, facts = _way_out(site, slot, chain, last, ctx)
        yield ctx.finding(
            "chain-incomplete", chain_directive(site, slot),
            f"{source} {what} and does not reach a trusted root: the issuer "
            f"{_name(chain.missing_issuer)} of {describe(last)} is missing. {OPENSSL_CLIENTS} "
            "will fail with 'unable to get local issuer certificate' (openssl: verify error 20/21 "
            "'unable to verify the first certificate'); browsers may hide it by fetching the "
            f"intermediate themselves (AIA). {way_out}",
            site, fixable=fixable, facts={**missing_facts(site, slot, chain, ctx), **facts})


def _way_out(site: Site, slot, chain, last, ctx: Context):
    """What to do about the missing issuer of the last served certificate, whether `fix` can
    do it, and the facts. At hand (a chain file beside the certificate) or behind an AIA URL,
    `fix` gets it; otherwise it is either a missing intermediate or a private root (which
    belongs in --ca-bundle), and not fixable."""
    urls = ca_issuer_urls(last)
    missing = _name(chain.missing_issuer)
    facts = {"missing_issuer": chain.missing_issuer.rfc4514_string(),
             "last_served": last.subject.rfc4514_string(), "aia_urls": urls}
    if site.server == "probe":
        found = chain.fetched
        if found is not None and getattr(found, "ok", False):
            names = ", ".join(describe(c) for c in found.intermediates)
            facts["fetched"] = list(found.fetched)
            return (f"Serve the full chain: leaf, then {names} (fetched from "
                    f"{urls[0] if urls else 'the AIA URL'} and verified); `certlint probe "
                    "--bundle-out DIR` writes the file to deploy"), None, facts
        if urls:
            why = f" ({found.problem})" if found is not None and found.problem else ""
            return (f"Serve the full chain (leaf, then intermediates); the missing issuer is "
                    f"published at {urls[0]}{why}"), None, facts
    else:
        outlook = fix_outlook(site, slot, chain, ctx)
        beside = issuer_beside(slot.cert.path, last, ctx.store) if slot.cert.path else None
        if beside is not None:
            facts["found_in"] = beside[1]
        if outlook.untrusted_root is not None:
            return private_root_way_out(last, outlook), False, facts
        if outlook.fixable and beside is not None:
            rest = (f", and fetch the rest from {outlook.fetch_from[0]}" if outlook.fetch_from
                    else "")
            return (f"Serve the full chain (leaf, then intermediates): {describe(beside[0])} is "
                    f"in {os.path.basename(beside[1])} beside it, and `certlint fix` will add "
                    f"it{rest}"), None, facts
        if outlook.fixable and urls:
            return (f"Serve the full chain (leaf, then intermediates): `certlint fix` will "
                    f"fetch the missing {missing} from {urls[0]}"), None, facts
        if beside is not None or urls:
            return (f"Serve the full chain (leaf, then intermediates); `certlint fix` cannot "
                    f"complete it: {outlook.problem}"), False, facts
    return (f"{describe(last)} names no AIA URL to fetch its issuer from, so {missing} is "
            "either a missing intermediate (get it from your CA and serve it after the leaf) "
            "or your private root, which clients must trust: pass it with --ca-bundle (or "
            "ca-bundle in the project config) instead of serving it"), False, facts


def private_root_way_out(last, outlook) -> str:
    """The way out when the path ends at a self-signed root that is not trusted."""
    root = outlook.untrusted_root
    where = (f" (in {os.path.basename(outlook.root_file)} beside it)" if outlook.root_file
             else "")
    trust = ("if your clients trust this CA, pass it with --ca-bundle (or ca-bundle in the "
             "project config) and certlint judges the chain against it")
    if issued_by(last, root):
        return (f"The missing issuer is the self-signed {describe(root)}{where}, which is not in "
                "the trust store: a private root. Clients that trust it have it already, so "
                f"serving it changes nothing; {trust}")
    return (f"The certificates at hand complete the chain only up to the self-signed "
            f"{describe(root)}{where}, which is not in the trust store: a private root. "
            f"Clients that do not trust it fail whatever is served; {trust}, and `certlint "
            "fix` then adds the missing intermediates")


@rule("chain-wrong-order", sources=CHAIN_SOURCES)
def check_order(site: Site, ctx: Context):
    for slot, chain in analysed_slots(site, ctx):
        at = slot.cert.directive
        if chain.leaf_first and not chain.misordered:
            continue
        fixable = fixable_flag(site, slot, chain, ctx)
        if not chain.leaf_first:
            leaf = chain.leaf_cert
            why = ("the private key belongs to certificate "
                   f"#{chain.leaf + 1}" if chain.key_matches_other is not None
                   else f"the leaf is certificate #{chain.leaf + 1}")
            consequence = _leaf_not_first_consequence(site, slot, chain, ctx)
            yield ctx.finding(
                "chain-wrong-order", at,
                f"{slot.cert.shown}: the first certificate is not the leaf ({why}, "
                f"{describe(leaf)}). The server takes the first certificate as its own, so "
                f"{consequence}. Put the leaf first, "
                "then the intermediates", site, severity="error", fixable=fixable,
                facts={**slot_facts(site, slot, ctx, chain), "leaf_index": chain.leaf + 1,
                       "order": [i + 1 for i in chain.path],
                       "key_type_differs": consequence != server_refuses(site)})
        elif chain.misordered:
            order = ", ".join(f"#{i + 1}" for i in chain.path)
            yield ctx.finding(
                "chain-wrong-order", chain_directive(site, slot),
                f"{slot.cert.shown}: the intermediates are not in issuing order (issuing path is "
                f"{order} in file positions). TLS 1.2 requires each certificate to certify the "
                "one before it; strict clients reject the chain and SSL Labs reports "
                "'Incorrect order'", site, severity="warning", fixable=fixable,
                facts={**slot_facts(site, slot, ctx, chain), "leaf_index": chain.leaf + 1,
                       "order": [i + 1 for i in chain.path]})


def _key_kind(public_key) -> str:
    return describe_key(public_key).split(" ", 1)[0]


def _leaf_not_first_consequence(site: Site, slot, chain, ctx: Context) -> str:
    """nginx checks the key only against the certificate of the key's own type: with an RSA
    certificate first and an EC key (or the reverse) OpenSSL files the key in the other slot,
    nginx starts, and every handshake fails. Same types: "key values mismatch" at start.
    Apache checks the pair itself (AH02565) either way."""
    key = ctx.slot_key(slot)
    if site.server != "nginx" or key is None or key.public is None:
        return server_refuses(site)
    first = _key_kind(chain.served[0].public_key())
    mine = _key_kind(serialization.load_der_public_key(key.public))
    if first == mine:
        return server_refuses(site)
    return (f"with {first} certificate #1 and {_article(mine)} {mine} key OpenSSL files the key "
            f"in the {mine} slot, which has no certificate: nginx starts without a word, but "
            f"the {first} certificate has no key and the leaf is sent as a chain certificate, "
            "so every handshake fails (clients: 'sslv3 alert handshake failure'; nginx logs "
            "'no shared cipher')")


def _article(kind: str) -> str:
    return "an" if kind[:1] in "AEIOU" or kind.startswith(("RSA", "EC")) else "a"


@rule("chain-contains-root", sources=CHAIN_SOURCES)
def check_contains_root(site: Site, ctx: Context):
    for slot, chain in analysed_slots(site, ctx):
        if chain.served_root is not None and chain.root_trusted:
            root = chain.served[chain.served_root]
            yield ctx.finding(
                "chain-contains-root", chain_directive(site, slot),
                f"{slot.cert.shown} sends the root {describe(root)} (certificate "
                f"#{chain.served_root + 1}): clients already have it, so it only adds bytes to "
                "every handshake, and some clients choke on it (SSL Labs: 'Contains anchor'). "
                "Drop it from the file", site,
                facts={**slot_facts(site, slot, ctx, chain), "root": cert_facts(root),
                       "root_index": chain.served_root + 1})
        elif site.server == "apache":
            found = auto_chained_root(site, slot, chain, ctx)  # sent from SSLCACertificateFile
            if found is not None:
                yield found


@rule("chain-unrelated-cert", sources=CHAIN_SOURCES)
def check_unrelated(site: Site, ctx: Context):
    for slot, chain in analysed_slots(site, ctx):
        if not chain.leaf_first:
            continue
        strays = [i for i in chain.unrelated if chain.served[i].not_valid_after_utc >= ctx.now]
        if not chain.duplicates and not strays:
            continue
        fixable = fixable_flag(site, slot, chain, ctx)
        if len(chain.duplicates) + len(strays) > MAX_STRAYS_LISTED:
            yield _strays_summary(site, slot, chain, strays, ctx, fixable)
            continue
        for i in chain.duplicates:
            yield ctx.finding(
                "chain-unrelated-cert", chain_directive(site, slot),
                f"{slot.cert.shown}: certificate #{i + 1} {describe(chain.served[i])} is a "
                "duplicate of one already in the chain; drop it", site, fixable=fixable)
        for i in chain.unrelated:
            cert = chain.served[i]
            if cert.not_valid_after_utc < ctx.now:
                continue  # cert-expired reports an expired stray (e.g. a dead cross-sign)
            twin = _cross_signed_twin(cert, chain)
            if twin is not None:
                if twin is chain.anchor:
                    who = (f"clients that trust {describe(twin)} never use it, only old "
                           "clients without that root do (e.g. Android before 7.1.1)")
                else:
                    who = ("the chain already reaches a trusted root through the other copy; "
                           "this one only helps clients that trust "
                           f"{_name(cert.issuer)} instead")
                yield ctx.finding(
                    "chain-unrelated-cert", chain_directive(site, slot),
                    f"{slot.cert.shown}: certificate #{i + 1} is a cross-signed copy of "
                    f"{describe(twin)} (issued by {_name(cert.issuer)}); {who}. Drop it unless "
                    "you serve such clients", site, fixable=fixable)
                continue
            yield ctx.finding(
                "chain-unrelated-cert", chain_directive(site, slot),
                f"{slot.cert.shown}: certificate #{i + 1} {describe(cert)} is not on the leaf's "
                "issuing path; it is sent to every client for nothing and confuses strict "
                "clients. Drop it", site, fixable=fixable)


MAX_STRAYS_LISTED = 5


def _cross_signed_twin(cert, chain):
    """The path certificate or anchor with the same subject and key as `cert`, if any."""
    same = (subject_der(cert), cert_spki(cert))
    for other in chain.path_certs() + ([chain.anchor] if chain.anchor is not None else []):
        if other is not cert and (subject_der(other), cert_spki(other)) == same:
            return other
    return None


def _strays_summary(site, slot, chain, strays, ctx, fixable):
    """One finding for a file with many certificates off the path (a bundle of every CA?)."""
    extra = sorted(chain.duplicates + strays)
    first = ", ".join(f"#{i + 1}" for i in extra[:MAX_STRAYS_LISTED])
    dup = f" ({len(chain.duplicates)} of them duplicates)" if chain.duplicates else ""
    return ctx.finding(
        "chain-unrelated-cert", chain_directive(site, slot),
        f"{slot.cert.shown}: {len(extra)} of its {len(chain.served)} certificates{dup} are not "
        f"on the leaf's issuing path ({first}, ...); they are sent to every client for nothing "
        "and confuse strict clients. Keep only the leaf and its intermediates", site,
        fixable=fixable)


@rule("chain-untrusted-root", sources=CHAIN_SOURCES)
def check_untrusted_root(site: Site, ctx: Context):
    for slot, chain in analysed_slots(site, ctx):
        if not chain.leaf_first or chain.complete:
            continue
        leaf = chain.leaf_cert
        if chain.served_root is None and is_self_signed(leaf):
            yield ctx.finding(
                "chain-untrusted-root", chain_directive(site, slot),
                f"{slot.cert.shown}: the certificate {describe(leaf)} is self-signed and not in "
                "the trust store: every client that verifies fails ('self-signed certificate', "
                "openssl verify error 18). Use a certificate from a trusted CA, or pass your "
                "private CA with --ca-bundle if clients trust it", site)
        elif chain.fetched_root is not None:
            root = chain.fetched_root
            urls = ca_issuer_urls(chain.path_certs()[-1])
            yield ctx.finding(
                "chain-untrusted-root", chain_directive(site, slot),
                f"{slot.cert.shown} ends below the root {describe(root)}, fetched from "
                f"{urls[0] if urls else 'its AIA URL'}: a self-signed root that is not in the "
                "trust store (your private CA?), not a missing intermediate. Clients that do "
                "not trust it fail with 'unable to get local issuer certificate' (openssl "
                "verify error 20). If clients trust your private CA, pass it with --ca-bundle",
                site, facts={"root": root.subject.rfc4514_string(), "aia_urls": urls})
        elif chain.served_root is not None and not chain.root_trusted:
            root = chain.served[chain.served_root]
            yield ctx.finding(
                "chain-untrusted-root", chain_directive(site, slot),
                f"{slot.cert.shown}: the chain ends at the root {describe(root)}, which is not in "
                "the trust store: clients fail with 'self-signed certificate in certificate "
                "chain' (openssl verify error 19). If this is your private CA, pass it with "
                "--ca-bundle", site)
