"""Stapling fix plans through the real fix engine: the diff a user reviews, --write, --patch,
idempotence, and what certlint and nginx say afterwards."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

from tests.support import servers
from tests.support.pki import CA, cert_pem, key_pem, write

OCSP = "http://ocsp.example.test/"


def tree(tmp_path, body: str, cert: str = "fullchain.pem", ocsp: bool = True) -> str:
    root = CA("Fix Root")
    inter = root.intermediate("Fix Intermediate")
    leaf = inter.leaf("example.test", ocsp=[OCSP] if ocsp else None)
    write(tmp_path / "pki" / "fullchain.pem", cert_pem(leaf.cert, inter.cert))
    write(tmp_path / "pki" / "leaf.pem", cert_pem(leaf.cert))
    write(tmp_path / "pki" / "leaf.key", key_pem(leaf.key), 0o600)
    write(tmp_path / "root.pem", root.pem)
    write(tmp_path / "inters" / "inter.pem", inter.pem)
    text = f"""events {{}}
http {{
    server {{
        listen 443 ssl;
        server_name example.test;
        ssl_certificate pki/{cert};
        ssl_certificate_key pki/leaf.key;
{body}
    }}
}}
"""
    return write(tmp_path / "nginx.conf", text.encode())


def fix(certlint, conf, *args):
    root = os.path.join(os.path.dirname(conf), "root.pem")
    return certlint("fix", "--server", "nginx", "--ca-bundle", root, *args, conf)


def check_rules(certlint, conf) -> list[str]:
    root = os.path.join(os.path.dirname(conf), "root.pem")
    _code, payload = certlint.json(conf, "--server", "nginx", "--ca-bundle", root)
    return [f["rule"] for f in payload["findings"]]


def test_resolver_fix_dry_run_diff_write_and_idempotence(tmp_path, certlint):
    conf = tree(tmp_path, "        ssl_stapling on;")
    before = open(conf).read()
    dry = fix(certlint, conf, "--resolver", "10.0.0.53", "--resolver", "2001:db8::53")
    assert dry.exit_code == 1  # changes pending
    assert ("+        resolver 10.0.0.53 [2001:db8::53] valid=300s;\n"
            "+        resolver_timeout 5s;\n") in dry.stdout
    assert "from --resolver" in dry.stderr
    assert open(conf).read() == before

    wrote = fix(certlint, conf, "--write", "--resolver", "10.0.0.53")
    assert wrote.exit_code == 0, wrote.output
    assert check_rules(certlint, conf) == []
    again = fix(certlint, conf, "--write", "--resolver", "10.0.0.53")
    assert again.exit_code == 0 and open(conf).read().count("resolver_timeout") == 1
    assert servers.nginx_test(conf, state_dir=str(tmp_path)).ok


def test_trusted_chain_fix_as_a_git_patch(tmp_path, certlint, monkeypatch):
    conf = tree(tmp_path, "        ssl_stapling on;\n        ssl_stapling_verify on;\n"
                          "        resolver 127.0.0.53;")
    patch = tmp_path / "stapling.patch"
    monkeypatch.chdir(tmp_path)
    made = fix(certlint, conf, "--patch", str(patch))
    assert made.exit_code == 0, made.output
    assert not (tmp_path / "pki" / "fullchain.ocsp-chain.pem").exists()
    copy = tmp_path / "copy"
    shutil.copytree(tmp_path, copy, ignore=shutil.ignore_patterns("copy", "*.patch"))
    git = shutil.which("git")
    subprocess.run([git, "init", "-q"], cwd=copy, check=True)
    subprocess.run([git, "apply", str(patch)], cwd=copy, check=True)
    new = copy / "pki" / "fullchain.ocsp-chain.pem"
    assert new.read_text().count("BEGIN CERTIFICATE") == 2  # intermediate + root
    assert "ssl_trusted_certificate pki/fullchain.ocsp-chain.pem;" in (copy / "nginx.conf"
                                                                       ).read_text()
    assert check_rules(certlint, str(copy / "nginx.conf")) == []


def test_no_ocsp_url_fix_turns_stapling_off(tmp_path, certlint):
    conf = tree(tmp_path, "        ssl_stapling on;", ocsp=False)
    assert check_rules(certlint, conf) == ["stapling-no-ocsp-url"]
    wrote = fix(certlint, conf, "--write")
    assert wrote.exit_code == 0, wrote.output
    assert "        ssl_stapling off;\n" in open(conf).read()
    assert check_rules(certlint, conf) == []


def test_issuer_missing_and_incomplete_chain_fixed_together(tmp_path, certlint):
    conf = tree(tmp_path, "        ssl_stapling on;\n        resolver 127.0.0.53;",
                cert="leaf.pem")
    assert sorted(check_rules(certlint, conf)) == ["chain-incomplete", "stapling-issuer-missing"]
    wrote = fix(certlint, conf, "--write", "--offline", "--intermediates",
                str(tmp_path / "inters"))
    assert wrote.exit_code == 0, wrote.output
    assert check_rules(certlint, conf) == []
    assert servers.nginx_test(conf, state_dir=str(tmp_path)).ok


def test_fix_json_lists_stapling_fixes(tmp_path, certlint):
    conf = tree(tmp_path, "        ssl_stapling on;")
    result = fix(certlint, conf, "--format", "json", "--resolver", "127.0.0.1")
    payload = json.loads(result.stdout)
    assert [f["rule"] for f in payload["fixed"]] == ["stapling-no-resolver"]
    assert payload["remaining"] == []
