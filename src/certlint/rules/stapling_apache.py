"""Apache mod_ssl stapling setup: the cache it demands, where the cache may stand, and a
forced responder URL it cannot use.

apache-stapling-no-cache, apache-stapling-cache-in-vhost, apache-stapling-force-url-not-http.
"""

from __future__ import annotations

from certlint.context import Context
from certlint.model import Site
from certlint.rules._facts import site_facts, where
from certlint.rules._stapling import stapling_at, stapling_on
from certlint.rules._stapling_fix import apache_cache_plan
from certlint.rules.base import rule


@rule("apache-stapling-no-cache", servers=("apache",))
def check_no_cache(site: Site, ctx: Context):
    if not stapling_on(site):
        return
    config = ctx.config
    caches = [d for d in config.globals.get("sslstaplingcache", []) if d.value]
    if caches or "sslstaplingcache" in site.own:
        return  # a cache inside the vhost is apache-stapling-cache-in-vhost
    message = ("SSLUseStapling on without a server-level SSLStaplingCache: Apache will not "
               "start (AH01958: SSLStapling: no stapling cache available)")
    fix = apache_cache_plan(config, site, "apache-stapling-no-cache")
    yield ctx.finding("apache-stapling-no-cache", stapling_at(site), message, site, fix=fix,
                      fixable=bool(fix.edits),
                      facts={**site_facts(site), "stapling": where(stapling_at(site), ctx)})


@rule("apache-stapling-cache-in-vhost", servers=("apache",))
def check_cache_in_vhost(site: Site, ctx: Context):
    for d in site.get_all("sslstaplingcache"):
        if d.block != "main" and "sslstaplingcache" in site.own:
            yield ctx.finding(
                "apache-stapling-cache-in-vhost", d,
                "SSLStaplingCache inside <VirtualHost>: Apache will not start "
                "(SSLStaplingCache cannot occur within <VirtualHost> section); move it to "
                "the server level, outside every <VirtualHost>", site)


@rule("apache-stapling-force-url-not-http", servers=("apache",))
def check_force_url(site: Site, ctx: Context):
    d = site.get("sslstaplingforceurl")
    if d is None or not d.value or not stapling_on(site):
        return
    if d.value.startswith("http://"):
        return
    yield ctx.finding(
        "apache-stapling-force-url-not-http", d,
        f"SSLStaplingForceURL {d.value} is not an http:// URL (the scheme is compared "
        "case-sensitively): Apache accepts it at startup, then aborts every handshake that "
        "asks for certificate status - all major browsers - with AH01940: "
        f"stapling_renew_response: Unsupported uri {d.value} and AH01955: stapling_cb: fatal "
        "error renewing response", site)
