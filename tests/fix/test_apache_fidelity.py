"""`certlint fix` never makes an Apache site worse: after `fix --write` on each fixable case the
real apache2 starts and `openssl s_client -verify_return_error` verifies, and a plan whose new
file would not start with the key's certificate, or would not verify at --now, is refused by
the last check before writing (nothing written, exit 1, the reason said)."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from certlint.fix.chain import ChainPlanner
from tests.fixtures.test_fixtures import FIXTURES, load_expect
from tests.support import servers
from tests.support.apache import ApacheServer

# fixture cases that Apache refuses or serves badly before, and that `fix` repairs
FIXABLE = [("wrong-order-chain-file", "example.test"),
           ("wrong-order-chain-file-same", "example.test"),
           ("wrong-order-old-apache", "example.test"),
           ("listen-https-no-sslengine", "example.test"),
           ("closing-line-extra-words", "www.example.test")]


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch, certlint):
    monkeypatch.setenv("CERTLINT_CACHE_DIR", str(tmp_path / "aia-cache"))
    # run from the checkout, as a hook or CI job does: fix writes only inside the entry point's
    # folder or the current folder (SECURITY.md promise 1), and the certificates lie beside
    monkeypatch.chdir(tmp_path)
    certlint.workstation()  # loopback AIA allowed, as outside CI (network/test_fetch.py)


def copy_case(case: str, tmp_path) -> tuple[str, str, list[str]]:
    """(entry, pki folder, certlint args) of a fresh copy of fixtures/apache/<case>."""
    copy = tmp_path / "fixtures"
    shutil.copytree(os.path.join(FIXTURES, "pki"), copy / "pki")
    shutil.copytree(os.path.join(FIXTURES, "apache", case), copy / "apache" / case)
    pki = str(copy / "pki")
    expect = load_expect(os.path.join(FIXTURES, "apache", case))
    args = [a.replace("{pki}", pki) for a in expect.get("args", [])]
    if expect.get("trust_fixture_root", True):
        args += ["--ca-bundle", os.path.join(pki, "root.pem")]
    return str(copy / "apache" / case / "apache2.conf"), pki, args


@pytest.mark.parametrize("case,name", FIXABLE)
def test_after_fix_apache_starts_and_clients_verify(case, name, tmp_path, certlint):
    entry, pki, args = copy_case(case, tmp_path)

    result = certlint("fix", "--write", "--offline", "--server", "apache", *args, entry)

    assert result.exit_code == 0, result.output
    server = ApacheServer(entry, str(tmp_path / "state"))
    started = server.start()
    assert started.ok, started.output
    try:
        hello = servers.s_client(server.port(443), name, os.path.join(pki, "root.pem"))
    finally:
        server.stop()
    assert hello.ok, hello.output


def test_a_plan_without_the_leaf_is_refused_and_nothing_is_written(tmp_path, certlint,
                                                                   monkeypatch):
    # the planner of old: a "full chain" built from the first certificate Apache saw
    def without_leaf(self, chain, nearby=None):
        return [c for c in chain.served if c is not chain.leaf_cert][:1]

    monkeypatch.setattr(ChainPlanner, "corrected", without_leaf)
    entry, _pki, args = copy_case("wrong-order-chain-file", tmp_path)
    folder = os.path.dirname(os.path.dirname(entry))
    before = {os.path.join(d, f) for d, _s, fs in os.walk(folder) for f in fs}
    config = open(entry, "rb").read()

    result = certlint("fix", "--write", "--offline", "--format", "json", *args, entry)

    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["fixed"] == [] and report["written"] == []
    reasons = [r["reason"] for r in report["remaining"]]
    assert any("refused by the last check before writing" in r and "would start with "
               "'certlint Fixture Intermediate CA', not with the certificate that matches the "
               "private key" in r for r in reasons), reasons
    assert open(entry, "rb").read() == config
    assert {os.path.join(d, f) for d, _s, fs in os.walk(folder) for f in fs} == before


@pytest.mark.parametrize("case", ["wrong-order-chain-file", "wrong-order-chain-file-same"])
def test_intermediate_first_with_a_chain_file_is_refused_as_certlint_says(case, tmp_path,
                                                                          certlint):
    """mod_ssl takes the first certificate of SSLCertificateFile as the server's own even when
    SSLCertificateChainFile is set: [intermediate, leaf] stops Apache with AH02565, and
    certlint says chain-wrong-order (the key belongs to certificate #2), not a mismatch."""
    entry, _pki, args = copy_case(case, tmp_path)
    code, payload = certlint.json(entry, "--server", "apache", *args)
    wrong = [f for f in payload["findings"] if f["rule"] == "chain-wrong-order"]
    assert len(wrong) == 1 and "belongs to certificate #2" in wrong[0]["message"]
    assert "AH02565" in wrong[0]["message"] and code == 1
    started = ApacheServer(entry, str(tmp_path / "state")).start()
    assert not started.ok and "AH02565" in started.output, started.output
