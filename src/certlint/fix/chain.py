"""The chain planner: a verified full chain for each slot whose served chain is wrong.

For chain-incomplete, apache-chain-file-missing, chain-wrong-order, chain-contains-root and
chain-unrelated-cert it builds what the server should send: the leaf first, then the
intermediates in issuing order (completed through AIA where the file lacks them), without the
trust anchor and without strays. Intermediates come from the served file, chain and bundle files
beside it, `--intermediates` folders, then AIA (see `certlint.pki.aia`). The result is checked
again from its own bytes before a plan is made. The plan writes it to a new file next to the
original (`NAME.fullchain.pem`; an existing file with the same content is reused, and certbot's
`cert.pem` becomes its `fullchain.pem`) and points the config at it, keeping the path as written
(`${PKI}/leaf.pem` -> `${PKI}/leaf.fullchain.pem`):

- nginx: `ssl_certificate`.
- Apache >= 2.4.8: `SSLCertificateFile` (and the now-redundant `SSLCertificateChainFile` of the
  block is commented out, giving every other certificate of the vhost its own full chain too;
  when the certificate file also held the key, an `SSLCertificateKeyFile` line keeps the key
  where it was).
- Apache < 2.4.8: the intermediates go to `NAME.chain.pem`, named by `SSLCertificateChainFile`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from certlint.context import Context
from certlint.fix.apply import raw_arguments
from certlint.fix.plan import (
    FixPlan,
    InsertDirective,
    NewFile,
    RemoveDirective,
    ReplaceArg,
    file_holds,
    file_mode,
)
from certlint.model import CertSlot, Finding, Site
from certlint.parsers.common import map_root
from certlint.pki.aia import AiaFetcher
from certlint.pki.chain import ChainAnalysis, analyse, describe, valid_at
from certlint.pki.load import parse_cert_bytes
from certlint.pki.siblings import certs_beside
from certlint.rules._util import chain_directive, shown_name

_SHA256 = hashes.SHA256()
CHAIN_RULES = ("chain-incomplete", "apache-chain-file-missing", "chain-wrong-order",
               "chain-contains-root", "chain-unrelated-cert")
# out-of-date certificates Apache adds from its CA store: fixed by serving a current chain
ADDED_VALIDITY_RULES = ("cert-expired", "cert-not-yet-valid")


@dataclass
class SlotPlan:
    """The outcome for one certificate slot: a plan, or the reason there is none."""

    site: Site
    slot: CertSlot
    findings: list[Finding]
    plan: FixPlan | None = None
    problem: str | None = None


def pem(*certs: x509.Certificate) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def has_problem(chain: ChainAnalysis | None, rule: str, now=None) -> bool:
    """Does this slot's own chain show what the rule reports? (Two slots may share a line.)"""
    if chain is None:
        return False
    if rule in ADDED_VALIDITY_RULES:
        return now is not None and any(not valid_at(c, now) for c in chain.auto_added)
    if rule in ("chain-incomplete", "apache-chain-file-missing"):
        return not chain.complete and chain.missing_issuer is not None
    if rule == "chain-wrong-order":
        return not chain.leaf_first or chain.misordered
    if rule == "chain-contains-root":
        return chain.served_root is not None and chain.root_trusted
    if rule == "chain-unrelated-cert":
        return bool(chain.unrelated or chain.duplicates)
    return False


def index_findings(findings: list[Finding]) -> dict[tuple[str, int], list[Finding]]:
    """Chain findings by the (path, line) they point at."""
    out: dict[tuple[str, int], list[Finding]] = {}
    for f in findings:
        if f.rule in CHAIN_RULES or (f.rule in ADDED_VALIDITY_RULES and f.fixable):
            out.setdefault((f.path, f.line), []).append(f)
    return out


