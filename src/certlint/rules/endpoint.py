"""endpoint-unreachable: `certlint probe` could not connect to a target or complete a TLS
handshake with it. One finding per target, with the socket error or the TLS alert, so one dead
host does not abort a list."""

from __future__ import annotations

from certlint.context import Context
from certlint.model import Site
from certlint.rules.base import rule


@rule("endpoint-unreachable", sources=("probe",))
def check_unreachable(site: Site, ctx: Context):
    endpoint = site.endpoint
    if endpoint is None or endpoint.error is None:
        return
    yield ctx.finding(
        "endpoint-unreachable", site.origin,
        f"{site.label} cannot be judged: {endpoint.error}. Clients fail the same way; check "
        "that the name resolves, the port is open and the server speaks TLS there", site,
        facts={"error": endpoint.error})
