"""hostname-mismatch: a name the site answers to is not covered by the leaf's SAN, as OpenSSL
matches names (certlint.pki.names: RFC 6125 wildcards as OpenSSL honours them, A-labels, the CN
only without DNS SANs, and then said apart: OpenSSL clients accept it, browsers and Go do not).

nginx names: `.example.com` means example.com and *.example.com; `_`, regex (`~`) and names with
variables are skipped; `*.example.com` needs a wildcard SAN; `www.*` is skipped. Apache names:
ServerName (scheme and port stripped) and ServerAlias (wildcards as in nginx).
"""

from __future__ import annotations

import os

from certlint.context import Context
from certlint.model import Site
from certlint.pki.chain import describe
from certlint.pki.names import a_label, name_index
from certlint.rules._facts import slot_facts, where
from certlint.rules._util import analysed_slots, borrowed_from
from certlint.rules.base import CHAIN_SOURCES, rule


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
        name = a_label(name)  # clients send SNI in A-label form
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


@rule("hostname-mismatch", sources=CHAIN_SOURCES)
def check(site: Site, ctx: Context):
    names = names_to_check(site)
    if not names:
        return
    lender = borrowed_from(site)
    for slot, chain in analysed_slots(lender or site, ctx):
        # the leaf is judged wherever it sits in the file: once the order is fixed, its
        # name problem is what remains (the differential test found fix saying "0 remain")
        leaf = chain.leaf_cert
        index = name_index(leaf)
        missing = [n for n in names if not index.covers(n, partial=False)]
        partial_only = [n for n in missing if index.covers(n)] if index.partial else []
        if partial_only:
            only = set(partial_only)
            missing = [n for n in missing if n not in only]
        at = (_alias_directive(site, missing or names) or site.names_directive
              or (site.origin if lender else slot.cert.directive))
        borrowed = ""
        if lender is not None:
            d = slot.cert.directive
            borrowed = ("this server block has no ssl_certificate of its own, so nginx answers "
                        "it with the default server's certificate "
                        f"({os.path.basename(d.path)}:{d.line}): ")
        if index.from_cn:
            uncovered = set(missing)
            by_cn = [n for n in names if n not in uncovered]
            if by_cn:
                yield ctx.finding(
                    "hostname-mismatch", at,
                    f"{borrowed}{_listed(by_cn)} only in the Common Name of {describe(leaf)} "
                    f"from {slot.cert.shown}: the certificate has no DNS Subject Alternative "
                    "Name. OpenSSL-based clients (curl, Python, openssl s_client) still accept "
                    "it; Chrome, Firefox, Safari and Go reject it (Chrome: "
                    "NET::ERR_CERT_COMMON_NAME_INVALID; Go: 'x509: certificate relies on "
                    "legacy Common Name field, use SANs instead'). Reissue with the names in "
                    "the SAN", site, facts={**slot_facts(site, slot, ctx, chain),
                                            "by_cn": by_cn, "names_at": where(at, ctx)})
        if partial_only:
            at_partial = _alias_directive(site, partial_only) or at
            patterns = sorted(f"{pre}*{post}.{parent}" for parent, pats in index.partial.items()
                              for pre, post in pats)
            yield ctx.finding(
                "hostname-mismatch", at_partial,
                f"{borrowed}{_listed(partial_only)} covered only by the partial-label wildcard "
                f"{_listed(patterns)} of {describe(leaf)} from {slot.cert.shown}: openssl "
                "s_client accepts it (OpenSSL's default), but Python's ssl, curl and browsers "
                "refuse partial wildcards ('Hostname mismatch'; Chrome: "
                "NET::ERR_CERT_COMMON_NAME_INVALID). Reissue with the full names or a "
                "'*.' wildcard", site)
        if not missing:
            continue
        names_shown = _listed(index.dns + sorted(index.ips))
        if index.from_cn:
            shown = f"none in the SAN; Common Name {names_shown}"
        else:
            shown = names_shown or "none: the certificate has no Subject Alternative Name"
        ignored = ""
        if index.ignored_wildcards:
            ignored = (f"; {_listed(index.ignored_wildcards)} is no wildcard to OpenSSL and "
                       "curl (RFC 6125 as OpenSSL applies it: one '*' at the start or end of "
                       "the first label, no IDNA label, and at least two labels after it), "
                       "so it only matches itself")
        yield ctx.finding(
            "hostname-mismatch", at,
            f"{borrowed}{_listed(missing)} not covered by {describe(leaf)} from "
            f"{slot.cert.shown} "
            f"(its names: {shown}){ignored}; clients connecting to {missing[0]} fail with "
            "'Hostname mismatch' / 'certificate is not valid for' "
            "(openssl: verify error 62; browsers: NET::ERR_CERT_COMMON_NAME_INVALID)", site,
            facts={**slot_facts(site, slot, ctx, chain), "missing_names": missing,
                   "cert_names": index.dns + sorted(index.ips), "names_at": where(at, ctx)})


def _listed(names: list[str], limit: int = 20) -> str:
    """Names for a message: a server_name of thousands stays one readable line."""
    if len(names) <= limit:
        return ", ".join(names)
    return ", ".join(names[:limit]) + f" and {len(names) - limit} more"
