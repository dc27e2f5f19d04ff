"""`certlint probe --bundle-out DIR`: write what the server's owner must deploy.

For each probed chain that can be completed: `NAME.fullchain.pem` (the leaf, then the
intermediates in issuing order, no root) and each intermediate as its own PEM file
(`NAME.intermediate-1.pem`, ...). A dual-certificate endpoint gets one set per key type
(`NAME.ecdsa.fullchain.pem`, `NAME.rsa.fullchain.pem`). Before anything is written the chain is
verified: every certificate is signed by the next, and the last is issued by a trust anchor
(certifi plus --ca-bundle). Writes stay inside DIR (file names are built from the target name,
never from certificate contents) and are atomic (a temporary file in DIR, then rename).
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from certlint.context import Context
from certlint.model import Site
from certlint.pki.chain import describe
from certlint.pki.verify import is_self_signed, issued_by

SAFE = re.compile(r"[^A-Za-z0-9._-]")


@dataclass
class Written:
    site: str
    fullchain: str | None = None
    intermediates: tuple[str, ...] = ()
    problem: str | None = None


def deployable(site: Site, ctx: Context) -> tuple[list[x509.Certificate] | None, str]:
    """Leaf then intermediates in issuing order (no root), verified to a trust anchor; or None
    and why not."""
    slot = site.slots[0] if site.slots else None
    chain = ctx.chain(site, slot) if slot is not None else None
    if chain is None:
        return None, "nothing was served"
    if not chain.leaf_first and chain.served_root is None and not chain.path:
        return None, "no leaf certificate found"
    certs = [chain.served[i] for i in chain.path]
    anchor = chain.anchor
    fetched = chain.fetched
    if anchor is None and fetched is not None and getattr(fetched, "ok", False):
        certs += [c for c in fetched.intermediates if c not in certs]
        anchor = fetched.anchor
    certs = [c for c in certs if not is_self_signed(c)] or certs[:1]
    if anchor is None:
        if chain.served_root is not None and chain.root_trusted:
            anchor = chain.served[chain.served_root]
        else:
            return None, ("the chain does not reach a trusted root (pass your private CA with "
                          "--ca-bundle, or the missing intermediate could not be fetched)")
    for child, parent in zip(certs, certs[1:], strict=False):
        if not issued_by(child, parent):
            return None, f"{describe(parent)} did not issue {describe(child)}"
    if not issued_by(certs[-1], anchor) and not ctx.trust.contains(certs[-1]):
        return None, f"{describe(certs[-1])} is not issued by the trust anchor"
    return certs, ""


def _stem(site: Site, dual: bool) -> str:
    endpoint = site.endpoint
    name = SAFE.sub("_", endpoint.name) if endpoint else "site"
    if dual and endpoint is not None and endpoint.key_type:
        name += "." + SAFE.sub("_", endpoint.key_type.lower())
    return name


def _write(folder: str, name: str, data: bytes) -> str:
    if "/" in name or os.sep in name or name.startswith("."):
        raise ValueError(f"refusing the file name {name!r}")
    fd, tmp = tempfile.mkstemp(prefix=".certlint-", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
        target = os.path.join(folder, name)
        os.replace(tmp, target)
        return target
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_bundles(sites: list[Site], ctx: Context, folder: str) -> list[Written]:
    os.makedirs(folder, exist_ok=True)
    folder = os.path.realpath(folder)
    per_name: dict[str, int] = {}
    for site in sites:
        if site.endpoint is not None:
            per_name[site.endpoint.name] = per_name.get(site.endpoint.name, 0) + 1
    out = []
    for site in sites:
        if site.endpoint is None or site.endpoint.error is not None or not site.slots:
            continue
        certs, why = deployable(site, ctx)
        if certs is None:
            out.append(Written(site.label, problem=why))
            continue
        stem = _stem(site, per_name.get(site.endpoint.name, 0) > 1)
        pems = [c.public_bytes(Encoding.PEM) for c in certs]
        full = _write(folder, f"{stem}.fullchain.pem", b"".join(pems))
        inters = tuple(_write(folder, f"{stem}.intermediate-{n}.pem", pem)
                       for n, pem in enumerate(pems[1:], 1))
        out.append(Written(site.label, full, inters))
    return out
