"""stapling-file-stale: an nginx `ssl_stapling_file` that clients will reject.

nginx parses the file once (d2i_OCSP_RESPONSE_bio) and staples it forever: it never checks
nextUpdate, the status, or whether the response is about the certificate it is attached to
(the same file goes to every certificate of the server).
"""

from __future__ import annotations

import datetime as dt

from cryptography.x509 import ocsp

from certlint.context import Context
from certlint.model import Site
from certlint.pki.revocation import load_ocsp_file, response_matches
from certlint.rules._stapling import stapling_file, stapling_on
from certlint.rules._util import analysed_slots
from certlint.rules.base import rule

SKEW = dt.timedelta(minutes=5)
CLIENTS = ("clients that check staples (Firefox, and every client of a Must-Staple "
           "certificate) reject the handshake")


@rule("stapling-file-stale", servers=("nginx",))
def check_stapling_file(site: Site, ctx: Context):
    at = stapling_file(site)
    if at is None or not stapling_on(site):
        return
    ref = ctx.config.file_ref(at)
    if ref.path is None:
        return
    loaded = load_ocsp_file(ref.path)
    if loaded.response is None:
        if loaded.error and "does not exist" not in loaded.error:
            yield ctx.finding("stapling-file-stale", at,
                              f"ssl_stapling_file {at.value} {loaded.error}: nginx will not "
                              f"start (d2i_OCSP_RESPONSE_bio(\"{ref.path}\") failed)", site)
        return
    resp = loaded.response
    if resp.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
        yield ctx.finding("stapling-file-stale", at,
                          f"ssl_stapling_file {at.value} is an unsuccessful OCSP response "
                          f"({resp.response_status.name.lower()}): nginx staples it anyway "
                          f"and {CLIENTS}", site)
        return
    problems = []
    next_update = resp.next_update_utc
    if next_update is not None and next_update < ctx.now - SKEW:
        problems.append(f"expired: its nextUpdate was {next_update:%Y-%m-%d %H:%M} UTC")
    if resp.this_update_utc > ctx.now + SKEW:
        problems.append(f"not valid yet: its thisUpdate is {resp.this_update_utc:%Y-%m-%d %H:%M}"
                        " UTC")
    if resp.certificate_status != ocsp.OCSPCertStatus.GOOD:
        problems.append(f"says the certificate is {resp.certificate_status.name.lower()}")
    for slot, chain in analysed_slots(site, ctx):
        if not response_matches(resp, chain.leaf_cert):
            problems.append(f"is about another certificate (serial {resp.serial_number:x}), "
                            f"not {slot.cert.shown} (serial {chain.leaf_cert.serial_number:x})")
    for problem in problems:
        yield ctx.finding("stapling-file-stale", at,
                          f"ssl_stapling_file {at.value} {problem}; nginx never checks the "
                          f"file and staples it on every handshake, and {CLIENTS}. Refresh "
                          "it (openssl ocsp ... -respout) from cron and reload nginx", site)
