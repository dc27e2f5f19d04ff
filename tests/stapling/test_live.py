"""Stapling and CRL claims proven against real nginx, openssl and dnsmasq on loopback.

The stapling bed: a test PKI whose leaf names its OCSP responder `http://localhost:PORT/`.
At startup nginx resolves `localhost` with the system resolver (127.0.0.1, where nothing
answers on PORT: the responder's *old* address). The responder (`openssl ocsp`) is reachable at
127.0.0.2:PORT, and a loopback dnsmasq says `localhost` is 127.0.0.2: the responder has moved,
as CDN-hosted OCSP responders do. Without a `resolver`, nginx keeps the startup address and
staples nothing; with the resolver certlint's fix adds, the staple arrives and verifies.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import time

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp

from tests.support import servers
from tests.support.dns import Dnsmasq
from tests.support.ocsp import Forward, OcspResponder, delegated_signer
from tests.support.paths import REPO
from tests.support.pki import CA, NOW, cert_pem, crl_pem, key_pem, write

ROOT = REPO


def run_certlint(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "src"))
    return subprocess.run(["python", "-m", "certlint", *args], capture_output=True, text=True,
                          env=env, timeout=120, cwd=ROOT)


def findings(conf: str, *args: str) -> list[dict]:
    proc = run_certlint("check", "--format", "json", "--server", "nginx", conf, *args)
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads(proc.stdout)["findings"]


def s_client_status(port: int, cafile: str) -> tuple[str, bytes | None]:
    """`openssl s_client -status` over TLS 1.2: its text, and the stapled DER (None if none)."""
    openssl = servers.require("openssl")
    proc = subprocess.run(
        [openssl, "s_client", "-connect", f"127.0.0.1:{port}", "-servername", "example.test",
         "-status", "-tls1_2", "-msg", "-CAfile", cafile],
        input="", capture_output=True, text=True, timeout=20)
    out = proc.stdout + proc.stderr
    m = re.search(r"Handshake \[length [0-9a-f]+\], CertificateStatus\n((?:    [0-9a-f ]+\n)+)",
                  out)
    if not m:
        return out, None
    raw = bytes.fromhex("".join(m.group(1).split()))
    return out, raw[8:]  # type, 3-byte length, status_type, 3-byte length, then the DER


def poll_staple(port: int, cafile: str, tries: int = 20) -> tuple[str, bytes | None]:
    """nginx fetches lazily: the first handshake only triggers the fetch."""
    out, der = "", None
    for _ in range(tries):
        out, der = s_client_status(port, cafile)
        if der is not None:
            break
        time.sleep(0.3)
    return out, der


STAPLING = """        ssl_stapling on;
        ssl_stapling_verify on;
        ssl_trusted_certificate chain.pem;"""


def write_bed_conf(bed: dict, body: str = STAPLING, cert: str = "fullchain.pem") -> str:
    """The bed's nginx.conf with one TLS server holding `body` (warn-level error log)."""
    d = bed["dir"]
    server = f"""    server {{
        listen 127.0.0.1:{bed['https']} ssl;
        server_name example.test;
        ssl_certificate {cert};
        ssl_certificate_key leaf.key;
{body}
    }}"""
    return write(f"{d}/nginx.conf",
                 (f"error_log {d}/error.log warn;\n" + servers.nginx_conf(server, d)).encode())


