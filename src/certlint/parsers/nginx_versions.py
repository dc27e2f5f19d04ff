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
  `ssl_certificate_cache` since 1.27.4.
"""

from __future__ import annotations

import re

DEFAULT_NGINX_VERSION = "1.26.3"  # the 1.26 stable branch (Debian 13, Ubuntu 25.04)

SINCE = {
    "http2": "1.25.1",
    "ssl_ocsp": "1.19.0", "ssl_ocsp_responder": "1.19.0", "ssl_ocsp_cache": "1.19.0",
    "ssl_conf_command": "1.19.4", "ssl_reject_handshake": "1.19.4",
    "ssl_early_data": "1.15.3", "ssl_certificate_cache": "1.27.4",
}


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
    stack = [statements]
    while stack:
        for stmt in stack.pop():
            name = stmt.get("directive", "")
            line = stmt.get("line", 0)
            if name == "ssl":
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
                stack.append(stmt["block"])
    return found
