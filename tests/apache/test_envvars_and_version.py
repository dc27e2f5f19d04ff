"""Audit of the Apache issue's wording: Debian's envvars read safely, `--apache-version` advice."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

from certlint.parsers.apache import read_envvars
from tests.support.paths import REPO

ROOT = REPO


def test_envvars_that_is_a_fifo_is_skipped_not_waited_on(tmp_path):
    """Nobody writes to the pipe: reading it would block forever."""
    fifo = tmp_path / "envvars"
    os.mkfifo(fifo)
    result: list[dict] = []
    reader = threading.Thread(target=lambda: result.append(read_envvars(str(fifo))), daemon=True)
    reader.start()
    reader.join(5)
    assert result == [{}]

    (tmp_path / "apache2.conf").write_text("ServerName localhost\n")
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "src"))
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "certlint", "check", "--server", "apache",
                           str(tmp_path / "apache2.conf")], capture_output=True, text=True,
                          env=env, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert time.monotonic() - started < 30
    assert "Traceback" not in proc.stderr


def test_envvars_that_is_a_device_or_huge_is_not_read(tmp_path):
    os.symlink("/dev/zero", tmp_path / "envvars")
    assert read_envvars(str(tmp_path / "envvars")) == {}
    big = tmp_path / "big"
    big.write_bytes(b"export APACHE_RUN_DIR=/x\n" + b"#" * (2 * 1024 * 1024))
    assert read_envvars(str(big)) == {}
    small = tmp_path / "small"
    small.write_text("export APACHE_RUN_DIR=/var/run/apache2\n")
    assert read_envvars(str(small)) == {"APACHE_RUN_DIR": "/var/run/apache2"}


def leaf_only_vhost(tmp_path) -> str:
    from tests.support.pki import StandardPKI, write

    pki = StandardPKI.make("example.test")
    write(tmp_path / "site.pem", pki.leaf.pem)
    write(tmp_path / "site.key", pki.leaf.key_pem, 0o600)
    write(tmp_path / "inters" / "inter.pem", pki.inter.pem)
    write(tmp_path / "root.pem", pki.root.pem)
    return write(tmp_path / "apache2.conf", (
        f"ServerRoot {tmp_path}\nListen 443\n<VirtualHost *:443>\n    ServerName example.test\n"
        "    SSLEngine on\n    SSLCertificateFile site.pem\n    SSLCertificateKeyFile site.key\n"
        "</VirtualHost>\n").encode())


def test_apache_version_check_advice_and_fix_agree(tmp_path, certlint):
    """What `check` advises is what `fix` does, on each side of 2.4.8; the forms `apache2 -v`
    (`Apache/2.4.58 (Debian)`) and the package manager (`2.4.62-1~deb12u2`) print work."""
    entry = leaf_only_vhost(tmp_path)
    fix_args = ("--offline", "--intermediates", tmp_path / "inters")
    for version, fullchain in (("2.4.7", False), ("2.4.8", True), ("Apache/2.4.58 (Debian)", True),
                               ("2.2.34", False), ("2.4.62-1~deb12u2", True),
                               ("2.4.6-99.el7", False)):
        _code, payload = certlint.json("--apache-version", version, "--ca-bundle",
                                       tmp_path / "root.pem", entry)
        message = " ".join(f["message"] for f in payload["findings"]
                           if f["rule"] == "apache-chain-file-missing")
        assert message, payload
        assert ("2.4.8" in message) and (("Either put the full chain" in message) == fullchain), (
            version, message)
        fixed = certlint("fix", "--apache-version", version, "--ca-bundle", tmp_path / "root.pem",
                         *fix_args, entry)
        assert fixed.exit_code == 1, fixed.output  # dry run: changes pending
        if fullchain:
            assert "+    SSLCertificateFile site.fullchain.pem" in fixed.stdout
        else:
            assert "+    SSLCertificateChainFile site.chain.pem" in fixed.stdout


def test_an_apache_version_that_picks_no_side_is_a_usage_error(tmp_path, certlint):
    entry = leaf_only_vhost(tmp_path)
    for command in ("check", "fix"):
        for version in ("2.4", "abc", "", "latest"):
            result = certlint(command, "--apache-version", version, entry)
            assert result.exit_code == 2, (command, version, result.output)
            assert "--apache-version" in result.output and "2.4.62" in result.output
            assert "Traceback" not in result.output


def test_debian_default_ssl_leaf_only_is_fixed_through_the_sites_enabled_link(tmp_path):
    """/etc/apache2 as apt installs it, default-ssl (tab-indented, aligned arguments) enabled by
    symlink and pointed at a leaf-only certificate: `s_client -verify_return_error` fails; after
    `certlint fix --write` the link is still a link, the real file is edited, and apache2
    serves a chain that verifies. A second run changes nothing."""


    from tests.support import servers
    from tests.support.apache import ApacheServer, apache_binary, debian_copy, remap_ports
    from tests.support.pki import StandardPKI, write

    apache_binary()
    servers.require("openssl")
    tree = debian_copy(tmp_path, ssl=True)
    pki = StandardPKI.make("example.test")
    write(tmp_path / "pki" / "site.pem", pki.leaf.pem)
    write(tmp_path / "pki" / "site.key", pki.leaf.key_pem, 0o600)
    write(tmp_path / "inters" / "inter.pem", pki.inter.pem)
    root = write(tmp_path / "root.pem", pki.root.pem)
    site = tree / "sites-available" / "default-ssl.conf"
    text = site.read_text()
    assert "\tSSLCertificateFile      /etc/ssl/certs/ssl-cert-snakeoil.pem" in text
    text = text.replace("/etc/ssl/certs/ssl-cert-snakeoil.pem", str(tmp_path / "pki/site.pem"))
    text = text.replace("/etc/ssl/private/ssl-cert-snakeoil.key", str(tmp_path / "pki/site.key"))
    ports: dict[int, int] = {}
    for rel in ("ports.conf", "sites-available/000-default.conf"):
        (tree / rel).write_text(remap_ports((tree / rel).read_text(), ports))
    site.write_text(remap_ports(text, ports))
    entry = str(tree / "apache2.conf")

    def verify(state: str) -> servers.Result:
        server = ApacheServer(entry, str(tmp_path / state), ports=dict(ports))
        started = server.start()
        if not started.ok:
            return started
        try:
            return servers.s_client(server.port(443), "example.test", root)
        finally:
            server.stop()

    before = verify("before")
    assert not before.ok and "unable to" in before.output, before.output  # served, not verified
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "src"))
    args = [sys.executable, "-m", "certlint", "fix", "--write", "--offline", "--intermediates",
            str(tmp_path / "inters"), "--ca-bundle", root, entry]
    # run where both trees live (the checkout): fix writes only inside it (SECURITY.md 1)
    proc = subprocess.run(args, capture_output=True, text=True, env=env, timeout=120,
                          cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert os.path.islink(tree / "sites-enabled" / "default-ssl.conf")
    fixed = site.read_text()
    assert f"\tSSLCertificateFile      {tmp_path}/pki/site.fullchain.pem\n" in fixed
    after = verify("after")
    assert after.ok, after.output
    again = subprocess.run(args, capture_output=True, text=True, env=env, timeout=120,
                           cwd=str(tmp_path))
    assert again.returncode == 0 and site.read_text() == fixed


def test_certificate_without_sslengine_on_an_https_port_is_reported_as_apache_behaves(
        tmp_path, certlint):
    """A certificate but no SSLEngine on an https port: real apache2 switches mod_ssl on when
    the vhost's address equals its Listen's (`Listen 443` + `*:443`), and answers plain HTTP
    when it does not (`Listen 127.0.0.1:443` + `*:443`: the vhost gets no https protocol).
    certlint says so (instead of "All good") in the second case, and stays quiet elsewhere."""
    from tests.support import servers
    from tests.support.apache import ApacheServer, apache_binary, modules

    apache_binary()
    servers.require("openssl")
    pki = os.path.join(ROOT, "fixtures", "pki")
    vhost = ("<VirtualHost *:{port}>\n    ServerName example.test\n"
             f"    SSLCertificateFile {pki}/fullchain.pem\n"
             f"    SSLCertificateKeyFile {pki}/demo-keys/leaf.key\n</VirtualHost>\n")
    head = modules("mpm_event", "authz_core", "ssl") + "ServerName localhost\n"

    plain = tmp_path / "plain" / "apache2.conf"
    plain.parent.mkdir()
    plain.write_text(head + "Listen 127.0.0.1:443\n" + vhost.format(port=443))
    result = certlint("check", "--server", "apache", plain)
    assert result.exit_code == 1
    assert "config-error" in result.output and "add `SSLEngine on`" in result.output
    with ApacheServer(str(plain), str(tmp_path / "state")) as server:
        hello = servers.s_client(server.port(443), "example.test",
                                 os.path.join(pki, "root.pem"))
    assert not hello.ok and "wrong version number" in hello.output, hello.output

    tls = tmp_path / "tls" / "apache2.conf"
    tls.parent.mkdir()
    tls.write_text(head + "Listen 443\n" + vhost.format(port=443))
    result = certlint("check", "--server", "apache", "--ca-bundle",
                      os.path.join(pki, "root.pem"), tls)
    assert result.exit_code == 0 and "1 TLS site checked" in result.output, result.output
    with ApacheServer(str(tls), str(tmp_path / "state-tls")) as server:
        hello = servers.s_client(server.port(443), "example.test",
                                 os.path.join(pki, "root.pem"))
    assert hello.ok, hello.output

    quiet = {
        "http-port": head + "Listen 8080\n" + vhost.format(port=8080),
        "engine-in-main": head + "Listen 443\nSSLEngine on\n" + vhost.format(port=443),
        "engine-off": head + "Listen 443\n" + vhost.format(port=443).replace(
            "    ServerName", "    SSLEngine off\n    ServerName"),
    }
    for case, text in quiet.items():
        conf = tmp_path / case / "apache2.conf"
        conf.parent.mkdir()
        conf.write_text(text)
        result = certlint("check", "--server", "apache", "--ca-bundle",
                          os.path.join(pki, "root.pem"), conf)
        assert "SSLEngine is not on" not in result.output, (case, result.output)


def test_incomplete_chain_file_is_named_with_the_certificate_file_and_fixed(tmp_path, certlint):
    """Two intermediates, SSLCertificateChainFile holds only the lower one: Apache sends leaf +
    I2 and clients fail. The finding says the two files together serve 2 certificates (not
    that SSLCertificateFile holds 2) and points at the chain file line; after `fix --write`
    the running config serves a chain `s_client -verify_return_error` accepts."""
    from tests.support import servers
    from tests.support.apache import ApacheServer, apache_binary, modules
    from tests.support.pki import CA, cert_pem, write

    apache_binary()
    servers.require("openssl")
    root = CA("Audit Two-Level Root")
    upper = root.intermediate("Audit Upper CA")
    lower = upper.intermediate("Audit Lower CA")
    leaf = lower.leaf("example.test")
    write(tmp_path / "site.pem", leaf.pem)
    write(tmp_path / "site.key", leaf.key_pem, 0o600)
    write(tmp_path / "chain.pem", cert_pem(lower.cert))
    write(tmp_path / "inters" / "upper.pem", upper.pem)
    root_pem = write(tmp_path / "root.pem", root.pem)
    entry = write(tmp_path / "apache2.conf", (
        modules("mpm_event", "authz_core", "ssl") + "ServerName localhost\nListen 443\n"
        "<VirtualHost *:443>\n    ServerName example.test\n    SSLEngine on\n"
        "    SSLCertificateFile site.pem\n    SSLCertificateKeyFile site.key\n"
        "    SSLCertificateChainFile chain.pem\n</VirtualHost>\n").encode())

    _code, payload = certlint.json("--server", "apache", "--ca-bundle", root_pem, entry)
    (incomplete,) = [f for f in payload["findings"] if f["rule"] == "chain-incomplete"]
    assert incomplete["message"].startswith(
        "site.pem with SSLCertificateChainFile chain.pem serve 2 certificates"), incomplete
    assert "CN=Audit Upper CA'" in incomplete["message"]
    chain_line = open(entry).read().splitlines().index("    SSLCertificateChainFile chain.pem")
    assert incomplete["line"] == chain_line + 1

    def verify(state: str) -> servers.Result:
        with ApacheServer(entry, str(tmp_path / state)) as server:
            return servers.s_client(server.port(443), "example.test", root_pem)

    before = verify("before")
    assert not before.ok and "unable to get local issuer certificate" in before.output
    fixed = certlint("fix", "--write", "--offline", "--server", "apache", "--intermediates",
                     tmp_path / "inters", "--ca-bundle", root_pem, entry)
    assert fixed.exit_code == 0, fixed.output
    after = verify("after")
    assert after.ok, after.output


def test_debian_site_enabled_without_mod_ssl_is_refused_as_apache_does(tmp_path, certlint):
    """`a2ensite default-ssl` without `a2enmod ssl`: apache2 refuses the config ("Invalid
    command 'SSLEngine' ...") at the first SSL line; certlint reports exactly that file:line
    (it used to report only the snakeoil certificate). After enabling mod_ssl the error goes."""
    import re

    from tests.support.apache import ApacheServer, apache_binary, debian_copy

    apache_binary()
    tree = debian_copy(tmp_path, ssl=False)
    entry = str(tree / "apache2.conf")

    refused = ApacheServer(entry, str(tmp_path / "state")).syntax()
    assert not refused.ok
    m = re.search(r"Syntax error on line (\d+) of (\S+):\s*Invalid command '(\w+)'",
                  refused.output)
    assert m, refused.output
    line, path, command = int(m[1]), m[2], m[3]
    # --root /: the copy names this machine's snakeoil certificate, as apache2 reads it
    result = certlint("check", "--server", "apache", "--root", "/", entry)
    errors = [ln for ln in result.output.splitlines() if " config-error " in ln]
    assert len(errors) == 1, result.output
    # apache2 names the sites-enabled link; certlint the file it leads to, and the link
    target = os.path.realpath(path)
    assert errors[0].startswith(f"{target}:{line}:2: config-error Invalid command '{command}'")
    assert errors[0].endswith(f"reached through the symbolic link {path})")
    assert "a2enmod ssl" in errors[0]

    for name in ("ssl.load", "ssl.conf", "socache_shmcb.load"):
        os.symlink(f"../mods-available/{name}", tree / "mods-enabled" / name)
    assert ApacheServer(entry, str(tmp_path / "state2")).syntax().ok
    assert "config-error" not in certlint("check", "--server", "apache", "--root", "/",
                                          entry).output
