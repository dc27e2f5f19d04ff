"""Audit of `certlint fix` against issue 4/5 wording: what a user sees on the terminal and in
JSON, and Apache lines carrying `${VAR}` (Debian writes them everywhere) being edited, proven
with the real apache2 and `openssl s_client -verify_return_error`."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.support import servers
from tests.support.paths import REPO
from tests.support.pki import CA, StandardPKI, cert_pem, key_pem, write

ROOT = REPO


def run_cli(*args: str, cwd: str | None = None) -> subprocess.CompletedProcess:
    """`python -m certlint ...` with stdout and stderr on ONE pipe, as a terminal shows them."""
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "src"))
    return subprocess.run([sys.executable, "-m", "certlint", *map(str, args)], cwd=cwd,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                          timeout=120)


def apache_vhost_with_vars(tmp_path, vhost_extra: str = "") -> tuple[str, StandardPKI]:
    from tests.support.apache import modules

    pki = StandardPKI.make("example.test")
    folder = tmp_path / "conf"
    write(folder / "pki" / "site.pem", pki.leaf.pem)
    write(folder / "pki" / "site.key", pki.leaf.key_pem, 0o600)
    write(tmp_path / "inters" / "inter.pem", pki.inter.pem)
    write(tmp_path / "root.pem", pki.root.pem)
    text = (modules("mpm_event", "authz_core", "ssl") + f"Define PKI {folder}/pki\n"
            "ServerName localhost\nListen 443\n<VirtualHost *:443>\n"
            "    ServerName example.test\n    SSLEngine on\n"
            "    SSLCertificateFile ${PKI}/site.pem\n"
            "    SSLCertificateKeyFile ${PKI}/site.key\n" + vhost_extra + "</VirtualHost>\n")
    return write(folder / "apache2.conf", text.encode()), pki


def serve_and_verify(tmp_path, entry: str, state: str) -> servers.Result:
    from tests.support.apache import ApacheServer

    server = ApacheServer(entry, str(tmp_path / state))
    started = server.start()
    if not started.ok:
        return started
    try:
        return servers.s_client(server.port(443), "example.test", str(tmp_path / "root.pem"))
    finally:
        server.stop()


def test_old_apache_chain_file_line_goes_next_to_a_line_with_a_variable(tmp_path, certlint):
    """`SSLCertificateFile ${PKI}/site.pem`: the `{` of `${PKI}` is no block; the fix inserts
    `SSLCertificateChainFile ${PKI}/...` beside it, and real apache2 then serves a verified
    chain (before: s_client -verify_return_error fails)."""
    from tests.support.apache import apache_binary

    apache_binary()
    servers.require("openssl")
    entry, pki = apache_vhost_with_vars(tmp_path)
    before = serve_and_verify(tmp_path, entry, "before")
    assert not before.ok and "unable to" in before.output, before.output  # served, not verified

    result = certlint("fix", "--write", "--offline", "--server", "apache", "--apache-version",
                      "2.4.7", "--intermediates", tmp_path / "inters", "--ca-bundle",
                      tmp_path / "root.pem", entry)

    assert result.exit_code == 0, result.output
    assert "several statements" not in result.output
    text = open(entry).read()
    assert ("    SSLCertificateFile ${PKI}/site.pem\n"
            "    SSLCertificateChainFile ${PKI}/site.chain.pem\n") in text
    after = serve_and_verify(tmp_path, entry, "after")
    assert after.ok, after.output


def test_redundant_chain_file_named_with_a_variable_is_commented_out(tmp_path, certlint):
    """Apache 2.4.8+: the fullchain goes into SSLCertificateFile and the chain file line, written
    with `${PKI}`, is commented out instead of the site being refused."""
    from tests.support.apache import apache_binary

    apache_binary()
    servers.require("openssl")
    entry, pki = apache_vhost_with_vars(tmp_path, "    SSLCertificateChainFile ${PKI}/chain.pem\n")
    write(os.path.join(os.path.dirname(entry), "pki", "chain.pem"),
          cert_pem(pki.root.cert, pki.inter.cert))

    result = certlint("fix", "--write", "--offline", "--server", "apache", "--ca-bundle",
                      tmp_path / "root.pem", entry)

    assert result.exit_code == 0, result.output
    text = open(entry).read()
    assert "    SSLCertificateFile ${PKI}/site.fullchain.pem\n" in text
    assert "    # SSLCertificateChainFile ${PKI}/chain.pem\n" in text
    after = serve_and_verify(tmp_path, entry, "after")
    assert after.ok, after.output


def stapling_tree(tmp_path) -> str:
    root = CA("Audit Root")
    inter = root.intermediate("Audit Intermediate")
    leaf = inter.leaf("example.test", ocsp=["http://ocsp.example.test/"])
    write(tmp_path / "pki" / "leaf.pem", cert_pem(leaf.cert))
    write(tmp_path / "pki" / "leaf.key", key_pem(leaf.key), 0o600)
    write(tmp_path / "inters" / "inter.pem", inter.pem)
    write(tmp_path / "root.pem", root.pem)
    return write(tmp_path / "nginx.conf", b"""events {}
