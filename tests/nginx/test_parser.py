"""nginx parsing as users meet it: --root over a checked-out /etc/nginx, Debian's
sites-enabled symlinks and globs, suppressions inside included files, dumps from other hosts."""

from __future__ import annotations

import os
import shutil

from tests.support import servers
from tests.support.paths import REPO

FIXTURES = os.path.join(REPO, "fixtures")
PKI = os.path.join(FIXTURES, "pki")
ROOT_PEM = os.path.join(PKI, "root.pem")
LEAF = os.path.join(PKI, "leaf.pem")
KEY = os.path.join(PKI, "demo-keys", "leaf.key")


def etc_nginx(base) -> str:
    """A Debian-shaped tree under base/etc/nginx naming everything by absolute /etc paths."""
    etc = base / "etc" / "nginx"
    for d in ("sites-available", "sites-enabled", "snippets", "conf.d", "ssl"):
        (etc / d).mkdir(parents=True)
    shutil.copy(os.path.join(PKI, "leaf.pem"), etc / "ssl" / "a.pem")
    shutil.copy(os.path.join(PKI, "fullchain.pem"), etc / "ssl" / "b.pem")
    shutil.copy(os.path.join(PKI, "demo-keys", "leaf.key"), etc / "ssl" / "leaf.key")
    (etc / "nginx.conf").write_text(
        "events {}\nhttp {\n    include /etc/nginx/conf.d/*.conf;\n"
        "    include /etc/nginx/sites-enabled/*;\n}\n")
    (etc / "snippets" / "tls.conf").write_text(
        "ssl_certificate_key /etc/nginx/ssl/leaf.key;\n")
    for name, cert in (("a", "a.pem"), ("b", "b.pem"), ("c-disabled", "missing.pem")):
        host = "www.example.test" if name == "b" else "example.test"
        (etc / "sites-available" / name).write_text(
            f"server {{\n    listen 443 ssl;\n    server_name {host};\n"
            f"    ssl_certificate /etc/nginx/ssl/{cert};\n"
            "    include /etc/nginx/snippets/tls.conf;\n}\n")
    for name in ("a", "b"):
        os.symlink(f"/etc/nginx/sites-available/{name}", etc / "sites-enabled" / name)
    (etc / "sites-enabled" / "old.d").mkdir()  # a directory a glob matches: skipped
    return str(etc / "nginx.conf")


def test_root_resolves_absolute_paths_and_debian_symlinks(tmp_path, certlint):
    """Debian's sites-enabled links point at /etc/nginx/sites-available/...: under --root they
    are followed into the checkout (never to this host's /etc), and shown by the link's path."""
    entry = etc_nginx(tmp_path)
    code, payload = certlint.json(entry, "--root", str(tmp_path), "--ca-bundle", ROOT_PEM)
    got = sorted((f["rule"], os.path.relpath(f["path"], tmp_path), f["line"], f["site"])
                 for f in payload["findings"])
    # a.example.test serves its leaf only; the directory the glob matches stops nginx; the
    # disabled site (missing file) is not read at all; b is fine
    assert got == [
        ("chain-incomplete", "etc/nginx/sites-available/a", 4, "example.test:443"),
        ("config-error", "etc/nginx/nginx.conf", 4, ""),
    ], got
    assert code == 1


def test_root_maps_a_missing_certificate_into_the_checkout(tmp_path, certlint):
    """With --root, a certificate the checkout lacks is reported under its /etc path's
    checkout location, not looked up on this host."""
    entry = etc_nginx(tmp_path)
    os.unlink(tmp_path / "etc" / "nginx" / "ssl" / "b.pem")
    for name in ("a", "b"):
        link = tmp_path / "etc" / "nginx" / "sites-enabled" / name
        link.unlink()
        link.symlink_to(f"../sites-available/{name}")
    _code, payload = certlint.json(entry, "--root", str(tmp_path), "--ca-bundle", ROOT_PEM)
    missing = [f for f in payload["findings"] if f["rule"] == "cert-file-missing"]
    assert len(missing) == 1 and "/etc/nginx/ssl/b.pem" in missing[0]["message"], missing
    assert missing[0]["path"].endswith("sites-available/b") and missing[0]["line"] == 4


