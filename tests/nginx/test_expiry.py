"""Date-relative nginx cases, generated at test time: expiring soon is about today.

A 90-day certificate with 10 days left is "expiring soon"; the same certificate with 60 days left
is not (its lifetime matters, capped by --expiry-warn-days); nginx starts on all of them.
"""

from __future__ import annotations

import datetime as dt

import pytest

from tests.support import servers
from tests.support.pki import CA, cert_pem, key_pem, write

NOW = dt.datetime.now(dt.timezone.utc)
DAY = dt.timedelta(days=1)


def site(tmp_path, pki_leaf, inter, root) -> tuple[str, str]:
    write(tmp_path / "fullchain.pem", cert_pem(pki_leaf.cert, inter.cert))
    write(tmp_path / "site.key", key_pem(pki_leaf.key), mode=0o600)
    write(tmp_path / "root.pem", root.pem)
    conf = servers.nginx_conf("""
    server {
        listen 443 ssl;
        server_name example.test;
        ssl_certificate fullchain.pem;
        ssl_certificate_key site.key;
    }""", str(tmp_path))
    return write(tmp_path / "nginx.conf", conf.encode()), str(tmp_path / "root.pem")


def chain(**leaf_kwargs):
    root = CA("certlint Dated Root")
    inter = root.intermediate("certlint Dated Intermediate")
    return root, inter, inter.leaf("example.test", **leaf_kwargs)


@pytest.mark.parametrize("left_days,warn", [(10, True), (60, False), (29, True)])
def test_expiring_soon_is_relative_to_today(tmp_path, certlint, left_days, warn):
    root, inter, leaf = chain(not_before=NOW + (left_days - 90) * DAY,
                              not_after=NOW + left_days * DAY)
    conf, ca = site(tmp_path, leaf, inter, root)
    code, payload = certlint.json(conf, "--ca-bundle", ca)
    rules = [(f["rule"], f["line"]) for f in payload["findings"]]
    lines = open(conf).read().splitlines()
    cert_line = next(i for i, ln in enumerate(lines, 1) if "ssl_certificate fullchain" in ln)
    assert rules == ([("cert-expiring-soon", cert_line)] if warn else [])
    assert code == 0  # a warning does not fail the run
    assert servers.nginx_test(conf, state_dir=str(tmp_path)).ok


def test_expiry_warn_days_caps_the_window(tmp_path, certlint):
    root, inter, leaf = chain(not_before=NOW - 300 * DAY, not_after=NOW + 20 * DAY)
    conf, ca = site(tmp_path, leaf, inter, root)
    _code, payload = certlint.json(conf, "--ca-bundle", ca, "--expiry-warn-days", "7")
    assert payload["findings"] == []
    _code, payload = certlint.json(conf, "--ca-bundle", ca, "--expiry-warn-days", "21")
    assert [f["rule"] for f in payload["findings"]] == ["cert-expiring-soon"]


def test_expired_yesterday_is_an_error_and_nginx_still_starts(tmp_path, certlint):
    root, inter, leaf = chain(not_before=NOW - 90 * DAY, not_after=NOW - DAY)
    conf, ca = site(tmp_path, leaf, inter, root)
    code, payload = certlint.json(conf, "--ca-bundle", ca)
    assert [f["rule"] for f in payload["findings"]] == ["cert-expired"]
    assert code == 1
    assert servers.nginx_test(conf, state_dir=str(tmp_path)).ok
