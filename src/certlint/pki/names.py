"""Host name matching as OpenSSL's `X509_check_host` does it (crypto/x509/v3_utl.c), which is
what curl, Python, `openssl s_client -verify_hostname` and nginx/Apache's own clients apply.

- A DNS SAN with a wildcard counts only when OpenSSL's `valid_star` accepts it: one `*`, in the
  first label, at the start or the end of that label (`*.example.com`, `w*.example.com`,
  `*w.example.com`; not `w*w.example.com`), not in an IDNA (`xn--`) label, and at least two dots
  in the pattern: `*.test` is no wildcard at all (compared literally, so `a.test` fails with
  verify error 62). Every other pattern is compared literally, case-insensitively.
- The star matches one or more letters, digits or hyphens of a single label (a full-label star
  at least one character); a host whose first label is IDNA (`xn--...`) never matches a partial
  wildcard. Partial-label wildcards are OpenSSL's default only: Python's ssl sets
  X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, and curl and browsers refuse them too.
- The subject's Common Names are checked only when the certificate has no DNS SAN at all (SAN
  absent, or IP/email entries only): OpenSSL-based clients accept such a certificate, browsers
  and Go do not.
- IP addresses match IP SANs only (never the CN).
- Names are compared in A-label form: a `server_name` written in Unicode is what clients send
  as `xn--...` in SNI.

`NameIndex` holds one certificate's names in sets keyed by the part after the first label, so
matching 100,000 server names against 10,000 SANs is a set lookup per name, not every pair.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from cryptography import x509

from certlint.pki.verify import extension, per_certificate

LABEL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")


def a_label(name: str) -> str:
    """A host name in A-label (punycode) form, lower case; unchanged when it is ASCII or
    cannot be encoded."""
    name = name.lower()
    if name.isascii():
        return name
    try:
        import idna

        return idna.encode(name, uts46=True).decode("ascii")
    except Exception:  # noqa: BLE001 - idna missing or refusing: Python's IDNA 2003 codec
        try:
            return name.encode("idna").decode("ascii")
        except UnicodeError:
            return name


def valid_star(pattern: str) -> tuple[str, str, str] | None:
    """OpenSSL's `valid_star`: (prefix, suffix of the first label, rest after it) when the
    pattern is a wildcard OpenSSL honours, else None (then it is compared literally)."""
    if "*" not in pattern:
        return None  # the common case, decided without the walk below
    star = -1
    dots = 0
    at_start = True  # at the start of a label
    idna = False
    hyphen = False
    for i, ch in enumerate(pattern):
        if ch == "*":
            starts = at_start
            ends = i == len(pattern) - 1 or pattern[i + 1] == "."
            if star >= 0 or idna or dots or not (starts or ends):
                return None
            star = i
            at_start = False
        elif ch.isascii() and ch.isalnum():
            if at_start and pattern[i:i + 4].lower() == "xn--":
                idna = True
            at_start = hyphen = False
        elif ch == ".":
            if at_start or hyphen:
                return None
            at_start, dots = True, dots + 1
            idna = False  # OpenSSL keeps the flag; it only matters before the first dot
        elif ch == "-":
            if at_start:
                return None
            hyphen = True
        else:
            return None
    if star < 0 or at_start or hyphen or dots < 2:
        return None
    first_end = pattern.index(".")
    return pattern[:star], pattern[star + 1:first_end], pattern[first_end + 1:]


@dataclass
class NameIndex:
    """One certificate's host names, indexed for OpenSSL's matching."""

    literal: set[str] = field(default_factory=set)
    full_wildcard: set[str] = field(default_factory=set)  # parents of honoured `*.parent`
    partial: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # parent -> (pre, post)
    ips: set[str] = field(default_factory=set)
    dns: list[str] = field(default_factory=list)  # as listed, for messages
    ignored_wildcards: list[str] = field(default_factory=list)  # `*.test`: OpenSSL ignores them
    from_cn: bool = False  # no DNS SAN: the Common Names stand in (OpenSSL only)

    def add(self, pattern: str) -> None:
        pattern = pattern.lower()  # a trailing dot is kept: OpenSSL matches nothing to it
        self.dns.append(pattern)
        star = valid_star(pattern)
        if star is None:
            self.literal.add(pattern)
            if "*" in pattern:
                self.ignored_wildcards.append(pattern)
        elif star[0] == "" and star[1] == "":
            self.full_wildcard.add(star[2])
        else:
            self.partial.setdefault(star[2], []).append((star[0], star[1]))

    def covers(self, host: str, partial: bool = True) -> bool:
        """Would OpenSSL accept this certificate for `host` (already lower-case A-label)?
        `partial=False` as clients that refuse partial-label wildcards (`s*.example.com`):
        Python's ssl (X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS), curl and browsers."""
        ip = _ip(host)
        if ip is not None:
            return ip in self.ips
        label, dot, parent = host.partition(".")
        if label == "*" and dot:
            # a wildcard server_name: every name under parent must be covered
            return parent in self.full_wildcard
        if host in self.literal:
            return True
        if not dot or not label:
            return False
        if parent in self.full_wildcard and set(label) <= LABEL_CHARS:
            return True
        for pre, post in self.partial.get(parent, ()) if partial else ():
            if (len(label) >= len(pre) + len(post) and label.startswith(pre)
                    and label.endswith(post) and not label.startswith("xn--")
                    and set(label[len(pre):len(label) - len(post)]) <= LABEL_CHARS):
                return True
        return False


def _ip(host: str) -> str | None:
    if ":" not in host and not host.replace(".", "").isdigit():
        return None
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return None


@per_certificate
def name_index(cert: x509.Certificate) -> NameIndex:
    """The certificate's names as OpenSSL matches them (cached per certificate)."""
    index = NameIndex()
    san = extension(cert, x509.SubjectAlternativeName)
    if san is not None:
        for name in san.get_values_for_type(x509.DNSName):
            index.add(name)
        index.ips = {str(ip) for ip in san.get_values_for_type(x509.IPAddress)}
    if not index.dns:
        cns = [a.value for a in cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
               if isinstance(a.value, str)]
        for cn in cns:
            index.add(cn)
        index.from_cn = bool(cns)
    return index
