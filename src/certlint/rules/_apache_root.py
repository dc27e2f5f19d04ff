"""chain-contains-root on Apache's own path: the root it sends after building the chain itself.

With only the leaf in SSLCertificateFile and no SSLCertificateChainFile, OpenSSL completes the
chain from SSLCACertificateFile / SSLCACertificatePath and sends all of it, the root included
(checked live with `openssl s_client -showcerts`: leaf, intermediate and root). The fix serves
the leaf and its intermediates from SSLCertificateFile: Apache then builds nothing by itself.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives import serialization

from certlint.context import Context
from certlint.model import CertSlot, Directive, Finding, Site
from certlint.pki.chain import ChainAnalysis, describe
from certlint.pki.verify import is_self_signed
from certlint.rules._util import shown_name

if TYPE_CHECKING:
    from certlint.fix.plan import FixPlan


def auto_chained_root(site: Site, slot: CertSlot, chain: ChainAnalysis, ctx: Context
                      ) -> Finding | None:
    extra = ctx.auto_chained(site, slot)
    if not extra or not is_self_signed(extra[-1]) or not ctx.trust.contains(extra[-1]):
        return None  # an untrusted root is chain-untrusted-root's finding
    root = extra[-1]
    source = _ca_directive(site, root, ctx)
    where = f"{shown_name(source)} {source.value} ({source.path}:{source.line})"
    sent = len(chain.served) + len(chain.auto_added) + len(extra)
    intermediates = list(chain.auto_added) + extra[:-1]
    plan = _plan(site, slot, [chain.leaf_cert] + intermediates, ctx)
    return ctx.finding(
        "chain-contains-root", slot.cert.directive,
        f"{slot.cert.shown} holds only the leaf, so Apache builds the chain itself from {where} "
        f"and sends {sent} certificates, the root {describe(root)} included: clients already "
        "have it, so it only adds bytes to every handshake, and some clients choke on it (SSL "
        "Labs: 'Contains anchor'). Serve the leaf and its intermediates from "
        "SSLCertificateFile (Apache then builds no chain itself), or drop the root from the CA "
        "file when it does not verify client certificates", site,
        fixable=plan is not None, fix=plan)


def _ca_directive(site: Site, root, ctx: Context) -> Directive:
    """The CA directive the root comes from: the file when it holds it, else the folder."""
    ca_file = site.get("sslcacertificatefile")
    if ca_file is not None:
        loaded = ctx.cert_file(ctx.config.file_ref(ca_file))
        if loaded is not None and loaded.ok and root in loaded.certs:
            return ca_file
    return site.get("sslcacertificatepath") or ca_file


def _plan(site: Site, slot: CertSlot, certs: list, ctx: Context) -> FixPlan | None:
    from certlint.fix.plan import FixPlan, NewFile, file_holds, file_mode

    """`NAME.fullchain.pem` beside the certificate (leaf, then intermediates) and
    SSLCertificateFile pointed at it; None where that is not a safe offline edit."""
    from certlint.context import _apache_reads_chain

    if slot.cert.path is None or not _apache_reads_chain(ctx.options.apache_version):
        return None
    try:
        from certlint.fix.chain import replace_file_name
    except ImportError:  # pragma: no cover - the fix engine is part of the package
        return None
    content = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)
    stem, folder = os.path.basename(slot.cert.path), os.path.dirname(slot.cert.path)
    for ext in (".pem", ".crt", ".cer", ".cert"):
        if stem.lower().endswith(ext):
            stem = stem[: -len(ext)]
            break
    for n in range(1, 100):
        name = f"{stem}.fullchain.pem" if n == 1 else f"{stem}.fullchain-{n}.pem"
        target = os.path.join(folder, name)
        if not os.path.lexists(target) or file_holds(target, content):
            break
    else:
        return None
    try:
        edit = replace_file_name(slot.cert.directive, name)
    except Exception:  # noqa: BLE001 - a variable or macro parameter: change it by hand
        return None
    plan = FixPlan(rule="chain-contains-root", site=site.label,
                   edits=[NewFile(target, content, file_mode(slot.cert.path)), edit])
    plan.notes.append(f"{slot.cert.shown}: serve " + ", ".join(describe(c) for c in certs)
                      + " from SSLCertificateFile; Apache then sends no root")
    return plan
