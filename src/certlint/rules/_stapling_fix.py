"""Fix plans for the stapling rules: add a resolver, turn dead stapling off, write a trusted
chain for OCSP verification, add Apache's stapling cache. Plans only; the fix engine applies them.
"""

from __future__ import annotations

import ipaddress
import os
import re
from typing import TYPE_CHECKING

from cryptography import x509

from certlint.context import Context
from certlint.model import CertSlot, Directive, ServerConfig, Site
from certlint.pki.revocation import cert_pem, unique
from certlint.rules._stapling import (
    anchor_in_block,
    own_directive,
    shown,
    stapling_directive,
)

if TYPE_CHECKING:  # fix plans load only when a rule proposes one
    from certlint.fix.plan import FixPlan

RESOLV_CONF = "/etc/resolv.conf"
STAPLING_CACHE_SIZE = 128000


# -- nginx resolver ----------------------------------------------------------------------------


def system_nameservers(path: str | None = None) -> list[str]:
    """`nameserver` lines of resolv.conf, written as nginx's `resolver` wants them."""
    out = []
    try:
        with open(path or RESOLV_CONF, encoding="utf-8", errors="replace") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return []
    for line in lines:
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "nameserver" and "%" not in parts[1]:
            out.append(nginx_address(parts[1]))
    return out


def nginx_address(addr: str) -> str:
    """IPv6 literals go in brackets for nginx (`[::1]`); everything else is kept as given."""
    try:
        if isinstance(ipaddress.ip_address(addr), ipaddress.IPv6Address):
            return f"[{addr}]"
    except ValueError:
        pass
    return addr


def resolver_plan(site: Site, ctx: Context, rule: str) -> FixPlan | None:
    """`resolver ADDR valid=300s;` + `resolver_timeout 5s;` in the server block."""
    from certlint.fix.plan import FixPlan, InsertDirective

    if ctx.options.resolvers:
        addrs = [nginx_address(a) for a in ctx.options.resolvers]
        source = "from --resolver"
    else:
        addrs = system_nameservers()
        source = (f"the nameservers in {RESOLV_CONF} of the machine running certlint; "
                  "check that the nginx host can reach them, or pass --resolver ADDR")
    plan = FixPlan(rule=rule, site=site.label)
    if not addrs:
        plan.notes.append(f"no resolver address: {RESOLV_CONF} lists no nameserver; "
                          "pass --resolver ADDR")
        return plan
    at = anchor_in_block(site, ("ssl_stapling", "ssl_stapling_verify", "ssl_trusted_certificate",
                                "ssl_certificate_key", "ssl_certificate", "server_name",
                                "listen"))
    edits = [InsertDirective(at.path, at.line, f"resolver {' '.join(addrs)} valid=300s;")]
    if site.get("resolver_timeout") is None:
        edits.append(InsertDirective(at.path, at.line, "resolver_timeout 5s;"))
    plan.edits.extend(edits)
    plan.notes.append(f"resolver {' '.join(addrs)}: {source}")
    return plan


# -- stapling off ------------------------------------------------------------------------------


def stapling_off_plan(site: Site, rule: str, why: str) -> FixPlan:
    from certlint.fix.plan import FixPlan, InsertDirective, ReplaceArg

    plan = FixPlan(rule=rule, site=site.label)
    d = stapling_directive(site)
    name = "ssl_stapling" if site.server == "nginx" else "SSLUseStapling"
    end = ";" if site.server == "nginx" else ""
    if d is not None and own_directive(site, d):
        plan.edits.append(ReplaceArg(d.path, d.line, d.name, d.value, "off"))
    else:
        at = anchor_in_block(site, (("ssl_certificate_key", "ssl_certificate")
                                    if site.server == "nginx"
                                    else ("sslcertificatekeyfile", "sslcertificatefile")))
        plan.edits.append(InsertDirective(at.path, at.line, f"{name} off{end}"))
    plan.notes.append(f"{name} off for {site.label}: {why}")
    return plan


# -- trusted chain for OCSP (nginx ssl_trusted_certificate) -----------------------------------


