"""Where findings point (issue 12, item 5): the real 1-based column of the directive name (nginx
and Apache), and for a file reached through a symbolic link, the link's target (the file a
change must edit, as `fix` edits it), with the link named in the message; `fix --patch` and the
findings agree on the file."""

from __future__ import annotations

import os
import subprocess

from tests.support import servers
from tests.support.pki import StandardPKI, cert_pem, write


def nginx_tree(folder, server_text: str, pki: StandardPKI) -> str:
    write(os.path.join(folder, "site.pem"), cert_pem(pki.leaf.cert))  # leaf only
    write(os.path.join(folder, "site.key"), pki.leaf.key_pem, 0o600)
    return write(os.path.join(folder, "nginx.conf"),
                 ("events {}\nhttp {\n" + server_text + "}\n").encode())


def test_nginx_columns_are_those_of_the_directive_name(tmp_path, certlint):
    pki = StandardPKI.make("example.test")
    conf = nginx_tree(tmp_path, (
        "    server {\n        listen 443 ssl;\n        server_name example.test;\n"
        "\tssl_certificate site.pem;\n        ssl_certificate_key site.key;\n    }\n"
        "    server { listen 8443 ssl; server_name other.test; ssl_certificate_key site.key; "
        "ssl_certificate site.pem; }\n"), pki)
    root = write(tmp_path / "root.pem", pki.root.pem)
    _code, payload = certlint.json("--ca-bundle", root, conf)
    where = {(f["rule"], f["site"]): (f["line"], f["column"]) for f in payload["findings"]}
    assert where[("chain-incomplete", "example.test:443")] == (6, 2)  # after one tab
    line = open(conf).read().splitlines()[8]
    assert where[("chain-incomplete", "other.test:8443")] == (
        9, line.index("ssl_certificate site.pem") + 1)
    assert where[("hostname-mismatch", "other.test:8443")][0] == 9
    text = certlint("check", "--ca-bundle", root, conf).stdout
    assert f"{conf}:6:2: chain-incomplete" in text


def test_apache_columns_are_those_of_the_directive_name(tmp_path, certlint):
    pki = StandardPKI.make("example.test")
    write(tmp_path / "site.pem", cert_pem(pki.leaf.cert))
    write(tmp_path / "site.key", pki.leaf.key_pem, 0o600)
    root = write(tmp_path / "root.pem", pki.root.pem)
    conf = write(tmp_path / "httpd.conf", (
        f"ServerRoot {tmp_path}\nListen 443\n<VirtualHost *:443>\n"
        "  ServerName example.test\n  SSLEngine on\n"
        "      sslcertificatefile site.pem\n  SSLCertificateKeyFile site.key\n"
        "</VirtualHost>\n").encode())
    _code, payload = certlint.json("--server", "apache", "--ca-bundle", root, conf)
    chain = [f for f in payload["findings"] if f["rule"] in ("chain-incomplete",
                                                             "apache-chain-file-missing")]
    assert chain and all((f["line"], f["column"]) == (6, 7) for f in chain), chain


def test_config_errors_point_at_the_first_character_of_the_line(tmp_path, certlint):
    conf = write(tmp_path / "nginx.conf", b"events {}\nhttp {\n    include missing/*.conf;\n"
                                          b"      include nothere.conf;\n}\n")
    _code, payload = certlint.json(conf)
    errors = [(f["line"], f["column"]) for f in payload["findings"]]
    assert errors == [(4, 7)]  # a glob matching nothing is fine; a missing file is not


def debian_tree(tmp_path, pki: StandardPKI, absolute_link: bool):
    """etc/nginx with sites-available/shop.conf and sites-enabled/shop.conf linking to it."""
    etc = tmp_path / "repo" / "etc" / "nginx"
    write(etc / "certs" / "shop.pem", cert_pem(pki.leaf.cert))  # leaf only: fixable
    write(etc / "certs" / "shop.key", pki.leaf.key_pem, 0o600)
    write(etc / "certs" / "chain.pem", pki.inter.pem)
    write(etc / "sites-available" / "shop.conf", (
        b"server {\n    listen 443 ssl;\n    server_name example.test;\n"
        b"    ssl_certificate /etc/nginx/certs/shop.pem;\n"
        b"    ssl_certificate_key /etc/nginx/certs/shop.key;\n}\n"))
    (etc / "sites-enabled").mkdir()
    target = "/etc/nginx/sites-available/shop.conf" if absolute_link else \
        "../sites-available/shop.conf"
    os.symlink(target, etc / "sites-enabled" / "shop.conf")
    conf = write(etc / "nginx.conf", b"events {}\nhttp {\n"
                                     b"    include /etc/nginx/sites-enabled/*;\n}\n")
    root = write(tmp_path / "root.pem", pki.root.pem)
    return conf, root, etc


def test_finding_through_a_symlink_names_its_target_and_the_link(tmp_path, certlint):
    for absolute in (False, True):
        base = tmp_path / ("abs" if absolute else "rel")
        pki = StandardPKI.make("example.test")
        conf, root, etc = debian_tree(base, pki, absolute)
        _code, payload = certlint.json("--root", base / "repo", "--ca-bundle", root, conf)
        [finding] = payload["findings"]
        assert finding["path"] == str(etc / "sites-available" / "shop.conf"), absolute
        assert (finding["line"], finding["column"]) == (4, 5)
        assert finding["message"].endswith(
            " (in /etc/nginx/sites-available/shop.conf, reached through the symbolic link "
            "/etc/nginx/sites-enabled/shop.conf)")


def test_fix_patch_and_findings_agree_on_the_file(tmp_path, certlint, monkeypatch):
    pki = StandardPKI.make("example.test")
    conf, root, etc = debian_tree(tmp_path, pki, absolute_link=False)
    repo = tmp_path / "repo"
    monkeypatch.chdir(repo)
    _code, payload = certlint.json("--root", ".", "--ca-bundle", root, conf)
    patch = tmp_path / "fix.patch"
    result = certlint("fix", "--offline", "--root", ".", "--ca-bundle", root, "--patch", patch,
                      conf)
    assert result.exit_code == 0, result.output
    edited = [line[len("diff --git a/"):].split(" b/")[0]
              for line in patch.read_text().splitlines() if line.startswith("diff --git a/")]
    [finding] = payload["findings"]
    assert os.path.join(repo, edited[0]) == finding["path"]
    assert "certlint: 1 in the patch, 0 remain" in result.stderr
    # the patch applies and the edited, linked site then passes nginx -t and certlint
    subprocess.run(["git", "apply", str(patch)], cwd=repo, check=True)
    assert os.path.islink(etc / "sites-enabled" / "shop.conf")
    code, after = certlint.json("--root", ".", "--ca-bundle", root, conf)
    assert (code, after["findings"]) == (0, [])
    test_conf = write(tmp_path / "nginx-test.conf", (
        "events {}\nhttp {\n" + open(etc / "sites-available" / "shop.conf").read()
        .replace("/etc/nginx/", f"{etc}/") + "}\n").encode())
    assert servers.nginx_test(test_conf, state_dir=str(tmp_path)).ok
