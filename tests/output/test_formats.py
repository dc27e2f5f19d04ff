"""SARIF, GitHub annotations and the remediation document, as CI systems and people read them."""

from __future__ import annotations

import json
import os

from tests.support.paths import REPO
from tests.support.pki import write

FIXTURES = os.path.join(REPO, "fixtures")
LEAF_ONLY = os.path.join(FIXTURES, "nginx", "leaf-only", "nginx.conf")
COMPLETE = os.path.join(FIXTURES, "nginx", "complete", "nginx.conf")
ROOT = os.path.join(FIXTURES, "pki", "root.pem")


def test_sarif_is_valid_2_1_0_with_rule_help_and_locations(certlint):
    result = certlint("check", LEAF_ONLY, "--ca-bundle", ROOT, "--format", "sarif")
    assert result.exit_code == 1
    sarif = json.loads(result.stdout)
    assert sarif["version"] == "2.1.0"
    run = sarif["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == ["chain-incomplete"]
    assert "## What it checks" in rules[0]["help"]["markdown"]
    (res,) = run["results"]
    assert res["ruleId"] == "chain-incomplete" and res["level"] == "error"
    loc = res["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"]["uri"].endswith("fixtures/nginx/leaf-only/nginx.conf")
    assert loc["region"]["startLine"] == 6
    assert res["properties"]["fixable"] is True


def test_github_annotations_one_line_per_finding(certlint):
    result = certlint("check", LEAF_ONLY, "--ca-bundle", ROOT, "--format", "github")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("::error file=")
    assert ",line=6," in lines[0] and "title=chain-incomplete::" in lines[0]


def test_remediation_document_explains_and_tells_how_to_fix_on_nginx(certlint):
    result = certlint("check", LEAF_ONLY, "--ca-bundle", ROOT, "--format", "remediation")
    assert result.exit_code == 1
    doc = result.stdout
    assert doc.startswith("# TLS certificate remediation report")
    assert "found 1 error and 0 warnings" in doc
    assert "## 1. `example.test:443` (nginx)" in doc
    assert "nginx -t && systemctl reload nginx" in doc
    assert "certlint fix --ca-bundle" in doc
    assert "leaf-only/nginx.conf`, line 6" in doc


def test_remediation_document_for_a_clean_tree(certlint):
    result = certlint("check", COMPLETE, "--ca-bundle", ROOT, "--format", "remediation")
    assert result.exit_code == 0
    assert "checked 1 TLS site and found no problem" in result.stdout


def test_no_output_format_carries_key_material(tmp_path, certlint, pki):
    # the key sits in the certificate slot and the certificate in the key slot
    write(tmp_path / "site.key", pki.leaf.key_pem)
    write(tmp_path / "site.pem", pki.fullchain())
    write(tmp_path / "nginx.conf", b"events {}\nhttp { server { listen 443 ssl;\n"
          b"ssl_certificate site.key;\nssl_certificate_key site.pem; } }\n")
    body = pki.leaf.key_pem.decode().splitlines()[1][:40]
    for fmt in ("text", "json", "sarif", "github", "remediation"):
        result = certlint("check", tmp_path / "nginx.conf", "--format", fmt)
        assert result.exit_code == 1, result.output
        assert "cert-file-unparseable" in result.output
        assert "PRIVATE KEY-----" not in result.output
        assert body not in result.output
