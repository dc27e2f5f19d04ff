"""`certlint fix --write --offline` over every fixture case (a copy), checked by certlint itself
and by the real server.

For each case: the exit code says the truth (0 exactly when no fixable finding is left), a
second run changes nothing, key files stay byte-identical, and the real server starts after the
fix whenever it started before, and whenever certlint finds nothing left.
"""

from __future__ import annotations

import json
import os
import shutil

import pytest

from tests.fixtures.test_fixtures import ENTRY, FIXTURES, cases, load_expect
from tests.support import servers


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch, certlint):
    monkeypatch.setenv("CERTLINT_CACHE_DIR", str(tmp_path / "aia-cache"))
    certlint.workstation()  # loopback AIA allowed, as outside CI (network/test_fetch.py)


def starts(server: str, entry: str, state: str) -> servers.Result:
    os.makedirs(state, exist_ok=True)
    if server == "nginx":
        return servers.nginx_test(entry, state_dir=state)
    from tests.support.apache import apache_test

    return apache_test(entry, state_dir=state)


def tree(folder) -> dict[str, bytes]:
    out = {}
    for dirpath, _dirs, files in os.walk(folder):
        for name in files:
            path = os.path.join(dirpath, name)
            with open(path, "rb") as fh:
                out[os.path.relpath(path, folder)] = fh.read()
    return out


@pytest.mark.parametrize("server,case_dir", list(cases()))
def test_fix_over_each_fixture(server, case_dir, tmp_path, certlint):
    expect = load_expect(case_dir)
    copy = tmp_path / "fixtures"
    shutil.copytree(os.path.join(FIXTURES, "pki"), copy / "pki")
    case = copy / server / os.path.basename(case_dir)
    shutil.copytree(case_dir, case)
    pki = str(copy / "pki")
    args = ["--server", server, "--offline"]
    args += [a.replace("{pki}", pki) for a in expect.get("args", [])]
    if expect.get("trust_fixture_root", True):
        args += ["--ca-bundle", os.path.join(pki, "root.pem")]
    entry = str(case / ENTRY[server])
    keys = {k: v for k, v in tree(copy / "pki").items() if k.startswith("demo-keys")}
    before = starts(server, entry, str(tmp_path / "before")).ok

    result = certlint("fix", "--write", "--format", "json", *args, entry)

    assert result.exit_code in (0, 1), result.output
    report = json.loads(result.stdout)
    code, after = certlint.json(entry, *[a for a in args if a != "--offline"])
    left = [f for f in after["findings"] if f["severity"] == "error"]
    # as `ruff check --fix`: exit 1 exactly when errors remain, fixable or not
    assert (result.exit_code == 0) == (not left), (result.output, left)
    assert {(f["rule"], f["site"]) for f in report["remaining"]
            if f["severity"] == "error"} == {(f["rule"], f["site"]) for f in left}
    for fixed in report["fixed"]:
        assert not any(f["rule"] == fixed["rule"] and f["site"] == fixed["site"]
                       for f in after["findings"]), fixed
    again = certlint("fix", *args, entry)
    assert "would create" not in again.stdout and "+++ " not in again.stdout, again.stdout
    assert {k: v for k, v in tree(copy / "pki").items() if k.startswith("demo-keys")} == keys
    now = starts(server, entry, str(tmp_path / "after"))
    if before or not after["findings"]:
        assert now.ok, now.output
