"""Apache stapling and revocation rules: config snippets through the Apache parser, and the
claims that matter proven on a real apache2 (refuses to start without SSLStaplingCache, starts
after `certlint fix --write` and staples from a loopback OCSP responder)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess

import pytest

pytest.importorskip("certlint.parsers.apache")

from certlint.context import Options  # noqa: E402
from certlint.engine import run_check  # noqa: E402
from certlint.fix.plan import InsertDirective, ReplaceArg  # noqa: E402
from tests.support import servers  # noqa: E402
from tests.support.ocsp import OcspResponder  # noqa: E402
from tests.support.paths import REPO
from tests.support.pki import CA, NOW, cert_pem, crl_pem, key_pem, write  # noqa: E402
from tests.support.trees import STAPLING_MODULES, apache_vhost, write_apache  # noqa: E402

ROOT = REPO
DAY = dt.timedelta(days=1)


def make_pki(d, ocsp_url: str | None = "http://ocsp.example.test/", **leaf_kwargs):
    root = CA("Apache Stapling Root")
    inter = root.intermediate("Apache Stapling Intermediate")
    leaf = inter.leaf("example.test", ocsp=[ocsp_url] if ocsp_url else None, **leaf_kwargs)
    write(d / "pki" / "fullchain.pem", cert_pem(leaf.cert, inter.cert))
    write(d / "pki" / "leaf.pem", cert_pem(leaf.cert))
    write(d / "pki" / "leaf.key", key_pem(leaf.key), 0o600)
    write(d / "pki" / "root.pem", root.pem)
    return root, inter, leaf


def site_vhost(body: str) -> str:
    """example.test on *:443 with pki/fullchain.pem and pki/leaf.key, then `body`."""
    return apache_vhost("pki/fullchain.pem", "pki/leaf.key", body=body)


def apache_conf(d, vhost_body: str, main_extra: str = "", session_cache: bool = True) -> str:
    (d / "run").mkdir(exist_ok=True)
    cache = f"SSLSessionCache shmcb:{d}/run/ssl_scache(512000)\n" if session_cache else ""
    return write_apache(d / "apache2.conf", site_vhost(vhost_body), server_root=d,
                        main_extra=cache + main_extra)


def check(d, vhost_body: str, main_extra: str = "", session_cache: bool = True, **options):
    path = apache_conf(d, vhost_body, main_extra, session_cache)
    opts = Options(ca_bundles=[str(d / "pki" / "root.pem")], server="apache", **options)
    return run_check([path], opts).findings


def by_rule(findings, rule):
    return [f for f in findings if f.rule == rule]


def line_of(d, needle: str) -> int:
    lines = (d / "apache2.conf").read_text().splitlines()
    return next(i for i, ln in enumerate(lines, 1) if needle in ln)


# -- stapling ----------------------------------------------------------------------------------


def test_no_cache_is_an_error_and_the_fix_goes_next_to_the_session_cache(tmp_path):
    make_pki(tmp_path)
    found = by_rule(check(tmp_path, "    SSLUseStapling on"), "apache-stapling-no-cache")
    assert [(f.line, f.severity) for f in found] == [(line_of(tmp_path, "SSLUseStapling"),
                                                      "error")]
    assert "AH01958" in found[0].message
    edit = found[0].fix.edits[0]
    assert edit == InsertDirective(str(tmp_path / "apache2.conf"),
                                   line_of(tmp_path, "SSLSessionCache"),
                                   f"SSLStaplingCache shmcb:{tmp_path}/run/ssl_stapling(128000)")


def test_no_cache_fix_without_session_cache_uses_serverroot_logs(tmp_path):
    make_pki(tmp_path)
    (tmp_path / "logs").mkdir()
    found = by_rule(check(tmp_path, "    SSLUseStapling on", session_cache=False),
                    "apache-stapling-no-cache")
    edit = found[0].fix.edits[0]
    assert edit.before and edit.line == line_of(tmp_path, "<VirtualHost")
    assert edit.text == "SSLStaplingCache shmcb:logs/ssl_stapling(128000)"


def test_cache_at_server_level_is_quiet_and_inside_a_vhost_is_an_error(tmp_path):
    make_pki(tmp_path)
    cache = "SSLStaplingCache shmcb:logs/ssl_stapling(32768)"
    assert not by_rule(check(tmp_path, "    SSLUseStapling on", main_extra=cache),
                       "apache-stapling-no-cache")
    found = check(tmp_path, "    SSLUseStapling on\n    " + cache)
    assert [(f.rule, f.line) for f in found if f.rule.startswith("apache-stapling")] == [
        ("apache-stapling-cache-in-vhost", line_of(tmp_path, "SSLStaplingCache"))]


def test_force_url_https_aborts_handshakes(tmp_path):
    make_pki(tmp_path)
    body = "    SSLUseStapling on\n    SSLStaplingForceURL https://ocsp.example.test/"
    found = by_rule(check(tmp_path, body, main_extra="SSLStaplingCache shmcb:x(32768)"),
                    "apache-stapling-force-url-not-http")
    assert [f.line for f in found] == [line_of(tmp_path, "SSLStaplingForceURL")]
    assert "AH01955" in found[0].message
    http = body.replace("https://", "http://")
    assert not by_rule(check(tmp_path, http, main_extra="SSLStaplingCache shmcb:x(32768)"),
                       "apache-stapling-force-url-not-http")


def test_no_ocsp_url_on_apache_plans_sslusestapling_off(tmp_path):
    make_pki(tmp_path, ocsp_url=None)
    found = by_rule(check(tmp_path, "    SSLUseStapling on",
                          main_extra="SSLStaplingCache shmcb:x(32768)"), "stapling-no-ocsp-url")
    at = line_of(tmp_path, "SSLUseStapling")
    assert [f.line for f in found] == [at] and "AH02218" in found[0].message
    assert found[0].fix.edits == [ReplaceArg(str(tmp_path / "apache2.conf"), at,
                                             "sslusestapling", "on", "off")]


def test_issuer_missing_on_apache(tmp_path):
    make_pki(tmp_path)
    body = "    SSLUseStapling on"
    findings = check(tmp_path, body, main_extra="SSLStaplingCache shmcb:x(32768)")
    assert not by_rule(findings, "stapling-issuer-missing")
    text = (tmp_path / "apache2.conf").read_text().replace("pki/fullchain.pem", "pki/leaf.pem")
    write(tmp_path / "apache2.conf", text.encode())
    opts = Options(ca_bundles=[str(tmp_path / "pki" / "root.pem")], server="apache")
    found = by_rule(run_check([str(tmp_path / "apache2.conf")], opts).findings,
                    "stapling-issuer-missing")
    assert len(found) == 1 and "AH02217" in found[0].message


# -- revocation --------------------------------------------------------------------------------


def client_pki(d):
    croot = CA("Apache Client Root")
    write(d / "pki" / "client-ca.pem", croot.pem)
    return croot


CLIENT = ("    SSLVerifyClient require\n    SSLCACertificateFile pki/client-ca.pem\n"
          "    SSLCARevocationFile pki/crl.pem")


def test_crl_without_revocation_check_is_loaded_but_never_checked(tmp_path):
    make_pki(tmp_path)
    croot = client_pki(tmp_path)
    write(tmp_path / "pki" / "crl.pem", crl_pem(croot.crl()))
    found = by_rule(check(tmp_path, CLIENT), "apache-crl-check-disabled")
    assert [f.line for f in found] == [line_of(tmp_path, "SSLCARevocationFile")]
    assert "AH01902" in found[0].message
    assert not by_rule(check(tmp_path, CLIENT + "\n    SSLCARevocationCheck chain"),
                       "apache-crl-check-disabled")


def test_expired_crl_on_apache_with_chain_checking(tmp_path):
    make_pki(tmp_path)
    croot = client_pki(tmp_path)
    write(tmp_path / "pki" / "crl.pem", crl_pem(croot.crl(last_update=NOW - 9 * DAY,
                                                          next_update=NOW - DAY)))
    findings = check(tmp_path, CLIENT + "\n    SSLCARevocationCheck chain")
    found = by_rule(findings, "crl-expired")
    assert [f.line for f in found] == [line_of(tmp_path, "SSLCARevocationFile")]
    assert "AH02039: Certificate Verification: Error (12): CRL has expired" in found[0].message
    # with checking off the expired CRL hurts nobody: only the disabled-check warning
    assert not by_rule(check(tmp_path, CLIENT), "crl-expired")


def test_crl_in_a_revocation_path_directory(tmp_path):
    make_pki(tmp_path)
    croot = client_pki(tmp_path)
    write(tmp_path / "crls" / "abcd1234.r0", crl_pem(croot.crl(last_update=NOW - 9 * DAY,
                                                               next_update=NOW - DAY)))
    body = ("    SSLVerifyClient require\n    SSLCACertificateFile pki/client-ca.pem\n"
            "    SSLCARevocationPath crls\n    SSLCARevocationCheck chain")
    found = by_rule(check(tmp_path, body), "crl-expired")
    assert len(found) == 1 and "abcd1234.r0" in found[0].message


def test_client_ocsp_override_without_default_responder(tmp_path):
    make_pki(tmp_path)
    client_pki(tmp_path)
    body = ("    SSLVerifyClient require\n    SSLCACertificateFile pki/client-ca.pem\n"
            "    SSLOCSPEnable on\n    SSLOCSPOverrideResponder on")
    found = by_rule(check(tmp_path, body), "client-ocsp-no-responder")
    assert [f.line for f in found] == [line_of(tmp_path, "SSLOCSPOverrideResponder")]
    ok = body + "\n    SSLOCSPDefaultResponder http://127.0.0.1:8888/"
    assert not by_rule(check(tmp_path, ok), "client-ocsp-no-responder")


def test_der_crl_file_stops_apache_even_with_checking_off(tmp_path):
    from cryptography.hazmat.primitives import serialization

    croot = client_pki(tmp_path)
    write(tmp_path / "pki" / "crl.pem", croot.crl().public_bytes(serialization.Encoding.DER))
    found = by_rule(check(tmp_path, "    SSLCARevocationFile pki/crl.pem"), "crl-file-unparseable")
    assert [f.line for f in found] == [line_of(tmp_path, "SSLCARevocationFile")]
    assert "AH01901" in found[0].message


# -- real apache2 ------------------------------------------------------------------------------


def test_real_apache_refuses_without_cache_then_fix_starts_it_and_it_staples(tmp_path):
    ocsp_port = servers.free_port()
    apache, conf, (_root, inter, leaf) = _apache_site(
        tmp_path, "    SSLUseStapling on", ocsp_url=f"http://localhost:{ocsp_port}/")
    (tmp_path / "logs").mkdir()
    root_pem = str(tmp_path / "pki" / "root.pem")
    got = by_rule(run_check([str(conf)], Options(ca_bundles=[root_pem], server="apache")
                            ).findings, "apache-stapling-no-cache")
    assert [f.line for f in got] == [line_of(tmp_path, "SSLUseStapling")]

    refused = apache.apache_test(str(conf), str(tmp_path / "state1"))
    assert not refused.ok and "AH01958" in refused.output

    proc = fix_write(root_pem, conf, "--server", "apache")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SSLStaplingCache shmcb:logs/ssl_stapling(128000)" in open(conf).read(), proc.stderr

    with OcspResponder(inter, str(tmp_path / "ocsp"), ocsp_port, good=[leaf.cert]):
        server = apache.ApacheServer(str(conf), str(tmp_path / "state2"))
        with server:
            openssl = servers.require("openssl")
            out = subprocess.run(
                [openssl, "s_client", "-connect", f"127.0.0.1:{server.port(443)}",
                 "-servername", "example.test", "-status", "-CAfile", root_pem],
                input="", capture_output=True, text=True, timeout=30).stdout
    assert "OCSP Response Status: successful" in out and "Cert Status: good" in out, out


def _apache_site(tmp_path, vhost_body: str, main_extra: str = "", ocsp_url: str | None = None):
    """The test PKI and apache2.conf for a real apache2 (the stapling modules loaded)."""
    apache = pytest.importorskip("tests.support.apache")
    apache.apache_binary()
    root, inter, leaf = make_pki(tmp_path, ocsp_url=ocsp_url)
    conf = write_apache(tmp_path / "apache2.conf", site_vhost(vhost_body), server_root=tmp_path,
                        modules=STAPLING_MODULES, main_extra=main_extra)
    return apache, conf, (root, inter, leaf)


def fix_write(root_pem: str, conf: str, *extra: str) -> subprocess.CompletedProcess:
    """`certlint fix --write` as a user runs it (a separate process)."""
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "src"))
    return subprocess.run(["python", "-m", "certlint", "fix", "--write", *extra, "--ca-bundle",
                           root_pem, str(conf)],
                          capture_output=True, text=True, env=env, timeout=120)


REQUEST = "GET / HTTP/1.0\r\nHost: example.test\r\n\r\n"


def client_files(d, client, *ca_certs) -> tuple[str, ...]:
    """pki/client-ca.pem (`ca_certs`), the client's certificate and key; the s_client
    arguments that present them."""
    write(d / "pki" / "client-ca.pem", cert_pem(*ca_certs))
    write(d / "pki" / "client.pem", client.pem)
    write(d / "pki" / "client.key", key_pem(client.key), 0o600)
    return ("-cert", str(d / "pki" / "client.pem"), "-key", str(d / "pki" / "client.key"),
            "-quiet")


def _s_client(port: int, cafile: str, *extra: str, stdin: str = "") -> str:
    openssl = servers.require("openssl")
    proc = subprocess.run([openssl, "s_client", "-connect", f"127.0.0.1:{port}",
                           "-servername", "example.test", "-CAfile", cafile, *extra],
                          input=stdin, capture_output=True, text=True, timeout=30)
    return proc.stdout + proc.stderr


def test_real_apache_force_url_https_aborts_status_handshakes(tmp_path):
    cache = f"SSLStaplingCache shmcb:{tmp_path}/stapling(32768)"
    body = "    SSLUseStapling on\n    SSLStaplingForceURL https://localhost:9/"
    apache, conf, _ = _apache_site(tmp_path, body, main_extra=cache,
                                   ocsp_url="http://localhost:9/")
    root_pem = str(tmp_path / "pki" / "root.pem")
    got = by_rule(run_check([str(conf)], Options(ca_bundles=[root_pem], server="apache")
                            ).findings, "apache-stapling-force-url-not-http")
    assert [f.line for f in got] == [line_of(tmp_path, "SSLStaplingForceURL")]
    with apache.ApacheServer(str(conf), str(tmp_path / "state")) as server:
        plain = _s_client(server.port(443), root_pem)
        status = _s_client(server.port(443), root_pem, "-status")
        log = server.log()
    assert "Verify return code: 0 (ok)" in plain and "alert" not in plain  # no status request
    assert "alert internal error" in status  # asking for status: Apache aborts the handshake
    assert "AH01955" in log and "AH01940" in log


def test_real_apache_expired_crl_fails_the_handshake_and_check_none_accepts_revoked(tmp_path):
    croot = CA("Apache Client Root")
    client = croot.leaf("client.example.test", client=True)
    body = ("    SSLVerifyClient require\n    SSLCACertificateFile pki/client-ca.pem\n"
            "    SSLCARevocationFile pki/crl.pem\n    SSLCARevocationCheck chain")
    apache, conf, (root, _i, _l) = _apache_site(tmp_path, body)
    cert_args = client_files(tmp_path, client, croot.cert)
    write(tmp_path / "pki" / "crl.pem", crl_pem(croot.crl(last_update=NOW - 9 * DAY,
                                                          next_update=NOW - DAY)))
    root_pem = str(tmp_path / "pki" / "root.pem")
    opts = Options(ca_bundles=[root_pem], server="apache")
    assert [f.rule for f in run_check([str(conf)], opts).findings] == ["crl-expired"]
    with apache.ApacheServer(str(conf), str(tmp_path / "state1")) as server:
        reply = _s_client(server.port(443), root_pem, *cert_args, stdin=REQUEST)
        log = server.log()
    assert "HTTP/1." not in reply
    assert "AH02039: Certificate Verification: Error (12): CRL has expired" in log

    # SSLCARevocationCheck none: a CRL that revokes this very client changes nothing
    write(tmp_path / "pki" / "crl.pem", crl_pem(croot.crl(revoked=[client.cert])))
    write(conf, open(conf).read().replace("SSLCARevocationCheck chain",
                                         "SSLCARevocationCheck none").encode())
    assert [f.rule for f in run_check([str(conf)], opts).findings] == [
        "apache-crl-check-disabled"]
    with apache.ApacheServer(str(conf), str(tmp_path / "state2")) as server:
        reply = _s_client(server.port(443), root_pem, *cert_args, stdin=REQUEST)
        log = server.log()
    assert "HTTP/1.1" in reply  # the revoked client is served
    assert "AH01902" in log


def test_real_apache_refuses_a_der_crl(tmp_path):
    from cryptography.hazmat.primitives import serialization

    apache, conf, _ = _apache_site(tmp_path, "    SSLCARevocationFile pki/crl.pem")
    croot = CA("Apache Client Root")
    write(tmp_path / "pki" / "crl.pem", croot.crl().public_bytes(serialization.Encoding.DER))
    opts = Options(ca_bundles=[str(tmp_path / "pki" / "root.pem")], server="apache")
    rules = [f.rule for f in run_check([str(conf)], opts).findings]
    assert "crl-file-unparseable" in rules
    result = apache.apache_test(str(conf), str(tmp_path / "state"))
    assert not result.ok and "AH01901" in result.output


def test_debian_tree_refuses_without_cache_and_fix_lands_next_to_the_session_cache(tmp_path):
    """/etc/apache2 as apt installs it, default-ssl with `SSLUseStapling on`: AH01958; the fix
    goes into mods-enabled/ssl.conf beside SSLSessionCache, keeping ${APACHE_RUN_DIR}."""
    apache = pytest.importorskip("tests.support.apache")
    apache.apache_binary()
    tree = apache.debian_copy(tmp_path, ssl=True)
    ocsp_port = servers.free_port()
    _root, inter, leaf = make_pki(tmp_path, ocsp_url=f"http://localhost:{ocsp_port}/")
    site = tree / "sites-available" / "default-ssl.conf"
    text = site.read_text()
    text = text.replace("/etc/ssl/certs/ssl-cert-snakeoil.pem", str(tmp_path / "pki" /
                                                                     "fullchain.pem"))
    text = text.replace("/etc/ssl/private/ssl-cert-snakeoil.key", str(tmp_path / "pki" /
                                                                       "leaf.key"))
    text = text.replace("SSLEngine on", "SSLEngine on\n\t\tSSLUseStapling on", 1)
    ports: dict[int, int] = {}
    for rel in ("ports.conf", "sites-available/000-default.conf"):
        (tree / rel).write_text(apache.remap_ports((tree / rel).read_text(), ports))
    site.write_text(apache.remap_ports(text, ports))
    entry = str(tree / "apache2.conf")
    root_pem = str(tmp_path / "pki" / "root.pem")

    opts = Options(ca_bundles=[root_pem], server="apache")
    assert [f.rule for f in run_check([entry], opts).findings] == ["apache-stapling-no-cache"]
    refused = apache.ApacheServer(entry, str(tmp_path / "state1"), ports=dict(ports)).start()
    debian_log = tmp_path / "state1" / "error.log"  # ${APACHE_LOG_DIR}/error.log
    assert not refused.ok
    assert "AH01958" in refused.output + (debian_log.read_text() if debian_log.exists() else "")

    proc = fix_write(root_pem, entry)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    ssl_conf = (tree / "mods-enabled" / "ssl.conf").read_text()
    assert "SSLStaplingCache shmcb:${APACHE_RUN_DIR}/ssl_stapling(128000)" in ssl_conf
    assert run_check([entry], opts).findings == []

    with OcspResponder(inter, str(tmp_path / "ocsp"), ocsp_port, good=[leaf.cert]):
        server = apache.ApacheServer(entry, str(tmp_path / "state2"), ports=dict(ports))
        started = server.start()
        try:
            assert started.ok, started.output
            openssl = servers.require("openssl")
            out = subprocess.run(
                [openssl, "s_client", "-connect", f"127.0.0.1:{ports[443]}", "-servername",
                 "example.test", "-status", "-CAfile", root_pem],
                input="", capture_output=True, text=True, timeout=30).stdout
        finally:
            server.stop()
    assert "OCSP Response Status: successful" in out and "Cert Status: good" in out, out


def test_real_apache_logs_match_no_ocsp_url_and_issuer_missing(tmp_path):
    cache = f"SSLStaplingCache shmcb:{tmp_path}/stapling(32768)"
    apache, conf, (_root, inter, _leaf) = _apache_site(tmp_path, "    SSLUseStapling on",
                                                       main_extra=cache, ocsp_url=None)
    root_pem = str(tmp_path / "pki" / "root.pem")
    opts = Options(ca_bundles=[root_pem], server="apache")
    assert [f.rule for f in run_check([str(conf)], opts).findings] == ["stapling-no-ocsp-url"]
    with apache.ApacheServer(str(conf), str(tmp_path / "state1")) as server:
        log = server.log()
    assert "AH02218: ssl_stapling_init_cert: no OCSP URI in certificate" in log

    proc = fix_write(root_pem, conf, "--server", "apache")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SSLUseStapling off" in open(conf).read()
    assert run_check([str(conf)], opts).findings == []
    with apache.ApacheServer(str(conf), str(tmp_path / "state2")) as server:
        assert "AH02218" not in server.log()

    # a leaf-only certificate file: Apache cannot find the issuer for the OCSP request
    leaf = inter.leaf("example.test", ocsp=["http://127.0.0.1:9/"])
    write(tmp_path / "pki" / "fullchain.pem", cert_pem(leaf.cert))
    write(tmp_path / "pki" / "leaf.key", key_pem(leaf.key), 0o600)
    write(conf, open(conf).read().replace("SSLUseStapling off", "SSLUseStapling on").encode())
    rules = {f.rule for f in run_check([str(conf)], opts).findings}
    assert "stapling-issuer-missing" in rules
    with apache.ApacheServer(str(conf), str(tmp_path / "state3")) as server:
        log = server.log()
    assert "AH02217: ssl_stapling_init_cert: can't retrieve issuer certificate!" in log


def test_real_apache_client_ocsp_override_without_default_rejects_then_default_accepts(
        tmp_path):
    ocsp_port = servers.free_port()
    body = ("    SSLVerifyClient require\n    SSLCACertificateFile pki/client-ca.pem\n"
            "    SSLOCSPEnable on\n    SSLOCSPOverrideResponder on")
    apache, conf, _ = _apache_site(tmp_path, body)
    croot = CA("Apache Client Root")
    client = croot.leaf("client.example.test", client=True)  # no OCSP URL of its own
    cert_args = client_files(tmp_path, client, croot.cert)
    root_pem = str(tmp_path / "pki" / "root.pem")
    opts = Options(ca_bundles=[root_pem], server="apache")
    assert [(f.rule, f.line) for f in run_check([str(conf)], opts).findings] == [
        ("client-ocsp-no-responder", line_of(tmp_path, "SSLOCSPOverrideResponder"))]
    with apache.ApacheServer(str(conf), str(tmp_path / "state1")) as server:
        reply = _s_client(server.port(443), root_pem, *cert_args, stdin=REQUEST)
        log = server.log()
    assert "HTTP/1." not in reply
    assert "AH02039: Certificate Verification: Error (50): application verification failure" \
        in log

    write(conf, open(conf).read().replace(
        "SSLOCSPOverrideResponder on",
        f"SSLOCSPOverrideResponder on\n    SSLOCSPDefaultResponder http://127.0.0.1:{ocsp_port}/"
    ).encode())
    assert run_check([str(conf)], opts).findings == []
    with OcspResponder(croot, str(tmp_path / "ocsp"), ocsp_port, good=[client.cert]):
        with apache.ApacheServer(str(conf), str(tmp_path / "state2")) as server:
            reply = _s_client(server.port(443), root_pem, *cert_args, stdin=REQUEST)
    assert "HTTP/1.1" in reply


def test_real_apache_refuses_stapling_cache_inside_a_vhost(tmp_path):
    body = f"    SSLUseStapling on\n    SSLStaplingCache shmcb:{tmp_path}/stapling(32768)"
    apache, conf, _ = _apache_site(tmp_path, body, ocsp_url="http://127.0.0.1:9/")
    opts = Options(ca_bundles=[str(tmp_path / "pki" / "root.pem")], server="apache")
    assert [(f.rule, f.line) for f in run_check([str(conf)], opts).findings] == [
        ("apache-stapling-cache-in-vhost", line_of(tmp_path, "SSLStaplingCache"))]
    result = apache.apache_test(str(conf), str(tmp_path / "state"))
    assert not result.ok
    assert "SSLStaplingCache cannot occur within <VirtualHost> section" in result.output


def test_real_apache_chain_check_without_the_root_crl_rejects(tmp_path):
    croot = CA("Apache Client Root")
    cissuer = croot.intermediate("Apache Client CA")
    client = cissuer.leaf("client.example.test", client=True)
    body = ("    SSLVerifyClient require\n    SSLVerifyDepth 3\n"
            "    SSLCACertificateFile pki/client-ca.pem\n"
            "    SSLCARevocationFile pki/crl.pem\n    SSLCARevocationCheck chain")
    apache, conf, _ = _apache_site(tmp_path, body)
    cert_args = client_files(tmp_path, client, cissuer.cert, croot.cert)
    write(tmp_path / "pki" / "crl.pem", crl_pem(cissuer.crl()))  # not the root's
    root_pem = str(tmp_path / "pki" / "root.pem")
    opts = Options(ca_bundles=[root_pem], server="apache")
    got = run_check([str(conf)], opts).findings
    assert [(f.rule, f.line) for f in got] == [
        ("crl-missing-for-ca", line_of(tmp_path, "SSLCARevocationFile"))]
    with apache.ApacheServer(str(conf), str(tmp_path / "state1")) as server:
        reply = _s_client(server.port(443), root_pem, *cert_args, stdin=REQUEST)
        log = server.log()
    assert "HTTP/1." not in reply
    assert "Error (3): unable to get certificate CRL" in log

    write(tmp_path / "pki" / "crl.pem", crl_pem(cissuer.crl()) + crl_pem(croot.crl()))
    assert run_check([str(conf)], opts).findings == []
    with apache.ApacheServer(str(conf), str(tmp_path / "state2")) as server:
        assert "HTTP/1.1" in _s_client(server.port(443), root_pem, *cert_args, stdin=REQUEST)
