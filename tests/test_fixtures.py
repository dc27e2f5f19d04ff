"""Every fixture case, through certlint and through the real server.

Each `fixtures/<server>/<case>/expect.toml` states the complete set of findings and whether the
server accepts the config; both are checked, so a rule's claim ("nginx will not start") is
proven against the real program, and a quiet look-alike proves the rule does not over-fire.
"""

from __future__ import annotations

import os

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from tests.support import servers

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures")
PKI = os.path.join(FIXTURES, "pki")
ENTRY = {"nginx": "nginx.conf", "apache": "apache2.conf"}


def cases():
    for server in sorted(ENTRY):
        base = os.path.join(FIXTURES, server)
        if not os.path.isdir(base):
            continue
        for case in sorted(os.listdir(base)):
            if os.path.exists(os.path.join(base, case, "expect.toml")):
                yield pytest.param(server, os.path.join(base, case), id=f"{server}/{case}")


def load_expect(case_dir: str) -> dict:
    with open(os.path.join(case_dir, "expect.toml"), "rb") as fh:
        return tomllib.load(fh)


def cli_args(expect: dict) -> list[str]:
    args = [a.replace("{pki}", PKI) for a in expect.get("args", [])]
    if expect.get("trust_fixture_root", True):
        args += ["--ca-bundle", os.path.join(PKI, "root.pem")]
    return args


@pytest.mark.parametrize("server,case_dir", list(cases()))
def test_certlint_reports_exactly_the_expected_findings(server, case_dir, certlint):
    expect = load_expect(case_dir)
    entry = os.path.join(case_dir, ENTRY[server])
    code, payload = certlint.json(entry, "--server", server, *cli_args(expect))
    got = sorted((f["rule"], os.path.relpath(f["path"], case_dir), f["line"])
                 for f in payload["findings"])
    want = sorted((f["rule"], f["file"], f["line"]) for f in expect.get("finding", []))
    assert got == want, "\n".join(f["message"] for f in payload["findings"])
    errors = [f for f in payload["findings"] if f["severity"] == "error"]
    assert code == (1 if errors else 0)


@pytest.mark.parametrize("server,case_dir", list(cases()))
def test_real_server_agrees_on_starting(server, case_dir, tmp_path):
    expect = load_expect(case_dir)
    entry = os.path.join(case_dir, ENTRY[server])
    if server == "nginx":
        result = servers.nginx_test(entry, state_dir=str(tmp_path))
    else:
        from tests.support.apache import apache_test

        result = apache_test(entry, state_dir=str(tmp_path))
    assert result.ok == expect["starts"], result.output