@pytest.fixture(params=["ca-signed"])
def bed(tmp_path, request):
    servers.require("nginx")
    servers.require("dnsmasq")
    ocsp_port, backend, dns_port, https = (servers.free_port() for _ in range(4))
    root = CA("Stapling Bed Root")
    inter = root.intermediate("Stapling Bed Intermediate")
    leaf = inter.leaf("example.test", ocsp=[f"http://localhost:{ocsp_port}/"])
    ip_leaf = inter.leaf("example.test", ocsp=[f"http://127.0.0.2:{ocsp_port}/"])
    d = str(tmp_path)
    write(f"{d}/fullchain.pem", cert_pem(leaf.cert, inter.cert))
    write(f"{d}/leaf.key", key_pem(leaf.key), 0o600)
    write(f"{d}/chain.pem", cert_pem(inter.cert, root.cert))
    write(f"{d}/root.pem", root.pem)
    signer = delegated_signer(inter) if request.param == "delegated" else None
    responder = OcspResponder(inter, os.path.join(d, "ocsp"), backend,
                              good=[leaf.cert, ip_leaf.cert], signer=signer)
    relay = Forward(("127.0.0.2", ocsp_port), ("127.0.0.1", backend))
    dns = Dnsmasq(dns_port, {"localhost": "127.0.0.2"})
    responder.start()
    relay.start()
    try:
        dns.start()
        bed = {"dir": d, "https": https, "dns_port": dns_port, "leaf": leaf,
               "inter": inter, "root": f"{d}/root.pem", "signer": signer, "ip_leaf": ip_leaf}
        bed["conf"] = write_bed_conf(bed)
        yield bed
    finally:
        dns.stop()
        relay.stop()
        responder.stop()


def error_log(bed: dict) -> str:
    with open(os.path.join(bed["dir"], "error.log"), errors="replace") as fh:
        return fh.read()


def apply_fix(conf: str, *args: str) -> str:
    """`certlint fix --write ...` (exit 0: everything fixable was fixed); its output."""
    proc = run_certlint("fix", "--write", "--server", "nginx", "--ca-bundle",
                        os.path.join(os.path.dirname(conf), "root.pem"), *args, conf)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout + proc.stderr


def apply_resolver_fix(conf: str, dns_port: int) -> str:
    return apply_fix(conf, "--resolver", f"127.0.0.1:{dns_port}")


def test_without_resolver_no_staple_then_fix_adds_resolver_and_staple_verifies(bed):
    conf = bed["conf"]
    before = findings(conf, "--ca-bundle", bed["root"])
    server_line = next(i for i, ln in enumerate(open(conf).read().splitlines(), 1)
                       if "ssl_stapling on" in ln)
    assert [(f["rule"], f["line"]) for f in before] == [("stapling-no-resolver", server_line)]
    assert "no resolver defined to resolve localhost" in before[0]["message"]

    with servers.NginxServer(conf, bed["https"]):
        for _ in range(4):
            out, der = s_client_status(bed["https"], bed["root"])
            assert der is None and "OCSP response: no response sent" in out
            time.sleep(0.3)
    log = error_log(bed)
    assert "no resolver defined to resolve localhost while requesting certificate status" in log
    assert "peer: 127.0.0.1:" in log  # nginx kept the startup address, where nothing answers

    output = apply_resolver_fix(conf, bed["dns_port"])
    text = open(conf).read()
    assert f"resolver 127.0.0.1:{bed['dns_port']} valid=300s;" in text, output
    assert "resolver_timeout 5s;" in text
    assert f"resolver 127.0.0.1:{bed['dns_port']}: from --resolver" in output
    assert findings(conf, "--ca-bundle", bed["root"]) == []
    assert servers.nginx_test(conf).ok

    with servers.NginxServer(conf, bed["https"]) as nginx:
        out, der = poll_staple(bed["https"], bed["root"])
        log = nginx.log()
    assert der is not None, out + log
    assert "OCSP Response Status: successful" in out and "Cert Status: good" in out
    response = ocsp.load_der_ocsp_response(der)
    assert response.serial_number == bed["leaf"].cert.serial_number
    assert response.certificate_status == ocsp.OCSPCertStatus.GOOD
    assert response.next_update_utc > dt.datetime.now(dt.timezone.utc)
    bed["inter"].key.public_key().verify(  # raises InvalidSignature if it does not verify
        response.signature, response.tbs_response_bytes,
        ec.ECDSA(response.signature_hash_algorithm))


