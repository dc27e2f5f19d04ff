"""Audit of the core issue's wording: "A file is loaded once per run however many sites use it"
(counted at the open() calls, whichever module reads it)."""

from __future__ import annotations

import builtins
import collections
import io
import json
import os

from tests.support.paths import REPO
from tests.support.pki import StandardPKI, cert_pem, write
from tests.support.trees import nginx_server, nginx_site, write_nginx


def count_opens(monkeypatch, folder: str) -> collections.Counter:
    """Every open of a file under `folder`, by builtins.open, io.open or os.open."""
    opened: collections.Counter = collections.Counter()
    real_open, real_os_open = builtins.open, os.open

    def note(path):
        if isinstance(path, (str, bytes, os.PathLike)):
            text = os.path.realpath(os.fsdecode(path))
            if text.startswith(folder):
                opened[os.path.relpath(text, folder)] += 1

    def spy_open(file, *args, **kwargs):
        note(file)
        return real_open(file, *args, **kwargs)

    def spy_os_open(path, *args, **kwargs):
        note(path)
        return real_os_open(path, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", spy_open)
    monkeypatch.setattr(io, "open", spy_open)
    monkeypatch.setattr(os, "open", spy_os_open)
    return opened


def nginx_fleet(tmp_path, sites: int) -> str:
    pki = StandardPKI.make(*[f"s{n}.example.test" for n in range(sites)],
                           ocsp=["http://127.0.0.1:9/"])
    write(tmp_path / "pki" / "fullchain.pem", cert_pem(pki.leaf.cert, pki.inter.cert))
    write(tmp_path / "pki" / "leaf.key", pki.leaf.key_pem, 0o600)
    write(tmp_path / "pki" / "trusted.pem", cert_pem(pki.inter.cert, pki.root.cert))
    write(tmp_path / "root.pem", pki.root.pem)
    servers = []
    for n in range(sites):
        # three spellings of the same paths: relative, ./relative, absolute
        cert = ("pki/fullchain.pem", "./pki/fullchain.pem",
                str(tmp_path / "pki" / "fullchain.pem"))[n % 3]
        servers.append(nginx_server(cert, "pki/leaf.key", f"s{n}.example.test"))
    http = ("    ssl_stapling on;\n    ssl_stapling_verify on;\n    resolver 127.0.0.1;\n"
            "    ssl_trusted_certificate pki/trusted.pem;\n")
    return write_nginx(tmp_path / "nginx.conf", *servers, http_extra=http)


def test_each_certificate_and_key_file_is_opened_once_for_sixty_sites(tmp_path, certlint,
                                                                      monkeypatch):
    conf = nginx_fleet(tmp_path, 60)
    opened = count_opens(monkeypatch, str(tmp_path))

    code, payload = certlint.json("--server", "nginx", "--ca-bundle", tmp_path / "root.pem", conf)

    assert code == 0, payload["findings"][:3]
    assert opened["pki/fullchain.pem"] == 1, opened
    assert opened["pki/leaf.key"] == 1, opened
    assert opened["pki/trusted.pem"] == 1, opened
    assert opened["root.pem"] == 1, opened


def test_the_fixer_also_loads_each_file_once_per_run(tmp_path, certlint, monkeypatch):
    pki = StandardPKI.make(*[f"s{n}.example.test" for n in range(40)])
    write(tmp_path / "pki" / "leaf.pem", pki.leaf.pem)
    write(tmp_path / "pki" / "leaf.key", pki.leaf.key_pem, 0o600)
    write(tmp_path / "inters" / "inter.pem", pki.inter.pem)
    write(tmp_path / "root.pem", pki.root.pem)
    conf = write_nginx(tmp_path / "nginx.conf", *(
        nginx_server("pki/leaf.pem", "pki/leaf.key", f"s{n}.example.test") for n in range(40)))
    opened = count_opens(monkeypatch, str(tmp_path))

    result = certlint("fix", "--server", "nginx", "--offline", "--intermediates",
                      tmp_path / "inters", "--ca-bundle", tmp_path / "root.pem", conf)

    assert result.exit_code == 1, result.output  # dry run: 40 fixes pending
    assert "certlint: 40 fixable" in result.stderr
    assert opened["pki/leaf.pem"] == 1, opened
    assert opened["pki/leaf.key"] == 1, opened
    assert opened["inters/inter.pem"] == 1, opened


def traditional_key(key) -> bytes:
    """PKCS#1 (`BEGIN RSA PRIVATE KEY`) or SEC1 (`BEGIN EC PRIVATE KEY`): what older tools and
    `openssl genrsa`/`ecparam -genkey` write."""
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(serialization.Encoding.PEM,
                             serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption())


def key_format_tree(tmp_path, key_kind: str, wrong: bool) -> str:
    from tests.support import servers

    pki = StandardPKI.make("example.test", key_kind=key_kind)
    other = StandardPKI.make("example.test", key_kind=key_kind)
    write(tmp_path / "fullchain.pem", pki.fullchain())
    key = other.leaf.key if wrong else pki.leaf.key
    write(tmp_path / "site.key", traditional_key(key), 0o600)
    write(tmp_path / "root.pem", pki.root.pem)
    server = nginx_server("fullchain.pem", "site.key", listen="127.0.0.1:8443 ssl")
    return write(tmp_path / "nginx.conf", servers.nginx_conf(server, str(tmp_path)).encode())


def test_pkcs1_and_sec1_keys_are_read_and_matched_as_nginx_does(tmp_path, certlint):
    from tests.support import servers

    servers.require("nginx")
    for kind, marker in (("rsa", b"BEGIN RSA PRIVATE KEY"), ("ec", b"BEGIN EC PRIVATE KEY")):
        for wrong in (False, True):
            folder = tmp_path / f"{kind}-{wrong}"
            conf = key_format_tree(folder, kind, wrong)
            assert marker in open(folder / "site.key", "rb").read()
            code, payload = certlint.json("--server", "nginx", "--ca-bundle",
                                          folder / "root.pem", conf)
            rules = [f["rule"] for f in payload["findings"]]
            started = servers.nginx_test(conf)
            if wrong:
                assert rules == ["key-mismatch"], payload["findings"]
                assert not started.ok and "key values mismatch" in started.output
            else:
                assert rules == [] and code == 0, payload["findings"]
                assert started.ok, started.output
            dumped = json.dumps(payload)
            assert "PRIVATE KEY" not in dumped  # never key material


def test_a_quic_only_listen_makes_a_tls_site(tmp_path, certlint):
    """`listen 443 quic;` (HTTP/3, nginx 1.25+) with certificates inherited from http{}: the
    server is a TLS site and its certificate problems are reported (the nginx here predates
    QUIC, so this is certlint's reading of the config only)."""
    pki = StandardPKI.make("example.test")
    write(tmp_path / "leaf.pem", pki.leaf.pem)
    write(tmp_path / "leaf.key", pki.leaf.key_pem, 0o600)
    write(tmp_path / "root.pem", pki.root.pem)
    conf = write(tmp_path / "nginx.conf", b"""events {}
http {
    ssl_certificate leaf.pem;
    ssl_certificate_key leaf.key;
    server {
        listen 443 quic reuseport;
        server_name example.test;
    }
    server {
        listen 8443 http3;
        server_name h3.example.test;
    }
    server {
        listen 80;
        server_name plain.example.test;
    }
}
""")
    _code, payload = certlint.json("--server", "nginx", "--ca-bundle", tmp_path / "root.pem",
                                   conf)
    sites = sorted({f["site"] for f in payload["findings"] if f["rule"] == "chain-incomplete"})
    assert sites == ["example.test:443", "h3.example.test:8443"], payload["findings"]


def run_on_a_terminal(args: list[str], env_extra: dict | None = None) -> str:
    """The real `certlint` with stdout on a pseudo-terminal: what the user's terminal gets."""
    import pty
    import subprocess
    import sys

    root = REPO
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    env.update(PYTHONPATH=os.path.join(root, "src"), **(env_extra or {}))
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "certlint", *args], env=env,
                            stdout=follower, stderr=subprocess.DEVNULL)
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=60)
    os.close(leader)
    return b"".join(chunks).decode()