http {
    server {
        listen 443 ssl;
        server_name example.test;
        ssl_certificate pki/leaf.pem;
        ssl_certificate_key pki/leaf.key;
        ssl_stapling on;
        ssl_stapling_verify on;
    }
}
""")


def test_dry_run_text_keeps_diff_files_and_notes_on_lines_of_their_own(tmp_path):
    """stdout (diff, `would create`) and stderr (notes, summary) share one terminal: every
    message starts on a line of its own and the diff comes before the notes."""
    conf = stapling_tree(tmp_path)
    proc = run_cli("fix", "--offline", "--intermediates", "inters", "--ca-bundle", "root.pem",
                   "nginx.conf", cwd=str(tmp_path))
    assert proc.returncode == 1, proc.stdout  # changes pending
    lines = proc.stdout.splitlines()
    creates = [n for n, line in enumerate(lines) if line.startswith("would create ")]
    notes = [n for n, line in enumerate(lines) if line.startswith("certlint: ")]
    assert len(creates) == 2 and creates == sorted(creates)
    assert all(line.endswith(", mode 644)") for line in (lines[n] for n in creates))
    assert notes and min(notes) > max(creates)
    assert lines[0] == "--- a/nginx.conf"
    assert lines[-1].startswith("certlint: 3 fixable (dry run; --write applies), 0 remain")
    for line in lines:  # nothing glued: no message in the middle of another
        assert line.count("certlint: ") <= 1 and line.count("would create") <= 1, line
    assert open(conf).read().count("resolver") == 0


def test_fix_json_carries_every_plan_note_including_where_the_resolver_came_from(tmp_path):
    """`--format json`: the notes the text output prints on stderr are all in the payload,
    among them which nameserver the resolver fix took (/etc/resolv.conf without --resolver)."""
    stapling_tree(tmp_path)
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "src"))
    proc = subprocess.run([sys.executable, "-m", "certlint", "fix", "--format", "json",
                           "--offline", "--intermediates", "inters", "--ca-bundle", "root.pem",
                           "nginx.conf"], cwd=str(tmp_path), capture_output=True, text=True,
                          env=env, timeout=120)
    payload = json.loads(proc.stdout)
    notes = {n["rule"]: n["note"] for n in payload["notes"]}
    assert set(notes) == {"chain-incomplete", "stapling-issuer-missing", "stapling-no-resolver"}
    assert all(n["site"] == "example.test:443" for n in payload["notes"])
    resolver = notes["stapling-no-resolver"]
    if os.path.exists("/etc/resolv.conf") and "nameserver" in open("/etc/resolv.conf").read():
        assert "/etc/resolv.conf" in resolver
    assert resolver.startswith("resolver ")
    assert "Audit Intermediate" in notes["chain-incomplete"]

    given = subprocess.run([sys.executable, "-m", "certlint", "fix", "--format", "json",
                            "--offline", "--intermediates", "inters", "--ca-bundle", "root.pem",
                            "--resolver", "192.0.2.53", "nginx.conf"], cwd=str(tmp_path),
                           capture_output=True, text=True, env=env, timeout=120)
    notes = {n["rule"]: n["note"] for n in json.loads(given.stdout)["notes"]}
    assert "192.0.2.53" in notes["stapling-no-resolver"]
    assert "--resolver" in notes["stapling-no-resolver"]


def many_leaf_only_sites(tmp_path, count: int) -> str:
    pki = StandardPKI.make(*[f"s{n}.example.test" for n in range(count)])
    write(tmp_path / "pki" / "leaf.pem", pki.leaf.pem)
    write(tmp_path / "pki" / "leaf.key", pki.leaf.key_pem, 0o600)
    write(tmp_path / "inters" / "inter.pem", pki.inter.pem)
    write(tmp_path / "root.pem", pki.root.pem)
    body = "".join(f"    server {{\n        listen 443 ssl;\n"
                   f"        server_name s{n}.example.test;\n"
                   f"        ssl_certificate pki/leaf.pem;\n"
                   f"        ssl_certificate_key pki/leaf.key;\n    }}\n" for n in range(count))
    return write(tmp_path / "nginx.conf", ("events {}\nhttp {\n" + body + "}\n").encode())


def run_with_stderr_on_a_tty(args: list[str], cwd: str) -> tuple[int, str, str]:
    """The real command with stderr on a pseudo-terminal (stdout on a pipe, as in `| less`)."""
    import pty

    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "src"))
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "certlint", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=follower)
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    out = proc.stdout.read().decode()
    code = proc.wait(timeout=120)
    os.close(leader)
    return code, out, b"".join(chunks).decode().replace("\r\n", "\n")


def test_progress_on_stderr_only_when_it_is_a_terminal_and_many_sites_are_fixed(tmp_path):
    many_leaf_only_sites(tmp_path, 25)
    args = ["fix", "--write", "--offline", "--intermediates", "inters", "--ca-bundle", "root.pem",
            "nginx.conf"]
    code, out, err = run_with_stderr_on_a_tty(args, str(tmp_path))
    assert code == 0, out + err
    assert "site 1/25" in err and "site 25/25\n" in err
    assert "site " not in out  # progress never pollutes stdout
    summary = [line for line in err.split("\n") if " fixed, " in line]
    assert summary and summary[0].startswith("certlint: 25 fixed, 0 remain")  # own line

    again = many_leaf_only_sites(tmp_path / "piped", 25)
    piped = run_cli(*args[:-1], again, cwd=str(tmp_path / "piped"))
    assert piped.returncode == 0, piped.stdout
    assert "site 1/25" not in piped.stdout and "\r" not in piped.stdout


def test_few_sites_on_a_terminal_get_no_progress(tmp_path):
    many_leaf_only_sites(tmp_path, 3)
    code, out, err = run_with_stderr_on_a_tty(
        ["fix", "--offline", "--intermediates", "inters", "--ca-bundle", "root.pem",
         "nginx.conf"], str(tmp_path))
    assert code == 1  # dry run, changes pending
    assert "site 3/3" not in err and "\r" not in err
    assert "+        ssl_certificate pki/leaf.fullchain.pem;" in out


def test_resolver_option_only_takes_addresses_nginx_accepts(tmp_path, certlint):
    """`--resolver` goes verbatim into `resolver ... ;`: a value with spaces or `;` would have
    written a config nginx refuses (or an extra directive). Those are usage errors, the config
    is untouched; IPs, [IPv6], host names and :port are written and `nginx -t` accepts them."""
    conf = stapling_tree(tmp_path)
    before = open(conf).read()
    base = ("fix", "--write", "--offline", "--intermediates", tmp_path / "inters",
            "--ca-bundle", tmp_path / "root.pem")
    for bad in ("1.2.3.4;evil", "10.0.0.1 10.0.0.2", "not an ip", "1.2.3.4:99999", "[::1]x",
                "$host", "{}"):
        result = certlint(*base, "--resolver", bad, conf)
        assert result.exit_code == 2, (bad, result.output)
        assert "is not a resolver address" in result.output
        assert open(conf).read() == before
    result = certlint(*base, "--resolver", "127.0.0.1:5353", "--resolver", "::1",
                      "--resolver", "localhost", conf)
    assert result.exit_code == 0, result.output
    assert "resolver 127.0.0.1:5353 [::1] localhost valid=300s;" in open(conf).read()
    checked = servers.nginx_test(conf, state_dir=str(tmp_path))
    assert checked.ok, checked.output


def test_apache_leaf_only_site_verifies_after_fix_and_a_graceful_reload(tmp_path):
    """Issue 4: "after `certlint fix --write` and a reload, it passes" — on Apache too: a
    running apache2 (not restarted) serves the leaf only; after the fix, `apache2 -t` and a
    graceful restart (SIGUSR1, what `apachectl graceful` sends) it serves the full chain."""
    import signal
    import time

    from tests.support.apache import ApacheServer, apache_binary, apache_env, modules, remap_ports

    apache_binary()
    servers.require("openssl")
    pki = StandardPKI.make("example.test")
    write(tmp_path / "site.pem", pki.leaf.pem)
    write(tmp_path / "site.key", pki.leaf.key_pem, 0o600)
    write(tmp_path / "inters" / "inter.pem", pki.inter.pem)
    root = write(tmp_path / "root.pem", pki.root.pem)
    entry = write(tmp_path / "apache2.conf", (
        modules("mpm_event", "authz_core", "ssl") + "ServerName localhost\nListen 443\n"
        "<VirtualHost *:443>\n    ServerName example.test\n    SSLEngine on\n"
        "    SSLCertificateFile site.pem\n    SSLCertificateKeyFile site.key\n"
        "</VirtualHost>\n").encode())
    server = ApacheServer(entry, str(tmp_path / "state"))  # its copy of the config, ports mapped
    with open(tmp_path / "apache.out", "wb") as out:
        proc = subprocess.Popen(server.args("-DFOREGROUND"), stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, env=apache_env(entry, server.state))
    try:
        assert servers.wait_port(server.port(443)), open(tmp_path / "apache.out").read()
        before = servers.s_client(server.port(443), "example.test", root)
        assert not before.ok and "unable to" in before.output, before.output

        fixed = run_cli("fix", "--write", "--offline", "--intermediates", tmp_path / "inters",
                        "--ca-bundle", root, entry)
        assert fixed.returncode == 0, fixed.stdout
        assert "apachectl configtest && apachectl graceful" in fixed.stdout
        with open(server.conf, "w") as fh:  # the running server reads its mapped copy
            fh.write(remap_ports(open(entry).read(), server.ports))
        assert server.syntax().ok
        os.kill(proc.pid, signal.SIGUSR1)
        after = before
        for _ in range(40):
            time.sleep(0.25)
            after = servers.s_client(server.port(443), "example.test", root)
            if after.ok:
                break
        assert after.ok, after.output
        assert proc.poll() is None  # the same server, reloaded, not restarted
        assert "graceful restart" in open(server.error_log).read()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)
