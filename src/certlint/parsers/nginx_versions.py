"""TLS directives whose meaning changed with the nginx version (`--nginx-version`).

nginx refuses a directive its version does not know (`unknown directive "http2"`, so it does
not start) and warns about deprecated ones at every `nginx -t` and reload. Versions from the
nginx changelog and module docs:

- `ssl on;` deprecated in 1.15.0 (`the "ssl" directive is deprecated, use the "listen ... ssl"
  directive instead`), removed in 1.25.1 (`unknown directive "ssl"`);
- `listen ... http2` deprecated in 1.25.1 (`the "listen ... http2" directive is deprecated, use
  the "http2" directive instead`); the `http2` directive itself exists since 1.25.1;
- `ssl_ocsp`, `ssl_ocsp_responder`, `ssl_ocsp_cache` since 1.19.0; `ssl_conf_command` and
  `ssl_reject_handshake` since 1.19.4; `ssl_early_data` since 1.15.3;
  `ssl_certificate_cache` since 1.27.4;
- `ssl_verify_client on|optional` needs `ssl_client_certificate` before 1.27.2 (`no
  ssl_client_certificate for ssl_verify_client`, nginx does not start); from 1.27.2
  `ssl_trusted_certificate` alone will do;
- in `stream {}`: OCSP stapling (`ssl_stapling*`) and client-certificate OCSP (`ssl_ocsp*`)
  since 1.27.2 (before, `unknown directive` there while http has them for years).
"""

from __future__ import annotations

import re
from functools import lru_cache

DEFAULT_NGINX_VERSION = "1.28.0"  # the 1.28 stable branch (nginx.org/en/CHANGES-1.28)

SINCE = {
    "http2": "1.25.1",
    "ssl_ocsp": "1.19.0", "ssl_ocsp_responder": "1.19.0", "ssl_ocsp_cache": "1.19.0",
    "ssl_conf_command": "1.19.4", "ssl_reject_handshake": "1.19.4",
    "ssl_early_data": "1.15.3", "ssl_certificate_cache": "1.27.4",
}


@lru_cache(maxsize=64)
def parse_version(text: str) -> tuple[int, ...] | None:
    m = re.fullmatch(r"(?:nginx/)?(\d+)\.(\d+)\.(\d+)", text.strip())
    return tuple(int(g) for g in m.groups()) if m else None


def _at_least(version: tuple[int, ...], other: str) -> bool:
    return version >= parse_version(other)


def version_errors(statements: list[dict], version: str) -> list[tuple[str, int, str]]:
    """(message, line, severity) for each directive this nginx version refuses or deprecates."""
    have = parse_version(version)
    if have is None:
        return []
    shown = ".".join(map(str, have))
    found: list[tuple[str, int, str]] = []
    stack = [(statements, False)]
    while stack:
        block, in_stream = stack.pop()
        for stmt in block:
            name = stmt.get("directive", "")
            line = stmt.get("line", 0)
            if (in_stream and name.startswith(("ssl_stapling", "ssl_ocsp"))
                    and not _at_least(have, "1.27.2")):
                found.append((f'unknown directive "{name}": nginx {shown} will not start (the '
                              f"stream module has {name} since 1.27.2)", line, "error"))
            elif name == "ssl":
                if _at_least(have, "1.25.1"):
                    found.append((f'unknown directive "ssl": nginx {shown} will not start ('
                                  "`ssl on;` was removed in 1.25.1); use `listen 443 ssl;` "
                                  "instead", line, "error"))
                elif _at_least(have, "1.15.0"):
                    found.append(('the "ssl" directive is deprecated, use the "listen ... ssl" '
                                  f"directive instead (nginx {shown} warns at every start; "
                                  "1.25.1 and later refuse it: unknown directive \"ssl\")",
                                  line, "warning"))
            elif name in SINCE and not _at_least(have, SINCE[name]):
                found.append((f'unknown directive "{name}": nginx {shown} will not start ('
                              f"{name} exists since {SINCE[name]})", line, "error"))
            elif (name == "listen" and "http2" in stmt.get("args", ())[1:]
                    and _at_least(have, "1.25.1")):
                found.append(('the "listen ... http2" directive is deprecated, use the "http2" '
                              f"directive instead (nginx {shown} warns at every start: "
                              "write `http2 on;` in the server block)", line, "warning"))
            if "block" in stmt:
                stack.append((stmt["block"], in_stream or name == "stream"))
    return found


def client_verify_errors(sites, version: str) -> list[tuple[str, object]]:
    """(message, ssl_verify_client directive) for each TLS server that verifies client
    certificates without the CA file its nginx version requires (checked per server when
    nginx merges its SSL settings, so an http-level setting counts for every server)."""
    have = parse_version(version)
    if have is None:
        return []
    shown = ".".join(map(str, have))
    found = []
    for site in sites:
        verify = site.get("ssl_verify_client")
        if verify is None or verify.value not in ("on", "optional") or not site.slots:
            continue
        if site.get("ssl_client_certificate") is not None:
            continue
        if not _at_least(have, "1.27.2"):
            found.append(("no ssl_client_certificate for ssl_verify_client: nginx "
                          f"{shown} will not start (ssl_trusted_certificate alone is enough "
                          "only from 1.27.2)", verify))
        elif site.get("ssl_trusted_certificate") is None:
            found.append(("no ssl_client_certificate or ssl_trusted_certificate for "
                          f"ssl_verify_client: nginx {shown} will not start", verify))
    return found
