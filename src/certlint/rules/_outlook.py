"""Will `certlint fix` get this slot's chain to a trusted root? fix writes nothing that does not
verify to a trusted root, so the chain rules whose fix rebuilds the certificate file
(chain-incomplete, apache-chain-file-missing, chain-wrong-order, chain-unrelated-cert) count as
fixable only what fix can finish: the path fix builds from the served certificates and the
chain-like files beside the certificate (the same search, `AiaFetcher.complete`), with an issuer
behind an AIA caIssuers URL counted as reachable (check itself stays offline)."""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography import x509

from certlint.context import Context
from certlint.model import CertSlot, Site
from certlint.pki.chain import ChainAnalysis


@dataclass
class Outlook:
    fixable: bool
    problem: str | None = None  # why fix cannot finish the chain
    untrusted_root: x509.Certificate | None = None  # the private root the path ends at
    root_file: str | None = None  # the file beside the certificate that holds that root
    fetch_from: list[str] = field(default_factory=list)  # AIA URLs fix would fetch from


def fix_outlook(site: Site, slot: CertSlot, chain: ChainAnalysis, ctx: Context) -> Outlook:
    """Whether fix can rebuild the slot's chain up to a trusted root, and what it would use."""
    if chain.complete or site.server == "probe" or slot.cert.path is None:
        return Outlook(fixable=chain.complete)
    return ctx.once("fix-outlook", slot, lambda: _outlook(slot, chain, ctx))


def _outlook(slot: CertSlot, chain: ChainAnalysis, ctx: Context) -> Outlook:
    from certlint.pki.aia import AiaFetcher
    from certlint.pki.siblings import certs_beside
    from certlint.pki.verify import fingerprint

    nearby = list(certs_beside(slot.cert.path, ctx.store))
    have = list(chain.served) + list(chain.auto_added) + [c for c, _where in nearby]
    search = AiaFetcher(ctx.trust, now=ctx.now, offline=True, use_cache=False)
    found = search.complete(chain.leaf_cert, have)
    if found.ok:
        return Outlook(fixable=True)
    root = found.untrusted_root
    if found.wanted and root is None:
        return Outlook(fixable=True, fetch_from=found.wanted)
    files = {fingerprint(c): where for c, where in reversed(nearby)}
    return Outlook(fixable=False, problem=found.problem or "no trusted root reached",
                   untrusted_root=root,
                   root_file=files.get(fingerprint(root)) if root is not None else None)


def fixable_flag(site: Site, slot: CertSlot, chain: ChainAnalysis, ctx: Context) -> bool | None:
    """The `fixable` of a finding whose fix rebuilds the chain: the rule's own default (None)
    when fix can finish the chain, else False."""
    return None if fix_outlook(site, slot, chain, ctx).fixable else False