def slot_findings(site: Site, slot: CertSlot, index: dict[tuple[str, int], list[Finding]],
                  chain: ChainAnalysis | None, now=None) -> list[Finding]:
    """The chain findings that point at this slot's directives (or at the CA directives Apache
    completes its chain from) and match its own chain."""
    at = {(d.path, d.line) for d in (slot.cert.directive, chain_directive(site, slot))}
    if site.server == "apache":
        at |= {(d.path, d.line) for name in ("sslcacertificatefile", "sslcacertificatepath")
               for d in site.get_all(name)}
    return [f for place in at for f in index.get(place, ())
            if f.site == site.label and has_problem(chain, f.rule, now)]


def version_tuple(version: str) -> tuple[int, ...]:
    parts = []
    for piece in version.split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


class ChainPlanner:
    """Plans chain fixes for one run; the AIA fetcher is shared by all sites."""

    def __init__(self, ctx: Context, fetcher: AiaFetcher):
        self.ctx = ctx
        self.fetcher = fetcher
        self._nearby: dict[str, list[tuple[x509.Certificate, str]]] = {}  # path -> siblings
        self._planned: dict[str, bytes] = {}  # new files planned this run -> content
        self.origins: dict[bytes, str] = {}  # intermediate fingerprint -> where it came from

    def plan(self, site: Site, slot: CertSlot, findings: list[Finding]) -> SlotPlan:
        result = SlotPlan(site, slot, findings)
        chain = self.ctx.chain(site, slot)
        if chain is None or slot.cert.path is None:
            result.problem = "the certificate file cannot be loaded"
            return result
        try:
            certs = self.corrected(chain, self._siblings(slot.cert.path))
        except _Unfixable as exc:
            result.problem = str(exc)
            return result
        try:
            result.plan = self._edits(site, slot, chain, certs, findings)
        except _Unfixable as exc:
            result.problem = str(exc)
        return result

    def corrected(self, chain: ChainAnalysis,
                  nearby: list[tuple[x509.Certificate, str]] | None = None
                  ) -> list[x509.Certificate]:
        """Leaf, then intermediates in issuing order, verified up to a trust anchor."""
        leaf = chain.leaf_cert
        have = list(chain.served) + list(chain.auto_added) + [c for c, _f in nearby or []]
        labels = {c.fingerprint(_SHA256): f"the neighbouring file {os.path.basename(where)}"
                  for c, where in reversed(nearby or [])}
        labels.update({c.fingerprint(_SHA256): "the served chain"
                       for c in list(chain.served) + list(chain.auto_added)})
        completion = self.fetcher.complete(leaf, have, labels)
        self.origins.update({c.fingerprint(_SHA256): why for c, why
                             in zip(completion.intermediates, completion.origins, strict=True)})
        if not completion.ok:
            raise _Unfixable(completion.problem or "no trusted root reached")
        certs = [leaf] + completion.intermediates
        # check the new bytes as the server will read them, from scratch
        loaded = parse_cert_bytes("(new chain)", pem(*certs))
        again = analyse(loaded.certs, None, self.ctx.trust, self.ctx.now)
        if not (loaded.ok and again.complete and again.leaf_first and not again.misordered
                and not again.unrelated and not again.duplicates
                and (again.served_root is None)):
            raise _Unfixable("the rebuilt chain did not verify; nothing changed")
        return certs

    # -- config edits ------------------------------------------------------------------------

    def _edits(self, site: Site, slot: CertSlot, chain: ChainAnalysis,
               certs: list[x509.Certificate], findings: list[Finding]) -> FixPlan:
        rules = sorted({f.rule for f in findings})
        plan = FixPlan(rule=",".join(rules), site=site.label)
        names = ", ".join(describe(c) for c in certs)
        fetched = self.fetcher_note(certs, chain)
        if site.server == "apache" and version_tuple(self.ctx.options.apache_version) < (2, 4, 8):
            self._apache_old(site, slot, chain, certs, plan)
        else:
            self._full_chain_file(site, slot, certs, plan)
        plan.notes.append(f"{slot.cert.shown}: serve {names}" + fetched)
        return plan

    def fetcher_note(self, certs, chain: ChainAnalysis) -> str:
        had = {c.fingerprint(_SHA256) for c in list(chain.served) + list(chain.auto_added)}
        new = [c for c in certs[1:] if c.fingerprint(_SHA256) not in had]
        if not new:
            return ""
        added = ", ".join(f"{describe(c)} from {self.origins.get(c.fingerprint(_SHA256), 'AIA')}"
                          for c in new)
        return f" (added {added}; verified by signature)"

    def _new_file(self, slot: CertSlot, suffix: str, content: bytes, plan: FixPlan) -> str:
        """Plan `NAME.<suffix>.pem` next to the certificate file; returns its file name."""
        path = slot.cert.path
        stem = os.path.basename(path)
        for ext in (".pem", ".crt", ".cer", ".cert"):
            if stem.lower().endswith(ext):
                stem = stem[: -len(ext)]
                break
        folder = os.path.dirname(self._named_path(slot))
        for n in range(1, 100):
            name = f"{stem}.{suffix}.pem" if n == 1 else f"{stem}.{suffix}-{n}.pem"
            target = os.path.join(folder, name)
            planned = self._planned.get(target)
            if planned is not None and planned != content:
                continue  # another certificate of this run wants this name
            if planned is not None or not os.path.lexists(target) or file_holds(target, content):
                break
        else:
            raise _Unfixable(f"no free file name next to {path}")
        mode = file_mode(path)
        plan.edits.append(NewFile(target, content, mode))
        self._planned[target] = content
        return name

    def _named_path(self, slot: CertSlot) -> str:
        """Where the certificate directive points before symbolic links are followed (with
        --root the parsers follow absolute links into the checkout): the folder the edited
        directive will look in for the new file."""
        value = slot.cert.directive.value
        config = getattr(self.ctx, "config", None)
        if os.path.isabs(value):
            named = map_root(value, self.ctx.options.root)
        elif config is not None and config.prefix:
            named = os.path.normpath(os.path.join(config.prefix, value))
        else:
            return slot.cert.path
        return named if os.path.basename(named) == os.path.basename(value) else slot.cert.path

    def _siblings(self, path: str) -> list[tuple[x509.Certificate, str]]:
        """Certificates of the chain-like files beside `path` (certbot's chain.pem, a CA's
        `NAME.ca-bundle`, `intermediate.crt`: `certlint.pki.siblings`), each with its file: a
        local source, verified like any other."""
        if path not in self._nearby:
            self._nearby[path] = list(certs_beside(path, self.ctx.store))
        return self._nearby[path]

    def _existing_full_chain(self, slot: CertSlot, certs, name: str = "fullchain.pem"
                             ) -> str | None:
        """certbot's layout: `cert.pem` is named while `fullchain.pem` (or `chain.pem`) beside
        it holds exactly these certificates (and renews with it). Its file name, or None."""
        path = self._named_path(slot)
        if os.path.basename(path) != "cert.pem":
            return None
        full = os.path.join(os.path.dirname(path), name)
        if not os.path.isfile(full):
            return None
        loaded = self.ctx.store.cert_file(full)
        if loaded.ok and not loaded.has_private_key and loaded.certs == certs:
            return name
        return None

    def _full_chain_file(self, site, slot, certs, plan: FixPlan) -> None:
        d = slot.cert.directive
        name = self._existing_full_chain(slot, certs)
        if name is None:
            name = self._new_file(slot, "fullchain", pem(*certs), plan)
        else:
            plan.notes.append(f"{name} beside it already holds this chain: the config now "
                              "names it")
        edit = replace_file_name(d, name)
        plan.edits.append(edit)
        if site.server != "apache":
            return
        if slot.key is None and self.ctx.store.cert_file(slot.cert.path).has_private_key:
            plan.edits.append(InsertDirective(d.path, d.line,
                                              f"SSLCertificateKeyFile {_quote_apache(edit.old)}"))
        if slot.chain is not None:
            cd = slot.chain.directive
            if "sslcertificatechainfile" not in site.own:
                raise _Unfixable(
                    f"SSLCertificateChainFile is set at {cd.path}:{cd.line}, outside this "
                    "VirtualHost, and would still override the new chain; fix it by hand")
            plan.edits.append(RemoveDirective(
                cd.path, cd.line, cd.name,
                "the intermediates are now in SSLCertificateFile (Apache >= 2.4.8)"))
            # the chain file served every certificate of the vhost: the others need their
            # own full chain once it is gone
            for other in site.slots:
                if other is not slot and other.cert.path is not None:
                    self._full_chain_for_other(site, other, plan)

    def _full_chain_for_other(self, site: Site, other: CertSlot, plan: FixPlan) -> None:
        chain = self.ctx.chain(site, other)
        if chain is None:
            raise _Unfixable(f"{other.cert.shown} cannot be loaded, and it relies on the "
                             "SSLCertificateChainFile this fix removes")
        certs = self.corrected(chain, self._siblings(other.cert.path))
        d = other.cert.directive
        name = self._existing_full_chain(other, certs) or self._new_file(
            other, "fullchain", pem(*certs), plan)
        plan.edits.append(replace_file_name(d, name))
        if other.key is None and self.ctx.store.cert_file(other.cert.path).has_private_key:
            plan.edits.append(InsertDirective(d.path, d.line, "SSLCertificateKeyFile "
                                              f"{_quote_apache(raw_value(d))}"))

    def _apache_old(self, site, slot, chain: ChainAnalysis, certs, plan: FixPlan) -> None:
        """Apache < 2.4.8 reads only the first certificate of SSLCertificateFile."""
        d = slot.cert.directive
        if not chain.leaf_first:
            name = self._new_file(slot, "leaf", pem(certs[0]), plan)
            plan.edits.append(replace_file_name(d, name))
        name = (self._existing_full_chain(slot, certs[1:], "chain.pem")
                or self._new_file(slot, "chain", pem(*certs[1:]), plan))
        value = replace_file_name(d, name).new  # beside the certificate, written alike
        if slot.chain is not None:
            cd = slot.chain.directive
            if "sslcertificatechainfile" not in site.own:
                raise _Unfixable(f"SSLCertificateChainFile is set at {cd.path}:{cd.line}, "
                                 "outside this VirtualHost; fix it by hand")
            raw = raw_value(cd)
            plan.edits.append(ReplaceArg(cd.path, cd.line, cd.name, raw, value))
        else:
            plan.edits.append(InsertDirective(d.path, d.line,
                                              f"SSLCertificateChainFile {_quote_apache(value)}"))


def raw_value(d) -> str:
    """The first argument of a directive as written in its file (variables unexpanded)."""
    firsts = [args[0] for args in raw_arguments(d.path, d.line, d.name) if args]
    if d.value in firsts or not firsts:
        return d.value
    return firsts[0] if len(firsts) == 1 else d.value


def replace_file_name(d, new_name: str) -> ReplaceArg:
    """Point a file directive at `new_name` in the same folder, keeping the folder part as
    written (`${PKI}/leaf.pem` -> `${PKI}/leaf.fullchain.pem`)."""
    raw = raw_value(d)
    base = os.path.basename(d.value)
    if os.path.basename(raw) != base:
        raise _Unfixable(f"the file name in '{shown_name(d)} {raw}' ({d.path}:{d.line}) comes "
                         "from a variable or macro parameter shared with other sites; change it "
                         "by hand")
    return ReplaceArg(d.path, d.line, d.name, raw, raw[: len(raw) - len(base)] + new_name)


class _Unfixable(Exception):
    pass


def _quote_apache(value: str) -> str:
    return f'"{value}"' if any(c.isspace() for c in value) else value