def test_text_output_is_coloured_only_on_a_terminal(tmp_path, certlint):
    import subprocess
    import sys

    pki = StandardPKI.make("example.test")
    conf = nginx_site(tmp_path, pki.leaf.pem, pki.leaf.key_pem, pki.root.pem)
    args = ["check", "--ca-bundle", str(tmp_path / "root.pem"), conf]
    shown = run_on_a_terminal(args)
    assert "chain-incomplete" in shown and "\033[31m" in shown  # red rule name on a TTY
    assert "\033[" not in run_on_a_terminal(args, {"NO_COLOR": "1"})
    root = REPO
    piped = subprocess.run([sys.executable, "-m", "certlint", *args], capture_output=True,
                           text=True, env=dict(os.environ, PYTHONPATH=os.path.join(root, "src")),
                           timeout=60)
    assert "chain-incomplete" in piped.stdout and "\033[" not in piped.stdout
    assert "\033[" in certlint(*args[:-1], "--color", conf).stdout


def test_certifi_roots_are_trusted_without_ca_bundle(tmp_path, certlint):
    """The trust store is certifi plus --ca-bundle: a certifi root served as-is is trusted, a
    private root is not until --ca-bundle names it."""
    import re

    import certifi
    from cryptography import x509

    from tests.support.pki import CA

    isrg = re.search(r"# Subject: CN=ISRG Root X1 .*?\n(-----BEGIN CERTIFICATE-----.*?"
                     r"-----END CERTIFICATE-----\n)", open(certifi.where()).read(), re.S)[1]
    assert "ISRG Root X1" in x509.load_pem_x509_certificate(isrg.encode()).subject.rfc4514_string()
    write(tmp_path / "public.pem", isrg.encode())
    own = CA("Audit Own Root")
    write(tmp_path / "own.pem", own.pem)
    write(tmp_path / "leaf.key", StandardPKI.make("example.test").leaf.key_pem, 0o600)
    conf = write_nginx(tmp_path / "nginx.conf", *(
        nginx_server(cert, "leaf.key", "_", listen=f"{port} ssl")
        for port, cert in ((443, "public.pem"), (8443, "own.pem"))))

    _code, payload = certlint.json("--server", "nginx", conf)
    untrusted = [f["site"] for f in payload["findings"] if f["rule"] == "chain-untrusted-root"]
    assert untrusted == ["_:8443"], payload["findings"]
    _code, payload = certlint.json("--server", "nginx", "--ca-bundle", tmp_path / "own.pem", conf)
    assert not [f for f in payload["findings"] if f["rule"] == "chain-untrusted-root"]


