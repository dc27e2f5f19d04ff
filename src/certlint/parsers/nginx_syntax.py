"""Syntax nginx refuses but crossplane lets through, for the directives certlint reads.

crossplane (with its checks off, as certlint runs it) accepts a directive closed by `}` instead
of `;` and any number of arguments; nginx refuses both and does not start. A missing `;` is
the commonest typo in a hand-edited site file, and it also shifts the next directive into the
previous one's arguments, so these become config errors with nginx's own words.
"""

from __future__ import annotations

from certlint.parsers import nginx_lexer

# directives certlint reads whose argument count nginx fixes (ngx_conf_t flags TAKE1/FLAG)
TAKE1 = frozenset((
    "ssl_certificate", "ssl_certificate_key", "ssl_trusted_certificate",
    "ssl_client_certificate", "ssl_crl", "ssl_stapling", "ssl_stapling_verify",
    "ssl_stapling_file", "ssl_stapling_responder", "ssl_password_file", "resolver_timeout",
    "ssl_ocsp_responder", "ssl_verify_client", "ssl_verify_depth", "ssl_ocsp_cache",
))


def lexical_error(text: str) -> tuple[str, int] | None:
    """nginx's own syntax error for a file (its message, with a hint, and its line), or None.

    crossplane's lexer differs from nginx's in both directions (it refuses `${uri}/` and
    `a}b`, and accepts `"quoted"-suffix` and a directive closed by `}`), so the verdict comes
    from nginx's rules (nginx_lexer.py)."""
    found = nginx_lexer.first_error(text.replace("\r\n", "\n"))
    if found is None:
        return None
    message, line = found
    hint = HINTS.get(message, "")
    return f"{message}{hint}: nginx will not start", line


HINTS = {
    'unexpected "}"': ' (a directive before it lacks its ";", or a "}" too many)',
    'unexpected ";"': " (a \";\" with no directive before it)",
}


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
