"""hostname-mismatch: a name the site answers to is not covered by the leaf's SAN.

nginx names: `.example.com` means example.com and *.example.com; `_`, regex (`~`) and names with
variables are skipped; `*.example.com` needs a wildcard SAN; `www.*` is skipped. Apache names:
ServerName (scheme and port stripped) and ServerAlias (wildcards as in nginx).
"""

from __future__ import annotations

import ipaddress
import os

from cryptography import x509

from certlint.context import Context
from certlint.model import Site
from certlint.pki.chain import describe
from certlint.rules._util import analysed_slots, borrowed_from
from certlint.rules.base import rule


def names_to_check(site: Site) -> list[str]:
    out = []
    for raw in site.names:
        name = raw.strip().lower()
        if "://" in name:
            name = name.split("://", 1)[1]
        if name.startswith("[") and "]" in name:
            name = name[1:name.index("]")]
        elif name.count(":") == 1:
            name = name.split(":", 1)[0]
        name = name.rstrip(".")
        if (not name or name == "_" or name.startswith("~") or "$" in name
                or name.endswith(".*") or name in ("localhost", "default", "*")):
            continue
        if "?" in name or "*" in name.removeprefix("*."):
            continue  # an Apache ServerAlias glob (www?.example.com, *example.com): no one name
        if name.startswith("."):
            out.extend([name[1:], "*" + name])
        else:
            out.append(name)
    return out


def _alias_directive(site: Site, missing: list[str]):
    """Apache: the ServerAlias line naming the first uncovered name (when it is not the
    ServerName), so the finding points at the line to change."""
    if site.server != "apache":
        return None
    names = site.names_directive.args if site.names_directive is not None else ()
    if any(missing[0] == n.lower().rstrip(".") for n in names):
        return None
    for alias in site.get_all("serveralias"):
        if any(missing[0] == a.lower().rstrip(".") for a in alias.args):
            return alias
    return None


def san_names(cert: x509.Certificate) -> tuple[list[str], list[str]]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return [], []
    dns = [n.lower().rstrip(".") for n in san.get_values_for_type(x509.DNSName)]
    ips = [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
    return dns, ips


def covered(name: str, dns: list[str], ips: list[str]) -> bool:
    if ":" in name or name.replace(".", "").isdigit():
        try:
            return str(ipaddress.ip_address(name)) in ips
        except ValueError:
            pass
    if name in dns:
        return True
    if name.startswith("*."):
        return False  # a wildcard server name needs the identical wildcard SAN
    host, _, parent = name.partition(".")
    return bool(parent) and f"*.{parent}" in dns


@rule("hostname-mismatch")
def check(site: Site, ctx: Context):
    names = names_to_check(site)
    if not names:
        return
    lender = borrowed_from(site)
    for slot, chain in analysed_slots(lender or site, ctx):
        if not chain.leaf_first:
            continue
        leaf = chain.leaf_cert
        dns, ips = san_names(leaf)
        missing = [n for n in names if not covered(n, dns, ips)]
        if not missing:
            continue
        at = (_alias_directive(site, missing) or site.names_directive
              or (site.origin if lender else slot.cert.directive))
        shown = _listed(dns + ips) or "none: the certificate has no Subject Alternative Name"
        borrowed = ""
        if lender is not None:
            d = slot.cert.directive
            borrowed = ("this server block has no ssl_certificate of its own, so nginx answers "
                        "it with the default server's certificate "
                        f"({os.path.basename(d.path)}:{d.line}): ")
        yield ctx.finding(
            "hostname-mismatch", at,
            f"{borrowed}{_listed(missing)} not covered by {describe(leaf)} from "
            f"{slot.cert.shown} "
            f"(its names: {shown}); clients connecting to {missing[0]} fail with "
            "'Hostname mismatch' / 'certificate is not valid for' "
            "(browsers: NET::ERR_CERT_COMMON_NAME_INVALID)", site)


def _listed(names: list[str], limit: int = 20) -> str:
    """Names for a message: a server_name of thousands stays one readable line."""
    if len(names) <= limit:
        return ", ".join(names)
    return ", ".join(names[:limit]) + f" and {len(names) - limit} more"
