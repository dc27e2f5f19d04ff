"""Apache-specific advice: `--apache-version` selects what certlint tells the user."""

from __future__ import annotations

import os

from tests.support.paths import REPO

ROOT = REPO
FIXTURES = os.path.join(ROOT, "fixtures", "apache")
PKI = os.path.join(ROOT, "fixtures", "pki")
ROOT_CA = os.path.join(PKI, "root.pem")


def check(certlint, case: str, *args: str) -> list[dict]:
    entry = os.path.join(FIXTURES, case, "apache2.conf")
    _code, payload = certlint.json(entry, "--ca-bundle", ROOT_CA, *args)
    return payload["findings"]


def test_leaf_only_advice_names_both_ways_out_on_current_apache(certlint):
    (finding,) = check(certlint, "leaf-only")
    assert finding["rule"] == "apache-chain-file-missing"
    assert finding["fixable"] is True and finding["severity"] == "error"
    assert "full chain" in finding["message"] and "SSLCertificateFile" in finding["message"]
    assert "SSLCertificateChainFile (deprecated since 2.4.8)" in finding["message"]


def test_before_2_4_8_only_the_chain_file_helps(certlint):
    (finding,) = check(certlint, "leaf-only", "--apache-version", "2.4.7")
    assert finding["rule"] == "apache-chain-file-missing"
    assert "add SSLCertificateChainFile" in finding["message"]
    assert "needs 2.4.8+" in finding["message"]


def test_before_2_4_8_a_fullchain_file_is_served_as_leaf_only(certlint):
    """Apache < 2.4.8 reads only the first certificate of SSLCertificateFile."""
    assert check(certlint, "complete") == []
    (finding,) = check(certlint, "complete", "--apache-version", "2.4.7")
    assert finding["rule"] == "apache-chain-file-missing"


def test_chain_file_is_deprecated_only_from_2_4_8(certlint):
    (finding,) = check(certlint, "chain-file")
    assert (finding["rule"], finding["severity"], finding["line"]) == (
        "apache-chain-file-deprecated", "info", 13)
    assert check(certlint, "chain-file", "--apache-version", "2.4.7") == []


def test_disable_next_line_suppresses_one_apache_finding(certlint, tmp_path):
    with open(os.path.join(FIXTURES, "leaf-only", "apache2.conf"), encoding="utf-8") as fh:
        src = fh.read()
    src = src.replace("../../pki", PKI).replace(
        "    SSLCertificateFile", "    # certlint: disable-next-line=apache-chain-file-missing\n"
                                 "    SSLCertificateFile")
    conf = tmp_path / "apache2.conf"
    conf.write_text(src)
    code, payload = certlint.json(str(conf), "--ca-bundle", ROOT_CA)
    assert payload["findings"] == [] and code == 0


def test_explain_and_rules_list_the_apache_rules(certlint):
    listed = certlint("rules").output
    assert "apache-chain-file-missing" in listed and "apache-chain-file-deprecated" in listed
    text = certlint("explain", "apache-chain-file-deprecated").output
    assert "## How to fix on Apache" in text and "2.4.8" in text


def test_undefined_variable_is_a_warning_like_apache_ah00111(certlint, tmp_path):
    """httpd only warns (AH00111) and keeps `${VAR}` literally; where that literal is harmless,
    the config still works, so certlint warns and the exit code stays 0."""
    with open(os.path.join(FIXTURES, "complete", "apache2.conf"), encoding="utf-8") as fh:
        src = fh.read().replace("../../pki", PKI)
    conf = tmp_path / "apache2.conf"
    conf.write_text(src + "ServerAdmin ${CERTLINT_UNSET_VARIABLE}\n")
    code, payload = certlint.json(str(conf), "--ca-bundle", ROOT_CA)
    assert [(f["rule"], f["severity"]) for f in payload["findings"]] == [
        ("config-error", "warning")]
    assert "AH00111" in payload["findings"][0]["message"]
    assert code == 0