def test_stapling_claims_hold_for_the_resolver_certlint_accepts(bed):
    """The quiet look-alike: a resolver already in http{} - certlint says nothing, nginx staples."""
    conf = bed["conf"]
    text = open(conf).read().replace(
        "http {", f"http {{\n    resolver 127.0.0.1:{bed['dns_port']};", 1)
    write(conf, text.encode())
    assert findings(conf, "--ca-bundle", bed["root"]) == []
    with servers.NginxServer(conf, bed["https"]):
        _out, der = poll_staple(bed["https"], bed["root"])
    assert der is not None


def test_ip_literal_responder_needs_no_resolver(bed):
    """The other quiet look-alike: an OCSP URL with an IP address needs no DNS at all."""
    d, ip_leaf = bed["dir"], bed["ip_leaf"]
    write(f"{d}/ip.pem", cert_pem(ip_leaf.cert, bed["inter"].cert))
    write(f"{d}/ip.key", key_pem(ip_leaf.key), 0o600)
    conf = write_bed_conf(bed, cert="ip.pem")
    conf = write(conf, open(conf).read().replace("leaf.key", "ip.key").encode())
    assert findings(conf, "--ca-bundle", bed["root"]) == []
    with servers.NginxServer(conf, bed["https"]):
        _out, der = poll_staple(bed["https"], bed["root"])
    assert der is not None
    assert ocsp.load_der_ocsp_response(der).serial_number == ip_leaf.cert.serial_number
    assert "no resolver defined" not in error_log(bed)


def test_lazy_stapling_sends_no_staple_on_the_first_handshake(bed):
    """Why must-staple-without-stapling warns on nginx even with working stapling: the first
    handshake after a start only triggers the fetch, so a Must-Staple client gets no staple."""
    body = STAPLING + f"\n        resolver 127.0.0.1:{bed['dns_port']} valid=300s;"
    conf = write_bed_conf(bed, body)
    with servers.NginxServer(conf, bed["https"]):
        first_out, first = s_client_status(bed["https"], bed["root"])
        _out, later = poll_staple(bed["https"], bed["root"])
    assert first is None and "OCSP response: no response sent" in first_out
    assert later is not None


def nginx_t(conf: str) -> str:
    """`nginx -t` without -q: its warnings are the claims under test."""
    nginx = servers.require("nginx")
    d = os.path.dirname(conf)
    proc = subprocess.run([nginx, "-t", "-p", d, "-c", conf, "-e", f"{d}/t-error.log",
                           "-g", f"pid {d}/t.pid;"], capture_output=True, text=True, timeout=60)
    return proc.stdout + proc.stderr


def line_in(conf: str, needle: str) -> int:
    return next(i for i, ln in enumerate(open(conf).read().splitlines(), 1) if needle in ln)


@pytest.mark.parametrize("bed", ["delegated"], indirect=True)
def test_verify_without_trusted_chain_drops_every_response_until_the_fix(bed):
    """A delegated responder certificate (what most CAs use) must chain to a trusted root."""
    body = f"""        ssl_stapling on;
        ssl_stapling_verify on;
        resolver 127.0.0.1:{bed['dns_port']} valid=300s;"""
    conf = write_bed_conf(bed, body)
    got = findings(conf, "--ca-bundle", bed["root"])
    assert [(f["rule"], f["line"]) for f in got] == [
        ("stapling-verify-no-trusted-cert", line_in(conf, "ssl_stapling_verify"))]
    with servers.NginxServer(conf, bed["https"]):
        out, der = poll_staple(bed["https"], bed["root"], tries=6)
    assert der is None and "OCSP response: no response sent" in out
    log = error_log(bed)
    assert "OCSP_basic_verify() failed" in log and "unable to get local issuer" in log, log

    apply_fix(conf)
    assert os.path.exists(os.path.join(bed["dir"], "fullchain.ocsp-chain.pem"))
    assert "ssl_trusted_certificate fullchain.ocsp-chain.pem;" in open(conf).read()
    assert findings(conf, "--ca-bundle", bed["root"]) == []
    with servers.NginxServer(conf, bed["https"]):
        _out, der = poll_staple(bed["https"], bed["root"])
    assert der is not None


