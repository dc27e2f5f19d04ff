"""Apache's own chain rules: apache-chain-file-missing and apache-chain-file-deprecated.

Which advice fits depends on the Apache version (`--apache-version`): since 2.4.8
`SSLCertificateFile` may hold the full chain and `SSLCertificateChainFile` is obsolete; before
it, the chain file is the only way to send intermediates.
"""

from __future__ import annotations

from certlint.context import Context
from certlint.model import Site
from certlint.parsers.apache_conditions import version_at_least
from certlint.pki.chain import describe
from certlint.rules._outlook import fix_outlook
from certlint.rules._util import OPENSSL_CLIENTS, analysed_slots
from certlint.rules.base import rule
from certlint.rules.chain_rules import apache_leaf_only, missing_facts, private_root_way_out

CHAIN_IN_CERT_FILE = "2.4.8"


def _ways_out(version: str) -> str:
    if version_at_least(version, CHAIN_IN_CERT_FILE):
        return ("Either put the full chain (leaf first, then the intermediates) in "
                "SSLCertificateFile, which Apache reads since 2.4.8, or name a file with the "
                "intermediates in SSLCertificateChainFile (deprecated since 2.4.8)")
    return (f"Apache {version} reads only the leaf from SSLCertificateFile (a fullchain there "
            "needs 2.4.8+), so add SSLCertificateChainFile naming a file with the intermediates")


@rule("apache-chain-file-missing", servers=("apache",))
def check_chain_file_missing(site: Site, ctx: Context):
    for slot, chain in analysed_slots(site, ctx):
        if chain.complete or chain.missing_issuer is None:
            continue
        if not apache_leaf_only(site, slot, chain):
            continue
        outlook = fix_outlook(site, slot, chain, ctx)
        way_out = (_ways_out(ctx.options.apache_version) if outlook.untrusted_root is None
                   else private_root_way_out(chain.leaf_cert, outlook))
        yield ctx.finding(
            "apache-chain-file-missing", slot.cert.directive,
            f"SSLCertificateFile {slot.cert.shown} holds only the leaf {describe(chain.leaf_cert)}"
            f" and no SSLCertificateChainFile supplies its issuer "
            f"'{chain.missing_issuer.rfc4514_string()}': Apache serves the leaf alone. "
            f"{OPENSSL_CLIENTS} fail with 'unable to get local issuer certificate' (openssl "
            "verify error 20/21); browsers may hide it by fetching the intermediate (AIA). "
            f"{way_out}", site, fixable=None if outlook.fixable else False,
            facts={**missing_facts(site, slot, chain, ctx),
                   "apache_version": ctx.options.apache_version,
                   "chain_in_cert_file": version_at_least(ctx.options.apache_version,
                                                          CHAIN_IN_CERT_FILE)})


@rule("apache-chain-file-deprecated", servers=("apache",))
def check_chain_file_deprecated(site: Site, ctx: Context):
    if not version_at_least(ctx.options.apache_version, CHAIN_IN_CERT_FILE):
        return
    chain = site.get("sslcertificatechainfile")
    if chain is None:
        return
    where = "" if "sslcertificatechainfile" in site.own else " (inherited from the main server)"
    several = len(site.slots) > 1
    extra = (" With several certificates it is worse: the one chain file is sent with every "
             "certificate of the vhost." if several else "")
    yield ctx.finding(
        "apache-chain-file-deprecated", chain,
        f"SSLCertificateChainFile {chain.value}{where} is obsolete since Apache 2.4.8: while it "
        "is set, Apache ignores any intermediates in SSLCertificateFile and sends this file "
        f"instead.{extra} Append the intermediates to the SSLCertificateFile file (leaf first) "
        "and remove SSLCertificateChainFile", site)
