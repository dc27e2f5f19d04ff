"""Completing a probed chain that stops short, over AIA: the missing intermediates (for the
message and `--bundle-out`), or the finding that the missing issuer is a self-signed root in no
trust store (a private CA: chain-untrusted-root rather than chain-incomplete).

Everything fetched is verified by signature (`issued_by`) before it counts.
"""

from __future__ import annotations

from certlint.pki.aia import MAX_URLS_PER_CERT, AiaFetcher, ca_issuer_urls, parse_response
from certlint.pki.chain import ChainAnalysis
from certlint.pki.verify import is_self_signed, issued_by


def complete_over_aia(chain: ChainAnalysis, aia: AiaFetcher) -> None:
    served = list(chain.served)
    chain.fetched = aia.complete(chain.leaf_cert, have=served)
    if getattr(chain.fetched, "ok", False):
        return
    last = chain.path_certs()[-1]
    for url in ca_issuer_urls(last)[:MAX_URLS_PER_CERT]:
        data, _problem = aia.fetch(url)
        if not data:
            continue
        issuers = [c for c in parse_response(data) if issued_by(last, c)]
        roots = [c for c in issuers if is_self_signed(c) and not aia.trust.contains(c)]
        if roots:
            chain.fetched_root = roots[0]
            return
        if issuers:
            return