def test_verify_passes_without_trusted_chain_when_the_ca_signs_itself(bed):
    """The boundary of stapling-verify-no-trusted-cert: a response signed by the issuing CA's own
    key, which nginx serves in the chain, is trusted without ssl_trusted_certificate
    (OCSP_TRUSTOTHER). certlint cannot know offline which kind of responder a CA runs, so it
    still asks for the trusted chain, as the nginx documentation does."""
    body = f"""        ssl_stapling on;
        ssl_stapling_verify on;
        resolver 127.0.0.1:{bed['dns_port']} valid=300s;"""
    conf = write_bed_conf(bed, body)
    with servers.NginxServer(conf, bed["https"]):
        _out, der = poll_staple(bed["https"], bed["root"])
    assert der is not None


def test_stale_stapling_file_is_served_forever(bed):
    from cryptography.hazmat.primitives import hashes, serialization

    inter, leaf = bed["inter"], bed["leaf"]
    day = dt.timedelta(days=1)
    response = ocsp.OCSPResponseBuilder().add_response(
        cert=leaf.cert, issuer=inter.cert, algorithm=hashes.SHA1(),
        cert_status=ocsp.OCSPCertStatus.GOOD, this_update=NOW - 10 * day,
        next_update=NOW - 3 * day, revocation_time=None, revocation_reason=None,
    ).responder_id(ocsp.OCSPResponderEncoding.HASH, inter.cert).sign(inter.key, hashes.SHA256())
    write(os.path.join(bed["dir"], "staple.der"),
          response.public_bytes(serialization.Encoding.DER))
    conf = write_bed_conf(bed, "        ssl_stapling on;\n        ssl_stapling_file staple.der;")
    got = findings(conf, "--ca-bundle", bed["root"])
    assert [(f["rule"], f["line"]) for f in got] == [
        ("stapling-file-stale", line_in(conf, "ssl_stapling_file"))]
    with servers.NginxServer(conf, bed["https"]):
        out, der = s_client_status(bed["https"], bed["root"])
    assert der is not None, out  # stapled on the very first handshake, expired as it is
    assert ocsp.load_der_ocsp_response(der).next_update_utc < dt.datetime.now(dt.timezone.utc)


def test_nginx_warnings_match_no_ocsp_url_and_issuer_missing(bed):
    bare = bed["inter"].leaf("example.test")  # no OCSP URL, like Let's Encrypt since 2025
    d = bed["dir"]
    write(f"{d}/bare.pem", cert_pem(bare.cert, bed["inter"].cert))
    write(f"{d}/bare.key", key_pem(bare.key), 0o600)
    conf = write_bed_conf(bed, "        ssl_stapling on;", cert="bare.pem")
    conf = write(conf, open(conf).read().replace("leaf.key", "bare.key").encode())
    got = findings(conf, "--ca-bundle", bed["root"])
    assert [f["rule"] for f in got] == ["stapling-no-ocsp-url"]
    assert '"ssl_stapling" ignored, no OCSP responder URL in the certificate' in nginx_t(conf)
    apply_fix(conf)
    assert "ssl_stapling off;" in open(conf).read()
    assert findings(conf, "--ca-bundle", bed["root"]) == []
    assert "ssl_stapling" not in nginx_t(conf)

    write(f"{d}/leaf-only.pem", cert_pem(bed["leaf"].cert))
    conf = write_bed_conf(bed, f"        ssl_stapling on;\n"
                               f"        resolver 127.0.0.1:{bed['dns_port']};",
                          cert="leaf-only.pem")
    rules = {f["rule"] for f in findings(conf, "--ca-bundle", bed["root"])}
    assert "stapling-issuer-missing" in rules
    assert '"ssl_stapling" ignored, issuer certificate not found for certificate' in nginx_t(conf)


