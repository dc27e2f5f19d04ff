"""Syntax nginx refuses but crossplane lets through, for the directives certlint reads.

crossplane (with its checks off, as certlint runs it) accepts a directive closed by `}` instead
of `;` and any number of arguments; nginx refuses both and does not start. A missing `;` is
the commonest typo in a hand-edited site file, and it also shifts the next directive into the
previous one's arguments, so these become config errors with nginx's own words.
"""

from __future__ import annotations

from certlint.parsers import nginx_fast

# directives certlint reads whose argument count nginx fixes (ngx_conf_t flags TAKE1/FLAG)
TAKE1 = frozenset((
    "ssl_certificate", "ssl_certificate_key", "ssl_trusted_certificate",
    "ssl_client_certificate", "ssl_crl", "ssl_stapling", "ssl_stapling_verify",
    "ssl_stapling_file", "ssl_stapling_responder", "ssl_password_file", "resolver_timeout",
    "ssl_ocsp_responder", "ssl_verify_client", "ssl_verify_depth", "ssl_ocsp_cache",
))


def missing_semicolon(text: str) -> int | None:
    """The line of a `}` that closes a directive which lacks its `;` (nginx: unexpected "}"),
    or None. Files the fast tokenizer cannot read are left to crossplane's own errors."""
    try:
        toks = nginx_fast.tokens(text.replace("\r\n", "\n"))
    except Exception:  # noqa: BLE001 - unusual lexing: crossplane reports what it finds
        return None
    in_statement = False
    for token, line, quoted in toks:
        if quoted or token.startswith("#"):
            in_statement = in_statement or quoted
            continue
        if token in (";", "{"):
            in_statement = False
        elif token == "}":
            if in_statement:
                return line
        else:
            in_statement = True
    return None


def argument_errors(statements: list[dict]) -> list[tuple[str, int]]:
    """(nginx's message, line) for each TLS directive with the wrong number of arguments."""
    found: list[tuple[str, int]] = []
    stack = [statements]
    while stack:
        for stmt in stack.pop():
            name = stmt.get("directive", "")
            if name in TAKE1 and len(stmt.get("args", ())) != 1:
                found.append((f'invalid number of arguments in "{name}" directive (a missing '
                              '";" on this or the previous line?): nginx will not start',
                              stmt["line"]))
            if "block" in stmt:
                stack.append(stmt["block"])
    return found
