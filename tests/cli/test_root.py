"""Never read this machine's files by accident (issue 12, item 2): an entry point in a checkout
whose config names absolute paths gets its --root inferred (said on standard error) or is
refused with exit code 2 naming --root; with --root, an absolute path is never read from the
host, and an entry point missing under the root is exit code 2, not this machine's file."""

from __future__ import annotations

import os

from tests.support.pki import StandardPKI, cert_pem, write


def nginx_checkout(tmp_path, cert="/etc/nginx/certs/site.pem"):
    """repo/etc/nginx/nginx.conf including /etc/nginx/sites/*.conf, as a checkout of /etc."""
    pki = StandardPKI.make("example.test")
    etc = tmp_path / "repo" / "etc" / "nginx"
    write(etc / "certs" / "site.pem", cert_pem(pki.leaf.cert))  # leaf only
    write(etc / "certs" / "site.key", pki.leaf.key_pem, 0o600)
    write(etc / "sites" / "site.conf", (
        "server {\n    listen 443 ssl;\n    server_name example.test;\n"
        f"    ssl_certificate {cert};\n    ssl_certificate_key /etc/nginx/certs/site.key;\n"
        "}\n").encode())
    conf = write(etc / "nginx.conf", b"events {}\nhttp {\n    include /etc/nginx/sites/*.conf;"
                                     b"\n}\n")
    root = write(tmp_path / "root.pem", pki.root.pem)
    return conf, root


def test_root_inferred_from_a_checkout_of_etc_and_said_on_stderr(tmp_path, certlint):
    conf, root = nginx_checkout(tmp_path)
    result = certlint("check", "--format", "json", "--ca-bundle", root, conf)
    assert result.exit_code == 1, result.output
    assert result.stderr == (
        f"certlint: {conf} names /etc/nginx/sites/*.conf: reading it and every absolute path "
        f"under {tmp_path / 'repo'} (the root inferred from where nginx.conf lies; pass --root "
        "to choose another)\n")
    inferred = certlint("check", "--format", "json", "--ca-bundle", root, conf).stdout
    given = certlint("check", "--format", "json", "--ca-bundle", root, "--root",
                     tmp_path / "repo", conf).stdout
    assert inferred == given and '"chain-incomplete"' in given


def test_checkout_entry_naming_system_paths_elsewhere_is_exit_2_naming_root(tmp_path, certlint):
    # /etc/ssl/certs/ca-certificates.crt is on this machine: certlint would read it
    assert os.path.isfile("/etc/ssl/certs/ca-certificates.crt")
    conf = write(tmp_path / "repo" / "nginx.conf", (
        b"events {}\nhttp {\n    server {\n        listen 443 ssl;\n"
        b"        ssl_certificate /etc/ssl/certs/ca-certificates.crt;\n"
        b"        ssl_certificate_key /etc/ssl/private/site.key;\n    }\n}\n"))
    result = certlint("check", conf)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"certlint: {conf} names "
                                    "/etc/ssl/certs/ca-certificates.crt, which "
                                    "would be read from this machine")
    assert "pass --root DIR" in result.stderr and "--root / to read this machine's files" in (
        result.stderr)
    assert certlint("fix", conf).exit_code == 2
    # said on purpose: --root / reads this machine's files
    assert certlint("check", "--root", "/", conf).exit_code == 1


def test_apache_serverroot_of_a_checkout_is_inferred(tmp_path, certlint):
    conf = write(tmp_path / "etc/httpd-certlint-qa/conf/httpd.conf",
                 b'ServerRoot "/etc/httpd-certlint-qa"\n')
    result = certlint("check", "--format", "json", conf)
    assert result.exit_code == 0, result.output
    assert f"under {tmp_path} (the root inferred" in result.stderr


def test_with_root_an_absolute_path_is_never_read_from_the_host(tmp_path, certlint):
    """/etc/ssl/certs/ca-certificates.crt exists here, not under the root: cert-file-missing."""
    assert os.path.isfile("/etc/ssl/certs/ca-certificates.crt")
    conf, root = nginx_checkout(tmp_path, cert="/etc/ssl/certs/ca-certificates.crt")
    code, payload = certlint.json("--root", tmp_path / "repo", "--ca-bundle", root, conf)
    missing = [f for f in payload["findings"] if f["rule"] == "cert-file-missing"]
    assert code == 1 and len(missing) == 1
    assert "/etc/ssl/certs/ca-certificates.crt" in missing[0]["message"]


def test_root_given_and_entry_point_not_under_it_is_exit_2(tmp_path, certlint):
    (tmp_path / "repo").mkdir()
    result = certlint("check", "--root", tmp_path / "repo", "/etc/nginx/nginx.conf")
    assert result.exit_code == 2
    assert result.stderr == (
        f"certlint: /etc/nginx/nginx.conf: not in the tree under --root {tmp_path / 'repo'} "
        f"({tmp_path / 'repo/etc/nginx/nginx.conf'} does not exist); name the entry point "
        "inside the checkout, or pass --root / to check this machine's config\n")


def test_this_machines_own_config_is_read_as_it_is(tmp_path, certlint):
    """An entry point under /etc naming /etc paths is this host's config: no root inferred."""
    if not os.path.isfile("/etc/nginx/nginx.conf"):
        import pytest

        pytest.skip("no /etc/nginx/nginx.conf here")
    result = certlint("check", "/etc/nginx/nginx.conf")
    assert result.exit_code in (0, 1), result.output
    assert "inferred" not in result.stderr