def test_variables_in_ssl_certificate_never_staple_and_nginx_says_nothing(bed):
    d = bed["dir"]
    write(f"{d}/example.test.pem", open(f"{d}/fullchain.pem", "rb").read())
    body = STAPLING + f"\n        resolver 127.0.0.1:{bed['dns_port']};"
    conf = write_bed_conf(bed, body, cert="$ssl_server_name.pem")
    got = {f["rule"] for f in findings(conf, "--ca-bundle", bed["root"])}
    assert "stapling-dynamic-cert" in got
    with servers.NginxServer(conf, bed["https"]):
        out, der = poll_staple(bed["https"], bed["root"], tries=6)
    assert der is None and "Verify return code: 0 (ok)" in out  # served, never stapled
    assert "stapling" not in error_log(bed) and "OCSP" not in error_log(bed)


# -- client certificates and CRLs --------------------------------------------------------------


def client_site(tmp_path, crls: bytes, chain_ca: bool = False, client_ocsp: str | None = None,
                check: str = "        ssl_crl crl.pem;"):
    """A TLS site that requires client certificates checked against `crls` (or `check`)."""
    server_root = CA("CRL Bed Server Root")
    leaf = server_root.leaf("example.test")
    croot = CA("CRL Bed Client Root")
    issuer = croot.intermediate("CRL Bed Client CA") if chain_ca else croot
    client = issuer.leaf("client.example.test", client=True,
                         ocsp=[client_ocsp] if client_ocsp else None)
    d = str(tmp_path)
    write(f"{d}/server.pem", leaf.pem)
    write(f"{d}/server.key", key_pem(leaf.key), 0o600)
    write(f"{d}/server-root.pem", server_root.pem)
    write(f"{d}/client-ca.pem", cert_pem(*([issuer.cert, croot.cert] if chain_ca
                                           else [croot.cert])))
    write(f"{d}/client.pem", cert_pem(client.cert))
    write(f"{d}/client.key", key_pem(client.key), 0o600)
    https = servers.free_port()
    server = f"""    server {{
        listen 127.0.0.1:{https} ssl;
        server_name example.test;
        ssl_certificate server.pem;
        ssl_certificate_key server.key;
        ssl_verify_client on;
        ssl_verify_depth 3;
        ssl_client_certificate client-ca.pem;
{check}
        location / {{ return 200 "client ok\\n"; }}
    }}"""
    conf = write(f"{d}/nginx.conf",
                 (f"error_log {d}/error.log info;\n" + servers.nginx_conf(server, d)).encode())
    return conf, https, croot, issuer, d, client


def client_request(port: int, d: str) -> str:
    openssl = servers.require("openssl")
    proc = subprocess.run(
        [openssl, "s_client", "-connect", f"127.0.0.1:{port}", "-servername", "example.test",
         "-cert", f"{d}/client.pem", "-key", f"{d}/client.key", "-CAfile",
         f"{d}/server-root.pem", "-quiet"],
        input="GET / HTTP/1.0\r\nHost: example.test\r\n\r\n", capture_output=True, text=True,
        timeout=20)
    return proc.stdout + proc.stderr


def test_expired_crl_rejects_a_valid_client_exactly_as_certlint_predicts(tmp_path):
    servers.require("nginx")
    day = dt.timedelta(days=1)
    conf, https, croot, _issuer, d, _client = client_site(tmp_path, b"")
    write(f"{d}/crl.pem", crl_pem(croot.crl(last_update=NOW - 8 * day, next_update=NOW - day)))
    got = findings(conf, "--ca-bundle", f"{d}/server-root.pem")
    crl_line = next(i for i, ln in enumerate(open(conf).read().splitlines(), 1)
                    if "ssl_crl" in ln)
    assert [(f["rule"], f["line"]) for f in got] == [("crl-expired", crl_line)]
    assert servers.nginx_test(conf).ok  # nginx starts happily with the expired CRL
    with servers.NginxServer(conf, https):
        reply = client_request(https, d)
    assert "400 Bad Request" in reply and "The SSL certificate error" in reply
    assert "client SSL certificate verify error: (12:CRL has expired)" in open(
        f"{d}/error.log").read()

    write(f"{d}/crl.pem", crl_pem(croot.crl()))  # the refreshed CRL: certlint and nginx agree
    assert findings(conf, "--ca-bundle", f"{d}/server-root.pem") == []
    with servers.NginxServer(conf, https):
        assert "client ok" in client_request(https, d)