def test_root_follows_absolute_certificate_links_into_the_checkout(tmp_path, certlint):
    entry = etc_nginx(tmp_path)
    ssl = tmp_path / "etc" / "nginx" / "ssl"
    os.rename(ssl / "b.pem", ssl / "b-2026.pem")
    os.symlink("/etc/nginx/ssl/b-2026.pem", ssl / "b.pem")  # absolute, as on the server
    code, payload = certlint.json(entry, "--root", str(tmp_path), "--ca-bundle", ROOT_PEM)
    assert not [f for f in payload["findings"] if f["rule"] == "cert-file-missing"], payload


def test_suppression_inside_an_included_snippet_applies_to_every_includer(tmp_path, certlint):
    (tmp_path / "tls.conf").write_text(
        f"# certlint: disable-next-line=chain-incomplete\nssl_certificate {PKI}/leaf.pem;\n"
        f"ssl_certificate_key {PKI}/demo-keys/leaf.key;\n")
    (tmp_path / "nginx.conf").write_text(
        "events {}\nhttp {\n"
        + "".join(f"    server {{ listen {p} ssl; server_name example.test; "
                  "include tls.conf; }\n" for p in (443, 8443))
        + "}\n")
    code, payload = certlint.json(str(tmp_path / "nginx.conf"), "--ca-bundle", ROOT_PEM)
    assert payload["findings"] == [] and code == 0


def test_dump_from_another_host_with_root(tmp_path, certlint):
    """`nginx -T` pasted from a server: its paths are the server's; --root maps them onto a
    checkout of that server's files."""
    etc_nginx(tmp_path)
    for name in ("a", "b"):
        link = tmp_path / "etc" / "nginx" / "sites-enabled" / name
        link.unlink()
        link.symlink_to(f"../sites-available/{name}")
    nginx = servers.require("nginx")
    import subprocess

    # run nginx -T on the checkout as if it were /etc/nginx: rewrite /etc/nginx -> checkout
    real = tmp_path / "real"
    shutil.copytree(tmp_path / "etc", real / "etc", symlinks=True)
    (real / "etc" / "nginx" / "sites-enabled" / "old.d").rmdir()  # nginx -T would refuse
    for dirpath, _dirs, files in os.walk(real):
        for f in files:
            p = os.path.join(dirpath, f)
            if not os.path.islink(p) and (p.endswith(".conf") or "sites-" in p):
                text = open(p).read().replace("/etc/nginx", f"{real}/etc/nginx")
                open(p, "w").write(text)
    proc = subprocess.run([nginx, "-T", "-c", f"{real}/etc/nginx/nginx.conf",
                           "-e", str(tmp_path / "e.log"), "-g", f"pid {tmp_path}/n.pid;"],
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    dump = proc.stdout.replace(f"{real}/etc/nginx", "/etc/nginx")  # as the server printed it
    (tmp_path / "dump.txt").write_text(dump)
    code, payload = certlint.json(str(tmp_path / "dump.txt"), "--server", "nginx",
                                  "--root", str(tmp_path), "--ca-bundle", ROOT_PEM)
    rules = sorted((f["rule"], f["path"], f["line"]) for f in payload["findings"])
    assert rules == [("chain-incomplete", "/etc/nginx/sites-enabled/a", 4)], rules
    assert not any(r[0] == "cert-file-missing" for r in rules), rules


def test_stream_tls_servers_are_sites_too(tmp_path, certlint):
    """TLS terminated in `stream` (mail/DB proxies) serves certificates like http does; the
    stream module is dynamic and absent here, so this is certlint's word alone."""
    (tmp_path / "nginx.conf").write_text(
        "events {}\nstream {\n    ssl_certificate_key " + KEY + ";\n"
        "    server {\n        listen 6379 ssl;\n        ssl_certificate " + LEAF + ";\n"
        "        proxy_pass 127.0.0.1:6380;\n    }\n}\n")
    code, payload = certlint.json(str(tmp_path / "nginx.conf"), "--ca-bundle", ROOT_PEM)
    assert [(f["rule"], f["line"], f["site"]) for f in payload["findings"]] == [
        ("chain-incomplete", 6, "_:6379")], payload["findings"]
