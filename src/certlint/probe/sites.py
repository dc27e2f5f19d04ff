"""Probed sites: one `Site` (server "probe") per distinct chain an endpoint, a transcript or a
bundle served, with an `Endpoint` instead of directives.

The slot's `cert` FileRef only locates findings: its directive's path is the target as given
(or the transcript file), its line and column are None, and it names no file to open.
"""

from __future__ import annotations

import os

from certlint.model import CertSlot, Directive, Endpoint, FileRef, ServedChain, Site
from certlint.pki.verify import fingerprint
from certlint.probe.targets import Target


def distinct_chains(chains: list[ServedChain]) -> list[ServedChain]:
    """Chains that differ in what was sent (a server without a second certificate answers
    both handshakes of a dual-certificate probe with the same chain)."""
    seen, out = set(), []
    for chain in chains:
        key = tuple(fingerprint(c) for c in chain.certs)
        if key not in seen:
            seen.add(key)
            out.append(chain)
    return out


def _shown(chain: ServedChain, label: str, path: str) -> str:
    if chain.source == "transcript":
        return f"the chain in the transcript {os.path.basename(path)}"
    if chain.source == "pem":
        return f"the bundle {os.path.basename(path)}"
    return f"the chain served by {label}"


def probed_sites(target: Target, chains: list[ServedChain], path: str | None = None,
                 address: str | None = None) -> list[Site]:
    """Sites for what `target` served; `path` is what findings point at (default: the target
    as given)."""
    path = path if path is not None else target.given
    chains = distinct_chains(chains)
    dual = len(chains) > 1
    sites = []
    for chain in chains:
        endpoint = Endpoint(name=target.name, port=target.port, target=path, address=address,
                            key_type=chain.key_type if dual else None)
        site = Site(server="probe", origin=Directive("endpoint", (target.given,), path, None,
                                                     None),
                    names=[target.name], listen=[str(target.port)], endpoint=endpoint)
        location = Directive("served-chain", (_shown(chain, site.label, path),), path, None,
                             None)
        site.origin = location
        site.slots = [CertSlot(cert=FileRef(location, None), served=chain)]
        sites.append(site)
    return sites


def unreachable_site(target: Target, error: str, path: str | None = None) -> Site:
    """A target without a handshake: a site with no chain, for `endpoint-unreachable`."""
    path = path if path is not None else target.given
    origin = Directive("endpoint", (target.given,), path, None, None)
    return Site(server="probe", origin=origin, names=[target.name], listen=[str(target.port)],
                endpoint=Endpoint(name=target.name, port=target.port, target=path, error=error))
