"""Command-line ergonomics a user hits first: explain, rules listings, option typos."""

from __future__ import annotations

import json
import os

FIXTURE_PKI = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures", "pki")


def test_every_listed_rule_explains(certlint):
    rules = json.loads(certlint("rules", "--format", "json").stdout)
    assert len(rules) >= 20
    for rule in rules:
        result = certlint("explain", rule["name"])
        assert result.exit_code == 0, rule["name"]
        assert result.stdout.startswith(f"# {rule['name']}\n")
        assert "## What it checks" in result.stdout


def test_explain_ignores_case_and_suggests_a_near_name(certlint):
    result = certlint("explain", "Chain-Incomplete")
    assert result.exit_code == 0 and result.stdout.startswith("# chain-incomplete\n")
    typo = certlint("explain", "chain-incomplet")
    assert typo.exit_code == 2
    assert "did you mean 'chain-incomplete'?" in typo.stderr


def test_rules_markdown_lists_every_rule(certlint):
    rules = json.loads(certlint("rules", "--format", "json").stdout)
    table = certlint("rules", "--format", "markdown").stdout.splitlines()
    assert len(table) == len(rules) + 2
    assert all(row.startswith("| `") for row in table[2:])


def test_root_that_does_not_exist_is_a_usage_error(certlint, tmp_path):
    conf = tmp_path / "nginx.conf"
    conf.write_text("events {}\nhttp {}\n")
    for command in ("check", "fix"):
        result = certlint(command, "--root", str(tmp_path / "no-such-checkout"), str(conf))
        assert result.exit_code == 2
        assert "does not exist" in result.stderr


def test_sarif_locations_are_valid_uri_references(certlint, tmp_path, monkeypatch):
    """GitHub code scanning needs repo-relative URIs; a space must be percent-encoded, and a
    file outside the working folder becomes a file: URI, not a bare path."""
    folder = tmp_path / "my configs"
    folder.mkdir()
    conf = folder / "nginx.conf"
    conf.write_text(f"""events {{}}
http {{
    server {{
        listen 443 ssl;
        server_name example.test;
        ssl_certificate {FIXTURE_PKI}/leaf.pem;
        ssl_certificate_key {FIXTURE_PKI}/demo-keys/leaf.key;
    }}
}}
""")
    args = ["check", "--format", "sarif", "--ca-bundle", os.path.join(FIXTURE_PKI, "root.pem")]
    monkeypatch.chdir(tmp_path)
    sarif = json.loads(certlint(*args, str(conf)).stdout)
    [result] = sarif["runs"][0]["results"]
    assert result["ruleId"] == "chain-incomplete"
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == \
        "my%20configs/nginx.conf"
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == 6
    rules = sarif["runs"][0]["tool"]["driver"]["rules"]
    assert rules[result["ruleIndex"]]["id"] == "chain-incomplete"
    assert "## What breaks" in rules[result["ruleIndex"]]["help"]["text"]
    monkeypatch.chdir(FIXTURE_PKI)
    sarif = json.loads(certlint(*args, str(conf)).stdout)
    uri = sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"][
        "artifactLocation"]["uri"]
    assert uri == conf.as_uri()


def test_github_annotations_name_checkout_relative_files(certlint, tmp_path, monkeypatch):
    conf = tmp_path / "etc" / "nginx.conf"
    conf.parent.mkdir()
    conf.write_text(f"""events {{}}
http {{
    server {{
        listen 443 ssl;
        server_name example.test;
        ssl_certificate {FIXTURE_PKI}/leaf.pem;
        ssl_certificate_key {FIXTURE_PKI}/demo-keys/leaf.key;
    }}
}}
""")
    monkeypatch.chdir(tmp_path)
    result = certlint("check", "--format", "github", "--ca-bundle",
                      os.path.join(FIXTURE_PKI, "root.pem"), str(conf))
    assert result.exit_code == 1
    assert result.stdout.startswith(
        "::error file=etc/nginx.conf,line=6,col=1,title=chain-incomplete::")