def test_json_output_has_exactly_the_documented_shape(tmp_path, certlint):
    """design.md's JSON contract: version, findings (rule, severity, path, line, column,
    message, site, fixable), summary counts; exit code 1 on an error, 2 for an unreadable
    entry point. An empty server name ("") is skipped, not reported as a mismatch."""
    pki = StandardPKI.make("example.test")
    conf = nginx_site(tmp_path, pki.leaf.pem, pki.leaf.key_pem, pki.root.pem,
                      name='"" example.test')
    result = certlint("check", "--format", "json", "--ca-bundle", tmp_path / "root.pem", conf)
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert set(payload) == {"version", "findings", "summary"}
    assert payload["summary"] == {"error": 1, "warning": 0, "info": 0}
    (finding,) = payload["findings"]  # the empty server name is skipped, not a mismatch
    assert set(finding) == {"rule", "severity", "path", "line", "column", "message", "site",
                            "fixable"}
    assert (finding["rule"], finding["severity"], finding["path"], finding["line"],
            finding["site"], finding["fixable"]) == (
        "chain-incomplete", "error", conf, 6, "example.test:443", False)
    # the leaf names no AIA URL and nothing beside it holds the issuer: `fix` cannot help
    # (a missing intermediate or a private root for --ca-bundle, issue 12)
    assert "names no AIA URL" in finding["message"]
    assert isinstance(finding["column"], int)
    missing = certlint("check", "--format", "json", str(tmp_path / "nope.conf"))
    assert missing.exit_code == 2 and "Traceback" not in missing.output


def test_a_folder_stands_for_the_entry_point_in_it(tmp_path, certlint):
    """`certlint check /etc/nginx` (or /etc/apache2, /etc/httpd) checks nginx.conf /
    apache2.conf / httpd.conf / conf/httpd.conf in it: the same findings as naming the file.
    A folder without one is a one-line usage error."""
    fixtures = os.path.join(REPO,
                            "fixtures")
    root = os.path.join(fixtures, "pki", "root.pem")
    for server, folder, entry in (("nginx", "leaf-only", "nginx.conf"),
                                  ("apache", "leaf-only", "apache2.conf")):
        case = os.path.join(fixtures, server, folder)
        by_file = certlint.json("--ca-bundle", root, os.path.join(case, entry))
        by_folder = certlint.json("--ca-bundle", root, case)
        assert by_folder == by_file and by_file[1]["findings"], (server, by_folder)

    rhel = tmp_path / "httpd"
    (rhel / "conf").mkdir(parents=True)
    (rhel / "conf" / "httpd.conf").write_text(open(os.path.join(
        fixtures, "apache", "leaf-only", "apache2.conf")).read().replace(
            "../../pki", os.path.join(fixtures, "pki")))
    _code, payload = certlint.json("--ca-bundle", root, rhel)
    assert [(f["rule"], f["path"]) for f in payload["findings"]] == [
        ("apache-chain-file-missing", str(rhel / "conf" / "httpd.conf"))]

    empty = tmp_path / "empty"
    empty.mkdir()
    for command in ("check", "fix"):
        result = certlint(command, empty)
        assert result.exit_code == 2
        assert "is a folder without an entry point" in result.output
        assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output


