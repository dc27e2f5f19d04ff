"""The last check before a chain fix is accepted: what will the server load after it?

For every certificate slot a plan touches, it rebuilds from bytes what the server will read once
the plan is applied (the file the certificate directive will name, the chain file if one stays,
read the way nginx or Apache reads them), and refuses the plan unless
- the first certificate is the one that matches the site's private key (the server takes the
  first certificate as its own: nginx "key values mismatch", Apache AH02565), and
- the served certificates reach a trusted root, every one of them valid at `--now` (the root
  included: OpenSSL rejects an expired certificate anywhere on the path).

A refused plan writes nothing; its findings stay as remaining problems with the reason, so
`fix` exits 1. This guard does not trust the planner: it reads the planned bytes again.
"""

from __future__ import annotations

import os

from certlint.context import Context
from certlint.fix.plan import FixPlan, InsertDirective, NewFile, RemoveDirective, ReplaceArg
from certlint.model import CertSlot, Directive, Site
from certlint.parsers.apache_conditions import version_at_least
from certlint.pki.chain import analyse, describe, is_ca, valid_at
from certlint.pki.load import parse_cert_bytes
from certlint.pki.verify import cert_spki, fingerprint

REFUSED = "refused by the last check before writing"


def check_plan(ctx: Context, site: Site, plan: FixPlan) -> str | None:
    """None when every slot the plan touches will serve a good chain; else why not."""
    new_files = {e.path: e.content for e in plan.edits if isinstance(e, NewFile)}
    removed = {(e.path, e.line, e.directive) for e in plan.edits
               if isinstance(e, RemoveDirective)}
    inserted_chain = {(e.path, e.line): e.text.split(None, 1)[1].strip('"')
                      for e in plan.edits if isinstance(e, InsertDirective)
                      and e.text.lower().startswith("sslcertificatechainfile ")}
    for slot in site.slots:
        cert_d = slot.cert.directive
        at = (cert_d.path, cert_d.line)
        chain_d = slot.chain.directive if slot.chain is not None else None
        chain_at = (chain_d.path, chain_d.line) if chain_d is not None else None
        new_cert = _replacement(plan, cert_d)
        new_chain = _replacement(plan, chain_d) if chain_d is not None else None
        chain_removed = chain_d is not None and (*chain_at, chain_d.name) in removed
        if not (new_cert or new_chain or chain_removed or at in inserted_chain):
            continue
        cert_path = _path(ctx, cert_d, new_cert or cert_d.value)
        chain_path = None
        if at in inserted_chain:
            chain_path = _path(ctx, cert_d, inserted_chain[at], "sslcertificatechainfile")
        elif chain_d is not None and not chain_removed:
            chain_path = _path(ctx, chain_d, new_chain or chain_d.value)
        problem = _check_slot(ctx, site, slot, cert_path, chain_path, new_files)
        if problem is not None:
            return f"{REFUSED}: {problem}; nothing written"
    return None


def _replacement(plan: FixPlan, d: Directive) -> str | None:
    """The new argument a plan gives directive `d` (several directives may share a line)."""
    for e in plan.edits:
        if (isinstance(e, ReplaceArg) and (e.path, e.line, e.directive) == (d.path, d.line, d.name)
                and os.path.basename(e.old) == os.path.basename(d.value)):
            return e.new
    return None


def _path(ctx: Context, d: Directive, value: str, name: str | None = None) -> str | None:
    """Where the server will open `value` (as written, maybe with `${VAR}`) put in place of
    `d`'s argument: fixes change only the file name, so the folder is `d`'s own, expanded."""
    base = os.path.basename(d.value)
    expanded = d.value[: len(d.value) - len(base)] + os.path.basename(value)
    ref = ctx.config.file_ref(Directive(name or d.name, (expanded,), d.path, d.line, d.column,
                                        d.block))
    return ref.path


def _read(ctx: Context, path: str | None, new_files: dict[str, bytes]):
    if path is None:
        return None, "its file cannot be opened offline"
    data = new_files.get(path)
    if data is None:
        for planned, content in new_files.items():
            if os.path.abspath(planned) == os.path.abspath(path):
                data = content
                break
    if data is None:
        data, problem = ctx.store.raw(path)
        if data is None:
            return None, f"{path} {problem}"
    loaded = parse_cert_bytes(path, data)
    if not loaded.ok:
        return None, f"{path} {loaded.error}"
    return loaded.certs, None


def _check_slot(ctx: Context, site: Site, slot: CertSlot, cert_path: str | None,
                chain_path: str | None, new_files: dict[str, bytes]) -> str | None:
    certs, problem = _read(ctx, cert_path, new_files)
    if certs is None:
        return f"the planned certificate file cannot be read back: {problem}"
    shown = os.path.basename(cert_path or "")
    served = list(certs)
    if site.server == "apache":
        if chain_path is not None:
            chain, problem = _read(ctx, chain_path, new_files)
            if chain is None:
                return f"the planned chain file cannot be read back: {problem}"
            if os.path.abspath(chain_path) == os.path.abspath(cert_path or ""):
                chain = chain[1:]
            served = served[:1] + chain
        elif not version_at_least(ctx.options.apache_version, "2.4.8"):
            served = served[:1]
    key = ctx.slot_key(slot)
    spki = key.public if key is not None and key.ok else None
    first = served[0]
    if spki is not None and cert_spki(first) != spki:
        key_d = slot.key.directive if slot.key is not None else slot.cert.directive
        return (f"{shown} would start with {describe(first)}, not with the certificate that "
                f"matches the private key {key_d.value}: the server would refuse it")
    if spki is None and is_ca(first):
        return (f"{shown} would start with the CA certificate {describe(first)}, not with the "
                "site's own certificate")
    chain = analyse(served, spki, ctx.trust, ctx.now)
    if not chain.complete or not chain.leaf_first:
        return (f"{shown} would not verify up to a trusted root (it stops at "
                f"{describe(chain.path_certs()[-1])})")
    path = chain.path_certs() + ([chain.anchor] if chain.anchor is not None else [])
    on_path = {fingerprint(c) for c in path}
    for cert in path + [c for c in served if fingerprint(c) not in on_path]:
        if not valid_at(cert, ctx.now):
            when = (f"expired on {cert.not_valid_after_utc:%Y-%m-%d}"
                    if cert.not_valid_after_utc < ctx.now
                    else f"is valid only from {cert.not_valid_before_utc:%Y-%m-%d}")
            return (f"{shown} would serve {describe(cert)}, which {when} (at "
                    f"{ctx.now:%Y-%m-%d}): clients would reject the chain")
    return None