def test_crl_missing_for_the_root_rejects_every_client(tmp_path):
    servers.require("nginx")
    conf, https, croot, issuer, d, _client = client_site(tmp_path, b"", chain_ca=True)
    write(f"{d}/crl.pem", crl_pem(issuer.crl()))  # the issuing CA's CRL only, not the root's
    got = findings(conf, "--ca-bundle", f"{d}/server-root.pem")
    assert [f["rule"] for f in got] == ["crl-missing-for-ca"]
    assert "'CRL Bed Client Root'" in got[0]["message"]
    with servers.NginxServer(conf, https):
        reply = client_request(https, d)
    assert "400 Bad Request" in reply
    assert "(3:unable to get certificate CRL)" in open(f"{d}/error.log").read()

    write(f"{d}/crl.pem", crl_pem(issuer.crl()) + crl_pem(croot.crl()))
    assert findings(conf, "--ca-bundle", f"{d}/server-root.pem") == []
    with servers.NginxServer(conf, https):
        assert "client ok" in client_request(https, d)


def test_client_ocsp_without_resolver_rejects_every_client(tmp_path):
    servers.require("nginx")
    servers.require("dnsmasq")
    ocsp_port, dns_port = servers.free_port(), servers.free_port()
    conf, https, croot, _issuer, d, client = client_site(
        tmp_path, b"", client_ocsp=f"http://localhost:{ocsp_port}/",
        check="        ssl_ocsp on;")
    got = findings(conf, "--ca-bundle", f"{d}/server-root.pem")
    assert [(f["rule"], f["line"]) for f in got] == [
        ("client-ocsp-no-responder", line_in(conf, "ssl_ocsp on"))]
    with OcspResponder(croot, f"{d}/ocsp", ocsp_port, good=[client.cert]), \
            Dnsmasq(dns_port, {"localhost": "127.0.0.1"}):
        with servers.NginxServer(conf, https):
            reply = client_request(https, d)
        log = open(f"{d}/error.log").read()
        assert "400 Bad Request" in reply and "The SSL certificate error" in reply
        assert "no resolver defined to resolve localhost" in log
        assert "client SSL certificate verify error: certificate status request failed" in log

        text = open(conf).read().replace("ssl_ocsp on;",
                                         f"ssl_ocsp on;\n        resolver 127.0.0.1:{dns_port};")
        write(conf, text.encode())
        assert findings(conf, "--ca-bundle", f"{d}/server-root.pem") == []
        with servers.NginxServer(conf, https):
            assert "client ok" in client_request(https, d)


def test_crl_of_an_impostor_ca_rejects_every_client(tmp_path):
    """A CRL naming the client CA but signed by another key (a re-keyed CA of the same name)."""
    servers.require("nginx")
    conf, https, croot, _issuer, d, _client = client_site(tmp_path, b"")
    impostor = CA("CRL Bed Client Root")
    write(f"{d}/crl.pem", crl_pem(impostor.crl()))
    got = findings(conf, "--ca-bundle", f"{d}/server-root.pem")
    assert sorted((f["rule"], f["severity"]) for f in got) == [
        ("crl-missing-for-ca", "error"), ("crl-unknown-issuer", "error")]
    with servers.NginxServer(conf, https):
        reply = client_request(https, d)
    assert "400 Bad Request" in reply
    log = open(f"{d}/error.log").read()
    assert "client SSL certificate verify error: (8:CRL signature failure)" in log, log
