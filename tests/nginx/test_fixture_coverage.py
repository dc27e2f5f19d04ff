"""Every core rule has an nginx fixture that makes it fire, and quiet look-alikes exist.

The fixture runner proves each case against certlint and the real nginx; this test proves the
set of cases is complete for the rules of the core catalogue (issue 2). Date-relative rules are
generated at test time instead and named here with the test that covers them.
"""

from __future__ import annotations

import os

from tests.support.paths import REPO, TESTS

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

NGINX = os.path.join(REPO, "fixtures",
                     "nginx")
CORE_RULES = {
    "cert-file-missing", "cert-file-unparseable", "chain-incomplete", "chain-wrong-order",
    "chain-contains-root", "chain-unrelated-cert", "chain-untrusted-root", "cert-expired",
    "cert-not-yet-valid", "key-mismatch", "hostname-mismatch", "weak-signature", "weak-key",
    "key-encrypted", "cert-path-dynamic",
}
GENERATED_AT_TEST_TIME = {"cert-expiring-soon": "tests/nginx/test_expiry.py"}


def expectations() -> dict[str, dict]:
    out = {}
    for case in sorted(os.listdir(NGINX)):
        path = os.path.join(NGINX, case, "expect.toml")
        if os.path.exists(path):
            with open(path, "rb") as fh:
                out[case] = tomllib.load(fh)
    return out


def test_every_core_rule_fires_in_some_nginx_fixture():
    fired = {f["rule"] for e in expectations().values() for f in e.get("finding", [])}
    missing = CORE_RULES - fired
    assert not missing, f"no nginx fixture makes these rules fire: {sorted(missing)}"
    here = TESTS
    for rule, test in GENERATED_AT_TEST_TIME.items():
        with open(os.path.join(os.path.dirname(here), test)) as fh:
            assert rule in fh.read(), f"{test} no longer covers {rule}"


def test_quiet_look_alikes_exist_and_say_so():
    quiet = [c for c, e in expectations().items() if not e.get("finding")]
    assert len(quiet) >= 10, quiet
    for case in quiet:
        expect = expectations()[case]
        assert expect["description"], case
        assert expect["starts"] is True, f"{case}: a quiet case nginx refuses is not quiet"


def test_every_case_says_whether_nginx_starts():
    for case, expect in expectations().items():
        assert isinstance(expect.get("starts"), bool), case
        assert os.path.exists(os.path.join(NGINX, case, "nginx.conf")), case


def test_strength_findings_say_whether_nginx_loads_the_certificate(certlint):
    """weak-key / weak-signature tell the reader whether their own server refuses the file;
    the fixtures' `starts` (checked against the real nginx) is the truth."""
    root = os.path.join(os.path.dirname(NGINX), "pki", "root.pem")
    cases = [c for c in expectations() if c.startswith(("weak-key", "weak-signature"))]
    assert len(cases) >= 5
    for case in cases:
        _code, payload = certlint.json(os.path.join(NGINX, case, "nginx.conf"),
                                       "--ca-bundle", root)
        (finding,) = payload["findings"]
        refuses = "refuse to load it" in finding["message"]
        assert refuses == (not expectations()[case]["starts"]), (case, finding["message"])
