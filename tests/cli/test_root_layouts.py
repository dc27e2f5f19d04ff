"""Real-world layouts checked out into an infra repo and linted with --root: certbot's
live/ -> archive/ links and Debian's absolute sites-enabled links."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.support.paths import REPO

FIXTURE_PKI = os.path.join(REPO, "fixtures", "pki")

NGINX_CONF = """events {}
http {
    include /etc/nginx/sites-enabled/*;
}
"""

SITE = """server {
    listen 443 ssl;
    server_name example.test www.example.test;
    ssl_certificate /etc/letsencrypt/live/example.test/cert.pem; # managed by Certbot
    ssl_certificate_key /etc/letsencrypt/live/example.test/privkey.pem; # managed by Certbot
}
"""


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch, certlint):
    monkeypatch.setenv("CERTLINT_CACHE_DIR", str(tmp_path / "aia-cache"))
    certlint.workstation()  # loopback AIA allowed, as outside CI (network/test_fetch.py)


def _pki(name: str) -> bytes:
    with open(os.path.join(FIXTURE_PKI, name), "rb") as fh:
        return fh.read()


def make_repo(tmp_path, absolute_link: bool) -> str:
    """An infra repo holding etc/nginx and etc/letsencrypt the way certbot and Debian leave
    them; returns the repo folder (the --root)."""
    repo = tmp_path / "repo"
    archive = repo / "etc/letsencrypt/archive/example.test"
    live = repo / "etc/letsencrypt/live/example.test"
    archive.mkdir(parents=True)
    live.mkdir(parents=True)
    leaf, inter = _pki("leaf.pem"), _pki("inter.pem")
    (archive / "cert1.pem").write_bytes(leaf)
    (archive / "chain1.pem").write_bytes(inter)
    (archive / "fullchain1.pem").write_bytes(leaf + inter)
    shutil.copy(os.path.join(FIXTURE_PKI, "demo-keys", "leaf.key"), archive / "privkey1.pem")
    for name in ("cert", "chain", "fullchain", "privkey"):
        os.symlink(f"../../archive/example.test/{name}1.pem", live / f"{name}.pem")
    nginx = repo / "etc/nginx"
    (nginx / "sites-available").mkdir(parents=True)
    (nginx / "sites-enabled").mkdir()
    (nginx / "nginx.conf").write_text(NGINX_CONF)
    (nginx / "sites-available/example.test").write_text(SITE)
    target = ("/etc/nginx/sites-available/example.test" if absolute_link
              else "../sites-available/example.test")
    os.symlink(target, nginx / "sites-enabled/example.test")
    return str(repo)


def fix(certlint, repo, *args):
    return certlint("fix", "--offline", "--root", repo, "--ca-bundle",
                    os.path.join(FIXTURE_PKI, "root.pem"),
                    os.path.join(repo, "etc/nginx/nginx.conf"), *args)


@pytest.mark.parametrize("absolute_link", [False, True])
def test_certbot_cert_pem_becomes_its_fullchain_pem_under_root(tmp_path, certlint,
                                                               absolute_link):
    repo = make_repo(tmp_path, absolute_link)
    result = fix(certlint, repo, "--write")
    assert result.exit_code == 0, result.output
    site = os.path.join(repo, "etc/nginx/sites-available/example.test")
    with open(site) as fh:
        text = fh.read()
    # the config names certbot's own fullchain.pem, which renews with the certificate;
    # no file is invented in archive/ (the path the config would name does not exist)
    assert "ssl_certificate /etc/letsencrypt/live/example.test/fullchain.pem; # managed" in text
    assert sorted(os.listdir(os.path.join(repo, "etc/letsencrypt/archive/example.test"))) == [
        "cert1.pem", "chain1.pem", "fullchain1.pem", "privkey1.pem"]
    # the sites-enabled link is still a link to the edited file
    link = os.path.join(repo, "etc/nginx/sites-enabled/example.test")
    assert os.path.islink(link)
    code, payload = certlint.json("--root", repo, "--ca-bundle",
                                  os.path.join(FIXTURE_PKI, "root.pem"),
                                  os.path.join(repo, "etc/nginx/nginx.conf"))
    assert (code, payload["findings"]) == (0, [])


def test_absolute_sites_enabled_link_under_root_is_fixable(tmp_path, certlint):
    """Debian's `ln -s /etc/nginx/sites-available/x sites-enabled/`: with --root the fix edits
    the checked-out target, not the host's /etc (which does not hold it)."""
    repo = make_repo(tmp_path, absolute_link=True)
    result = fix(certlint, repo)
    assert "cannot read" not in result.output
    assert "+    ssl_certificate /etc/letsencrypt/live/example.test/fullchain.pem;" in \
        result.stdout
    assert "--- a/etc/nginx/sites-available/example.test" in result.stdout


def test_debian_default_site_is_labelled_by_its_tls_port(tmp_path, certlint):
    """Debian's default site listens on 80 first and on [::]:443 ssl later: findings name the
    TLS endpoint, not port 80 (which serves no certificate)."""
    conf = tmp_path / "nginx.conf"
    conf.write_text(f"""events {{}}
http {{
    server {{
        listen 80 default_server;
        listen [::]:80 default_server;
        listen [::]:443 ssl default_server;
        server_name _;
        ssl_certificate {FIXTURE_PKI}/selfsigned.pem;
        ssl_certificate_key {FIXTURE_PKI}/demo-keys/selfsigned.key;
    }}
}}
""")
    code, payload = certlint.json(str(conf))
    assert code == 1
    assert {f["site"] for f in payload["findings"]} == {"_:443"}


def test_module_links_out_of_the_checkout_are_a_warning_at_the_include(tmp_path, certlint):
    """Debian's modules-enabled/*.conf link to /usr/share/nginx/modules-available/, which an
    infra repo holding /etc does not contain: a warning naming the link, not an error on a
    file that is not there."""
    repo = make_repo(tmp_path, absolute_link=False)
    nginx = os.path.join(repo, "etc/nginx")
    with open(os.path.join(nginx, "nginx.conf"), "w") as fh:
        fh.write("include /etc/nginx/modules-enabled/*.conf;\n" + NGINX_CONF)
    os.mkdir(os.path.join(nginx, "modules-enabled"))
    os.symlink("/usr/share/nginx/modules-available/mod-stream.conf",
               os.path.join(nginx, "modules-enabled/50-mod-stream.conf"))
    code, payload = certlint.json("--root", repo, "--ca-bundle",
                                  os.path.join(FIXTURE_PKI, "root.pem"),
                                  os.path.join(nginx, "nginx.conf"))
    config = [f for f in payload["findings"] if f["rule"] == "config-error"]
    assert [(f["severity"], f["line"], os.path.relpath(f["path"], repo)) for f in config] == [
        ("warning", 1, "etc/nginx/nginx.conf")]
    assert "links to /usr/share/nginx/modules-available/mod-stream.conf" in config[0]["message"]


def test_absolute_certificate_link_under_root_gets_its_fullchain_where_the_config_looks(
        tmp_path, certlint):
    """/etc/ssl/certs/site.pem -> /srv/tls/site.pem (an absolute link, checked out too): the new
    full chain file is written where the edited directive will look for it."""
    repo = tmp_path / "repo"
    (repo / "srv/tls").mkdir(parents=True)
    (repo / "etc/ssl/certs").mkdir(parents=True)
    (repo / "etc/nginx").mkdir(parents=True)
    (repo / "srv/tls/site.pem").write_bytes(_pki("leaf.pem"))
    (repo / "srv/tls/chain.pem").write_bytes(_pki("inter.pem"))
    shutil.copy(os.path.join(FIXTURE_PKI, "demo-keys", "leaf.key"), repo / "srv/tls/site.key")
    os.symlink("/srv/tls/site.pem", repo / "etc/ssl/certs/site.pem")
    conf = repo / "etc/nginx/nginx.conf"
    conf.write_text("""events {}
http {
    server {
        listen 443 ssl;
        server_name example.test;
        ssl_certificate /etc/ssl/certs/site.pem;
        ssl_certificate_key /srv/tls/site.key;
    }
}
""")
    result = certlint("fix", "--offline", "--write", "--root", str(repo), "--ca-bundle",
                      os.path.join(FIXTURE_PKI, "root.pem"), str(conf))
    assert result.exit_code == 0, result.output
    assert "ssl_certificate /etc/ssl/certs/site.fullchain.pem;" in conf.read_text()
    assert os.path.isfile(repo / "etc/ssl/certs/site.fullchain.pem")
    code, payload = certlint.json("--root", str(repo), "--ca-bundle",
                                  os.path.join(FIXTURE_PKI, "root.pem"), str(conf))
    assert (code, payload["findings"]) == (0, [])


def test_absolute_entry_point_with_root_is_the_checkouts_copy(tmp_path, certlint):
    """`certlint check --root repo /etc/nginx/nginx.conf` lints repo/etc/nginx/nginx.conf,
    not this machine's nginx.conf (which may exist, with other sites)."""
    repo = make_repo(tmp_path, absolute_link=True)
    code, payload = certlint.json("--root", repo, "--ca-bundle",
                                  os.path.join(FIXTURE_PKI, "root.pem"),
                                  "/etc/nginx/nginx.conf")
    assert code == 1
    assert [(f["rule"], os.path.relpath(f["path"], repo)) for f in payload["findings"]] == [
        ("chain-incomplete", "etc/nginx/sites-available/example.test")]


def test_absolute_entry_folder_with_root_is_the_checkouts_copy(tmp_path, certlint):
    repo = make_repo(tmp_path, absolute_link=True)
    code, payload = certlint.json("--root", repo, "--ca-bundle",
                                  os.path.join(FIXTURE_PKI, "root.pem"), "/etc/nginx")
    assert code == 1
    assert [(f["rule"], os.path.relpath(f["path"], repo)) for f in payload["findings"]] == [
        ("chain-incomplete", "etc/nginx/sites-available/example.test")]
