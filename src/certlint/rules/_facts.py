"""Structured facts findings carry beside their English message (`Finding.facts`), for
documents rendered in any language (certlint.report.remediation): the site's host names and port,
files and lines as the server sees them (under `--root DIR`, `/etc/nginx/...`, never
`DIR/etc/...`), certificate subjects, dates, AIA URLs and fingerprints.

Every value is plain data (str, int, list, dict); dates are ISO 8601 UTC strings.
"""

from __future__ import annotations

import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from certlint.context import Context
from certlint.model import CertSlot, Directive, Site
from certlint.pki.revocation import ca_issuer_urls, ocsp_urls


def server_path(path: str | None, root: str | None) -> str | None:
    """A path on this machine as the server sees it: a file under `--root DIR` loses DIR."""
    if not path or not root:
        return path
    base = os.path.abspath(root)
    full = os.path.abspath(path)
    if full == base or full.startswith(base.rstrip(os.sep) + os.sep):
        return "/" + os.path.relpath(full, base).replace(os.sep, "/")
    return path


def directive_file(d: Directive, ctx: Context) -> str | None:
    """The file a directive names, as the server resolves it, on the server's side."""
    value = d.value
    if not value or value.startswith(("data:", "engine:")) or "$" in value:
        return None
    if os.path.isabs(value):
        return value
    prefix = ctx.config.prefix if ctx.config is not None else ""
    if not prefix:
        return value
    return server_path(os.path.normpath(os.path.join(prefix, value)), ctx.options.root)


def where(d: Directive, ctx: Context) -> dict:
    """The directive: its name as written, its value, its config file and line (server side)."""
    from certlint.rules._util import shown_name

    return {"directive": shown_name(d), "value": d.value,
            "config_file": server_path(d.path, ctx.options.root), "config_line": d.line}


def site_facts(site: Site) -> dict:
    """The host names clients use (plain names only: no regex, wildcard or catch-all) and the
    TLS port."""
    hosts = []
    for raw in site.names:
        name = raw.strip().lower()
        if "://" in name:
            name = name.split("://", 1)[1]
        name = name.split(":", 1)[0] if name.count(":") == 1 else name
        name = name.lstrip(".").rstrip(".")
        if (not name or name in ("_", "localhost", "default") or name.startswith("~")
                or any(c in name for c in "*?$") or name in hosts):
            continue
        hosts.append(name)
    endpoint = getattr(site, "endpoint", None)
    if endpoint is not None:  # a probed site: the host and port as probed
        return {"hosts": [endpoint.name], "port": endpoint.port, "server": "probe"}
    label = site.label
    port = label.rsplit(":", 1)[1] if ":" in label else ""
    return {"hosts": hosts, "port": int(port) if port.isdigit() else 443, "server": site.server}


def cert_facts(cert: x509.Certificate) -> dict:
    """Subject, issuer, validity, SHA-256 fingerprint and AIA URLs of one certificate."""
    return {
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "not_before": cert.not_valid_before_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "not_after": cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "sha256": cert.fingerprint(hashes.SHA256()).hex(":").upper(),
        "ca_issuers": ca_issuer_urls(cert),
        "ocsp": ocsp_urls(cert),
    }


def slot_facts(site: Site, slot: CertSlot, ctx: Context, chain=None) -> dict:
    """Facts about one certificate slot: the site, the certificate, key and chain files as the
    server names them, the served certificates in order, and the leaf."""
    out = site_facts(site)
    if getattr(slot, "served", None) is not None:  # probed: no file behind the chain
        if chain is not None:
            out["served"] = [c.subject.rfc4514_string() for c in chain.served]
            out["leaf"] = cert_facts(chain.leaf_cert)
        return out
    d = slot.cert.directive
    out["cert"] = {**where(d, ctx), "file": directive_file(d, ctx)}
    if slot.key is not None:
        out["key"] = {**where(slot.key.directive, ctx),
                      "file": directive_file(slot.key.directive, ctx)}
    if slot.chain is not None:
        out["chain"] = {**where(slot.chain.directive, ctx),
                        "file": directive_file(slot.chain.directive, ctx)}
    if chain is not None:
        out["served"] = [c.subject.rfc4514_string() for c in chain.served]
        out["leaf"] = cert_facts(chain.leaf_cert)
    return out
