"""Command-line ergonomics a user hits first: explain, rules listings, option typos."""

from __future__ import annotations

import json
import os

from tests.support.paths import REPO
from tests.support.trees import nginx_server, write_nginx

FIXTURE_PKI = os.path.join(REPO, "fixtures", "pki")


def fixture_site(path, cert: str = "leaf.pem",
                 key: str = f"{FIXTURE_PKI}/demo-keys/leaf.key") -> str:
    """nginx.conf at `path` serving the fixture PKI's `cert` (leaf only by default: one
    chain-incomplete finding at line 6, column 9)."""
    return write_nginx(path, nginx_server(os.path.join(FIXTURE_PKI, cert), key))


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
    fixture_site(conf)
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
    conf = fixture_site(tmp_path / "etc" / "nginx.conf")
    monkeypatch.chdir(tmp_path)
    result = certlint("check", "--format", "github", "--ca-bundle",
                      os.path.join(FIXTURE_PKI, "root.pem"), str(conf))
    assert result.exit_code == 1
    assert result.stdout.startswith(
        "::error file=etc/nginx.conf,line=6,col=9,title=chain-incomplete::")


def test_negative_expiry_warn_days_is_a_usage_error(certlint, tmp_path):
    conf = tmp_path / "nginx.conf"
    conf.write_text("events {}\nhttp {}\n")
    result = certlint("check", "--expiry-warn-days", "-5", str(conf))
    assert result.exit_code == 2
    assert "--expiry-warn-days" in result.stderr


def test_apache_version_typo_is_a_usage_error(certlint, tmp_path):
    conf = tmp_path / "apache2.conf"
    conf.write_text("Listen 80\n")
    result = certlint("check", "--apache-version", "2.4,7", str(conf))
    assert result.exit_code == 2
    assert "is not an Apache version" in result.stderr
    assert certlint("check", "--apache-version", "2.4.7", str(conf)).exit_code == 0


def test_ignore_drops_rules_from_report_and_exit_code(certlint, tmp_path):
    """A repo that holds configs but not the keys: --ignore cert-file-missing lets the
    pre-commit hook pass on what it can check."""
    conf = fixture_site(tmp_path / "nginx.conf", "fullchain.pem", "/srv/vault/example.key")
    ca = os.path.join(FIXTURE_PKI, "root.pem")
    code, payload = certlint.json(str(conf), "--ca-bundle", ca)
    assert (code, [f["rule"] for f in payload["findings"]]) == (1, ["cert-file-missing"])
    code, payload = certlint.json(str(conf), "--ca-bundle", ca, "--ignore",
                                  "cert-file-missing,key-encrypted")
    assert (code, payload["findings"]) == (0, [])
    typo = certlint("check", "--ignore", "cert-file-mising", str(conf))
    assert typo.exit_code == 2
    assert "did you mean 'cert-file-missing'?" in typo.stderr


def test_non_utf8_path_in_every_format(certlint, tmp_path, monkeypatch):
    """A Latin-1 folder name (old servers have them): every format renders, no traceback."""
    folder = os.path.join(os.fsencode(str(tmp_path)), b"lat\xe9")
    os.mkdir(folder)
    conf = fixture_site(os.path.join(folder, b"nginx.conf"))
    monkeypatch.chdir(tmp_path)
    for fmt in ("text", "json", "sarif", "github", "remediation"):
        result = certlint("check", "--format", fmt, "--ca-bundle",
                          os.path.join(FIXTURE_PKI, "root.pem"), os.fsdecode(conf))
        assert result.exit_code == 1, (fmt, result.output)
        assert "chain-incomplete" in result.stdout
    sarif = json.loads(certlint("check", "--format", "sarif", os.fsdecode(conf)).stdout)
    uri = sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"][
        "artifactLocation"]["uri"]
    assert uri == "lat%E9/nginx.conf"


def test_non_utf8_path_under_a_strict_utf8_terminal(tmp_path):
    """en_US.UTF-8 makes Python's stdout strict: the fix diff and the report still print."""
    import shutil
    import subprocess
    import sys

    folder = os.path.join(os.fsencode(str(tmp_path)), b"lat\xe9")
    os.mkdir(folder)
    shutil.copy(os.path.join(FIXTURE_PKI, "leaf.pem"), os.path.join(folder, b"leaf.pem"))
    shutil.copy(os.path.join(FIXTURE_PKI, "inter.pem"), os.path.join(folder, b"chain.pem"))
    conf = write_nginx(os.path.join(folder, b"nginx.conf"),
                       nginx_server("leaf.pem", f"{FIXTURE_PKI}/demo-keys/leaf.key"))
    env = {**os.environ, "PYTHONIOENCODING": "utf-8:strict",
           "PYTHONPATH": os.path.join(REPO, "src"),
           "CERTLINT_CACHE_DIR": str(tmp_path / "cache")}
    ca = os.path.join(FIXTURE_PKI, "root.pem")
    for args in (["check"], ["check", "--format", "remediation"], ["fix", "--offline"]):
        run = subprocess.run([sys.executable, "-m", "certlint", *args, "--ca-bundle", ca, conf],
                             capture_output=True, env=env, cwd=str(tmp_path), timeout=60)
        assert run.returncode == 1, (args, run.stderr)
        assert b"internal error" not in run.stderr
        # the fix diff names files as git does (SECURITY.md promise 2): C-quoted octal bytes
        assert (b'"a/lat\\351/nginx.conf"' if args[0] == "fix" else b"lat\xe9") in run.stdout