def trusted_chain_plan(site: Site, ctx: Context, slot: CertSlot, rule: str,
                       chain: list[x509.Certificate]) -> FixPlan | None:
    """Write intermediates + root (plus what the old trusted file held) to a new file next to
    the certificate and point `ssl_trusted_certificate` at it."""
    from certlint.fix.plan import FixPlan, InsertDirective, NewFile, ReplaceArg

    if slot.cert.path is None or not chain:
        return None
    old = site.get("ssl_trusted_certificate")
    keep: list[x509.Certificate] = []
    if old is not None:
        loaded = ctx.cert_file(ctx.config.file_ref(old))
        if loaded is not None and loaded.ok:
            keep = list(loaded.certs)
    content = cert_pem(*unique(keep + chain))
    written = slot.cert.shown
    stem = os.path.splitext(os.path.basename(written))[0]
    new_name = f"{stem}.ocsp-chain.pem"
    new_value = written[: len(written) - len(os.path.basename(written))] + new_name
    new_path = os.path.join(os.path.dirname(slot.cert.path), new_name)
    plan = FixPlan(rule=rule, site=site.label, edits=[NewFile(new_path, content)])
    if old is not None and own_directive(site, old):
        plan.edits.append(ReplaceArg(old.path, old.line, old.name, old.value, new_value))
    else:
        at = anchor_in_block(site, ("ssl_stapling_verify", "ssl_stapling",
                                    "ssl_certificate_key", "ssl_certificate"))
        plan.edits.append(InsertDirective(at.path, at.line,
                                          f"ssl_trusted_certificate {new_value};"))
    plan.notes.append(f"{new_path}: the issuer chain up to the root ({len(chain)} "
                      "certificate(s)) for OCSP response verification; nginx never sends it "
                      "to clients")
    if keep:
        plan.notes.append(f"the certificates of {old.value} are kept in the new file "
                          "(it also serves client-certificate verification)")
    return plan


# -- Apache stapling cache ---------------------------------------------------------------------


def apache_cache_plan(config: ServerConfig, site: Site, rule: str) -> FixPlan:
    from certlint.fix.plan import FixPlan, InsertDirective

    plan = FixPlan(rule=rule, site=site.label)
    target, where = _cache_path(config)
    if target is None:
        plan.notes.append("no place for the stapling cache: no SSLSessionCache shmcb: path and "
                          "no logs/ or run/ directory under ServerRoot; add "
                          "SSLStaplingCache shmcb:/run/apache2/ssl_stapling(128000) by hand")
        return plan
    text = f"SSLStaplingCache shmcb:{target}({STAPLING_CACHE_SIZE})"
    anchor = _cache_anchor(config)
    if anchor is not None:
        plan.edits.append(InsertDirective(anchor.path, anchor.line, text))
    else:
        plan.edits.append(InsertDirective(site.origin.path, site.origin.line, text,
                                          before=True))
    plan.notes.append(f"{shown('sslstaplingcache')} at server level, {where}")
    loaded = " ".join(" ".join(d.args) for d in config.globals.get("loadmodule", []))
    if config.globals.get("loadmodule") and "socache_shmcb" not in loaded:
        plan.notes.append("mod_socache_shmcb does not seem to be loaded: enable it "
                          "(a2enmod socache_shmcb, or LoadModule socache_shmcb_module ...)")
    return plan


def _cache_anchor(config: ServerConfig) -> Directive | None:
    """The server-level SSLSessionCache line, or the next plain SSL directive after it in the
    same file (lines with ${VAR} braces are not edited around)."""
    session = config.global_get("sslsessioncache")
    if session is None or session.block != "main":
        return None
    candidates = [session] + sorted(
        (d for values in config.globals.values() for d in values
         if d.path == session.path and d.line > session.line and d.name.startswith("ssl")),
        key=lambda d: d.line)
    for d in candidates:
        if "{" not in _source_line(d) and "}" not in _source_line(d):
            return d
    return None


def _source_line(d: Directive) -> str:
    from certlint.safe_io import MAX_CONFIG_BYTES, read_bounded

    try:  # a config file already read by the parser; still only a bounded, regular file
        text = read_bounded(d.path, MAX_CONFIG_BYTES).decode("utf-8", "replace")
    except OSError:
        return ""
    lines = text.split("\n")
    return lines[d.line - 1] + "\n" if 1 <= d.line <= len(lines) else ""


def _cache_path(config: ServerConfig) -> tuple[str | None, str]:
    session = config.global_get("sslsessioncache")
    if session is not None and session.value.startswith("shmcb:"):
        # the path as written (Debian: shmcb:${APACHE_RUN_DIR}/ssl_scache(512000)), else as parsed
        m = re.search(r"shmcb:([^\s(\"']+)\(", _source_line(session))
        spec = m.group(1) if m else session.value[len("shmcb:"):].split("(", 1)[0]
        if spec:
            return (os.path.join(os.path.dirname(spec), "ssl_stapling"),
                    f"next to the session cache ({session.value})")
    for sub in ("logs", "run"):
        if os.path.isdir(os.path.join(config.prefix, sub)):
            return f"{sub}/ssl_stapling", f"in ServerRoot's {sub}/ directory"
    return None, ""


def directive_text(d: Directive) -> str:
    return f"{shown(d.name)} {' '.join(d.args)}".strip()