def test_out_of_range_options_are_usage_errors_not_internal_errors(tmp_path, certlint):
    """`--expiry-warn-days 100000000000` used to reach the rules and come back as "internal
    error in rule cert-expiring-soon: OverflowError"; odd dates and day counts are usage
    errors (exit 2) or work, never an internal error."""
    pki = StandardPKI.make("example.test")
    conf = nginx_site(tmp_path, pki.fullchain(), pki.leaf.key_pem, pki.root.pem,
                      cert_file="full.pem")
    for days in ("-5", "100000000000"):
        result = certlint("check", "--expiry-warn-days", days, conf)
        assert result.exit_code == 2 and "--expiry-warn-days" in result.output, result.output
    for args in (("--expiry-warn-days", "36500"), ("--now", "9999-12-31"),
                 ("--now", "0001-01-01"), ("--expiry-warn-days", "0")):
        result = certlint("check", "--ca-bundle", tmp_path / "root.pem", *args, conf)
        assert result.exit_code in (0, 1) and "internal error" not in result.output, (
            args, result.output)
    late = certlint("check", "--ca-bundle", tmp_path / "root.pem", "--now", "9999-12-31", conf)
    assert "cert-expired" in late.output


def test_a_certificate_on_a_plain_listen_443_is_reported_as_nginx_serves_it(tmp_path, certlint):
    """A server with its own certificate but `listen 443;` (no `ssl`): real nginx starts and
    speaks plain HTTP on the port, every TLS client fails. certlint used to say "All good: 1
    TLS site"; it now points at the listen line. Quiet look-alikes: `listen 443 ssl`, and
    another server on the same port with `listen 443 ssl` (nginx makes the socket TLS for
    both). Live runs use the same config with 443 moved to a free port."""
    from tests.support import servers

    servers.require("nginx")
    servers.require("openssl")
    pki = StandardPKI.make("example.test", "other.test")
    write(tmp_path / "full.pem", pki.fullchain())
    write(tmp_path / "leaf.key", pki.leaf.key_pem, 0o600)
    root = write(tmp_path / "root.pem", pki.root.pem)
    port = servers.free_port()

    def server(listen: str, name: str = "example.test") -> str:
        return (f"    server {{\n        {listen};\n        server_name {name};\n"
                "        ssl_certificate full.pem;\n        ssl_certificate_key leaf.key;\n"
                "    }\n")

    def check_and_serve(case: str, servers_text: str):
        conf = write(tmp_path / f"{case}.conf",
                     servers.nginx_conf(servers_text, str(tmp_path)).encode())
        result = certlint("check", "--server", "nginx", "--ca-bundle", root, conf)
        live = write(tmp_path / f"{case}-live.conf", open(conf).read().replace(
            "listen 443", f"listen 127.0.0.1:{port}").encode())
        with servers.NginxServer(live, port=port):
            hello = servers.s_client(port, "example.test", root)
        return conf, result, hello

    conf, flagged, hello = check_and_serve("plain", server("listen 443"))
    assert not hello.ok and "wrong version number" in hello.output, hello.output
    assert flagged.exit_code == 1
    line = open(conf).read().splitlines().index("        listen 443;") + 1
    assert f"plain.conf:{line}:9: config-error listen 443 has no `ssl`" in flagged.output
    assert "write `listen 443 ssl;`" in flagged.output

    for case, text in (("tls", server("listen 443 ssl")),
                       ("shared", server("listen 443 ssl", "other.test")
                        + server("listen 443"))):
        _conf, quiet, hello = check_and_serve(case, text)
        assert quiet.exit_code == 0 and "has no `ssl`" not in quiet.output, quiet.output
        assert hello.ok, (case, hello.output)
