"""The project config file (issue 12, item 1): `.certlint.toml` or `[tool.certlint]` in
pyproject.toml, found walking up from the current folder; keys are the long option names,
relative paths are relative to the file, the command line wins; `certlint check` with no
arguments checks `paths`; `certlint config` says where each setting came from; a bad key or
value exits 2 naming the file, the key and what is allowed."""

from __future__ import annotations

import json

import pytest

from tests.support.pki import DAY, NOW, StandardPKI, cert_pem, write


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """An infrastructure checkout: etc/nginx/nginx.conf naming /etc/nginx/... paths, a private
    root in certs/, one leaf-only site (an error) in sites/shop.conf and one certificate that
    expires in 10 days (a warning) in legacy/old.conf."""
    pki = StandardPKI.make("shop.test")
    old = pki.inter.leaf("old.test", not_before=NOW - 365 * DAY, not_after=NOW + 10 * DAY)
    etc = tmp_path / "repo" / "etc" / "nginx"
    write(etc / "certs" / "shop.pem", cert_pem(pki.leaf.cert))
    write(etc / "certs" / "shop.key", pki.leaf.key_pem, 0o600)
    write(etc / "certs" / "old.pem", cert_pem(old.cert, pki.inter.cert))
    write(etc / "certs" / "old.key", old.key_pem, 0o600)
    write(tmp_path / "repo" / "certs" / "root.pem", pki.root.pem)
    write(tmp_path / "repo" / "certs" / "inters" / "inter.pem", pki.inter.pem)
    site = ("server {{\n    listen 443 ssl;\n    server_name {0}.test;\n"
            "    ssl_certificate /etc/nginx/certs/{0}.pem;\n"
            "    ssl_certificate_key /etc/nginx/certs/{0}.key;\n}}\n")
    write(etc / "sites" / "shop.conf", site.format("shop").encode())
    write(etc / "legacy" / "old.conf", site.format("old").encode())
    write(etc / "nginx.conf", b"events {}\nhttp {\n    include /etc/nginx/sites/*.conf;\n"
                              b"    include /etc/nginx/legacy/*.conf;\n}\n")
    monkeypatch.chdir(tmp_path / "repo")
    return tmp_path / "repo"


CONFIG = ('paths = ["etc/nginx/nginx.conf"]\nroot = "."\nca-bundle = ["certs/root.pem"]\n')


def rules(result) -> list[str]:
    return sorted(f["rule"] for f in json.loads(result.stdout)["findings"])


def test_check_without_arguments_checks_the_configured_paths(repo, certlint):
    write(repo / ".certlint.toml", CONFIG.encode())
    result = certlint("check", "--format", "json")
    assert result.exit_code == 1, result.output
    assert rules(result) == ["cert-expiring-soon", "chain-incomplete"]


def test_found_walking_up_and_paths_relative_to_the_file(repo, certlint, monkeypatch):
    write(repo / ".certlint.toml", CONFIG.encode())
    monkeypatch.chdir(repo / "etc" / "nginx" / "sites")
    result = certlint("check", "--format", "json")
    assert result.exit_code == 1, result.output
    assert rules(result) == ["cert-expiring-soon", "chain-incomplete"]


def test_pyproject_tool_table(repo, certlint):
    write(repo / "pyproject.toml", ("[project]\nname = 'infra'\n\n[tool.certlint]\n"
                                    + CONFIG + 'ignore = ["chain-incomplete"]\n').encode())
    result = certlint("check", "--format", "json")
    assert result.exit_code == 0, result.output
    assert rules(result) == ["cert-expiring-soon"]


def test_command_line_overrides_the_file(repo, certlint):
    write(repo / ".certlint.toml", (CONFIG + 'fail-on = "warning"\n'
                                    'ignore = ["chain-incomplete"]\n').encode())
    assert certlint("check").exit_code == 1  # the warning fails: fail-on from the file
    assert certlint("check", "--fail-on", "error").exit_code == 0
    # entry points on the command line replace `paths`
    other = write(repo / "other.conf", b"events {}\nhttp {}\n")
    result = certlint("check", "--format", "json", other)
    assert result.exit_code == 0 and rules(result) == []


def test_per_path_ignores(repo, certlint):
    write(repo / ".certlint.toml", (CONFIG + '[per-path-ignores]\n'
                                    '"etc/nginx/legacy/*" = ["cert-expiring-soon"]\n'
                                    '"etc/nginx/sites/*" = ["cert-expired"]\n').encode())
    result = certlint("check", "--format", "json")
    assert rules(result) == ["chain-incomplete"]


def test_fix_reads_its_own_keys(repo, certlint):
    write(repo / ".certlint.toml", (CONFIG + 'intermediates = ["certs/inters"]\n'
                                    'offline = true\nignore = ["cert-expiring-soon"]\n').encode())
    result = certlint("fix", "--write")
    assert result.exit_code == 0, result.output
    assert "from --intermediates " in result.stderr
    assert certlint("check").exit_code == 0


def test_config_command_says_where_each_setting_came_from(repo, certlint):
    write(repo / ".certlint.toml", (CONFIG + 'fail-on = "warning"\n').encode())
    out = certlint("config", "--expiry-warn-days", "14").stdout
    lines = {line.split(" = ")[0]: line for line in out.splitlines() if " = " in line}
    conf = str(repo / ".certlint.toml")
    assert lines["fail-on"].endswith(f'"warning"  # {conf}') or (
        '"warning"' in lines["fail-on"] and lines["fail-on"].endswith(f"# {conf}"))
    assert lines["expiry-warn-days"].split("#")[1].strip() == "command line"
    assert lines["apache-version"].split("#")[1].strip() == "default"
    assert str(repo / "etc/nginx/nginx.conf") in lines["paths"]
    assert out.startswith(f"# config file: {conf}")


@pytest.mark.parametrize("text,needle", [
    ("fail_on = 'warning'\n", "key 'fail_on' is not a certlint setting (did you mean "
                              "'fail-on'?); allowed: paths, root,"),
    ("fail-on = 'fatal'\n", "key 'fail-on': 'fatal' is not allowed; use one of \"error\", "
                            "\"warning\", \"info\""),
    ("expiry-warn-days = '30'\n", "key 'expiry-warn-days': '30' is not allowed; use a whole "
                                  "number"),
    ("ignore = ['cert-expird']\n", "key 'ignore': unknown rule 'cert-expird' (did you mean "
                                   "'cert-expired'?)"),
    ("root = 'nowhere'\n", "key 'root': 'nowhere' is not a folder"),
    ("apache-version = '2.4'\n", "key 'apache-version': '2.4' is not precise enough"),
    ("offline = 'yes'\n", "key 'offline': 'yes' is not allowed; use true or false"),
    ("paths = [\n", "not valid TOML"),
])
def test_bad_keys_and_values_exit_2_naming_file_key_and_what_is_allowed(repo, certlint, text,
                                                                        needle):
    write(repo / ".certlint.toml", text.encode())
    for command in ("check", "fix", "config"):
        result = certlint(command)
        assert result.exit_code == 2, result.output
        assert result.stderr.startswith("certlint: .certlint.toml: "), result.stderr
        assert needle in result.stderr, result.stderr
        assert "Traceback" not in result.output


def test_no_paths_anywhere_is_a_usage_error(repo, certlint):
    result = certlint("check")
    assert result.exit_code == 2
    assert "set `paths` in a .certlint.toml" in result.stderr
    write(repo / ".certlint.toml", b"fail-on = 'fatal'\n")
    assert certlint("explain", "chain-incomplete").exit_code == 0  # only check/fix/config read it
