"""OCSP and CRL checks over the network (`certlint check --online`), on loopback only.

The responder is the real `openssl ocsp`; names resolve through a loopback dnsmasq configured as
nginx's `resolver`; CRLs come from a loopback HTTP server. Where certlint says what the server
would hit, the real nginx runs the same config and its error log says the same.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from certlint.pki.crl_check import check_crl
from certlint.pki.fetch import Fetcher
from certlint.pki.ocsp_check import ask_ocsp, judge_response
from tests.support import servers
from tests.support.ca_http import CaHttp
from tests.support.dns import Dnsmasq
from tests.support.ocsp import OcspResponder, delegated_signer
from tests.support.pki import CA, cert_pem, key_pem, write


def now() -> dt.datetime:
    """Now, at the moment of the call (a module-level time goes stale over a long run)."""
    return dt.datetime.now(dt.timezone.utc)


@pytest.fixture
def pki():
    root = CA("Online Root")
    inter = root.intermediate("Online Intermediate")
    return root, inter


def responder(tmp_path, ca, **kw) -> OcspResponder:
    servers.require("openssl")
    return OcspResponder(ca, str(tmp_path / "ocsp"), servers.free_port(), **kw)


# -- the pki functions against the real openssl ocsp ------------------------------------------


def test_good_revoked_and_unknown_from_openssl_ocsp(tmp_path, pki):
    _root, inter = pki
    good = inter.leaf("good.test")
    revoked = inter.leaf("revoked.test")
    stranger = inter.leaf("unknown.test")
    with responder(tmp_path, inter, good=[good.cert], revoked=[revoked.cert]) as r:
        url = [f"http://127.0.0.1:{r.port}/"]
        fetcher = Fetcher(timeout=5)
        results = {name: ask_ocsp(leaf.cert, inter.cert, fetcher, now(), urls=url)
                   for name, leaf in (("good", good), ("revoked", revoked),
                                      ("unknown", stranger))}
    assert results["good"].kind == "good", results["good"].message
    assert results["revoked"].kind == "revoked"
    assert results["revoked"].revoked_at is not None
    assert "'revoked.test' is revoked on " in results["revoked"].message
    assert results["unknown"].kind == "bad"
    assert "status unknown" in results["unknown"].message


def test_a_delegated_responder_the_issuer_authorised_is_accepted(tmp_path, pki):
    _root, inter = pki
    leaf = inter.leaf("good.test")
    with responder(tmp_path, inter, good=[leaf.cert], signer=delegated_signer(inter)) as r:
        outcome = ask_ocsp(leaf.cert, inter.cert, Fetcher(timeout=5), now(),
                           urls=[f"http://127.0.0.1:{r.port}/"])
    assert outcome.kind == "good", outcome.message


def test_a_responder_for_another_ca_is_refused(tmp_path, pki):
    """`openssl ocsp` for another CA answers, signed with that CA's key: not this issuer's."""
    root, inter = pki
    other = root.intermediate("Another Intermediate")
    leaf = inter.leaf("good.test")
    with responder(tmp_path, other, good=[leaf.cert]) as r:
        outcome = ask_ocsp(leaf.cert, inter.cert, Fetcher(timeout=5), now(),
                           urls=[f"http://127.0.0.1:{r.port}/"])
    assert outcome.kind == "bad"
    assert "signature does not verify with the key of the issuer 'Online Intermediate'" in (
        outcome.message)


@pytest.mark.parametrize("status, name", [
    (ocsp.OCSPResponseStatus.UNAUTHORIZED, "unauthorized"),
    (ocsp.OCSPResponseStatus.MALFORMED_REQUEST, "malformedRequest"),
    (ocsp.OCSPResponseStatus.TRY_LATER, "tryLater")])
def test_error_statuses_and_a_non_ocsp_answer(pki, status, name):
    _root, inter = pki
    leaf = inter.leaf("good.test")
    with CaHttp() as http:
        url = http.serve("/", ocsp.OCSPResponseBuilder.build_unsuccessful(status).public_bytes(
            serialization.Encoding.DER), "application/ocsp-response")
        html = http.serve("/portal", b"<html>captive portal</html>", "text/html")
        outcome = ask_ocsp(leaf.cert, inter.cert, Fetcher(timeout=5), now(), urls=[url])
        junk = ask_ocsp(leaf.cert, inter.cert, Fetcher(timeout=5), now(), urls=[html])
        (path, body), _ = http.posted
    assert outcome.kind == "bad" and f"error status {name}" in outcome.message
    assert junk.kind == "unreachable" and junk.step == "unparseable"
    request = ocsp.load_der_ocsp_request(body)
    assert path == "/" and request.serial_number == leaf.cert.serial_number


def test_nothing_listening_is_unreachable_at_connect(pki):
    _root, inter = pki
    leaf = inter.leaf("good.test")
    port = servers.free_port()
    started = time.monotonic()
    outcome = ask_ocsp(leaf.cert, inter.cert, Fetcher(timeout=5), now(),
                       urls=[f"http://127.0.0.1:{port}/"])
    assert time.monotonic() - started < 2
    assert outcome.kind == "unreachable" and outcome.step == "connect"
    assert f"connection to 127.0.0.1:{port} refused" in outcome.message


def test_a_name_the_configured_resolver_does_not_know(tmp_path, pki):
    servers.require("dnsmasq")
    _root, inter = pki
    leaf = inter.leaf("good.test")
    dns_port = servers.free_port()
    with Dnsmasq(dns_port, {"ocsp.known.test": "127.0.0.1"}):
        fetcher = Fetcher(timeout=3).via([f"127.0.0.1:{dns_port}"])
        outcome = ask_ocsp(leaf.cert, inter.cert, fetcher, now(),
                           urls=["http://ocsp.unknown.test/"])
    assert outcome.kind == "unreachable" and outcome.step == "resolve"
    assert f"could not be resolved through the resolver 127.0.0.1:{dns_port}" in outcome.message


def _response(issuer: CA, cert, signer=None, status=ocsp.OCSPCertStatus.GOOD, certs=None,
              next_update=None):
    """A response about `cert` from `issuer`, signed by `signer` (cert, key; default: the
    issuer itself)."""
    signer_cert, signer_key = signer or (issuer.cert, issuer.key)
    builder = ocsp.OCSPResponseBuilder().add_response(
        cert=cert, issuer=issuer.cert, algorithm=hashes.SHA1(), cert_status=status,
        this_update=now() - dt.timedelta(hours=1),
        next_update=next_update or now() + dt.timedelta(days=1),
        revocation_time=None, revocation_reason=None,
    ).responder_id(ocsp.OCSPResponderEncoding.HASH, signer_cert)
    if certs:
        builder = builder.certificates(certs)
    return builder.sign(signer_key, hashes.SHA256())


def test_signature_and_freshness_are_checked(pki):
    _root, inter = pki
    leaf = inter.leaf("good.test")
    assert judge_response(_response(inter, leaf.cert), leaf.cert, inter.cert,
                          now()).kind == "good"
    impostor = CA("Online Intermediate")  # the same name, another key
    forged = judge_response(_response(inter, leaf.cert, (impostor.cert, impostor.key)),
                            leaf.cert, inter.cert, now())
    assert forged.kind == "bad" and "signature does not verify" in forged.message
    stale = judge_response(_response(inter, leaf.cert,
                                     next_update=now() - dt.timedelta(days=1)),
                           leaf.cert, inter.cert, now())
    assert stale.kind == "bad" and "past its nextUpdate" in stale.message
    # a responder certificate the issuer signed without id-kp-OCSPSigning is no responder
    helper = inter.leaf("not-a-responder.test")
    unauthorised = judge_response(_response(inter, leaf.cert, (helper.cert, helper.key),
                                            certs=[helper.cert]),
                                  leaf.cert, inter.cert, now())
    assert unauthorised.kind == "bad" and "without the OCSP Signing purpose" in (
        unauthorised.message)
    other = inter.leaf("other.test")
    wrong = judge_response(_response(inter, other.cert), leaf.cert, inter.cert, now())
    assert wrong.kind == "bad" and "not about 'good.test'" in wrong.message


def test_crl_revoked_unreachable_and_foreign(pki):
    root, inter = pki
    leaf = inter.leaf("a.test")
    with CaHttp() as http:
        der = http.serve("/inter.crl", inter.crl(revoked=[leaf.cert]).public_bytes(
            serialization.Encoding.DER))
        pem = http.serve("/inter-pem.crl", inter.crl().public_bytes(serialization.Encoding.PEM))
        foreign = http.serve("/foreign.crl", root.crl().public_bytes(serialization.Encoding.DER))
        junk = http.serve("/junk.crl", b"<html>maintenance</html>")
        gone = http.url("/gone.crl")
        fetcher = Fetcher(timeout=3)

        def crl_for(*urls):
            cert = inter.leaf("a.test", crl_urls=list(urls)).cert
            return check_crl(cert, inter.cert, fetcher, now())

        other = check_crl(inter.leaf("x.test", crl_urls=[der]).cert, inter.cert, fetcher,
                          now())
        listed = check_crl(_with_crl(inter, leaf, der), inter.cert, fetcher, now())
        good = crl_for(pem)
        bad = crl_for(gone, junk, foreign)
    assert other.kind == "good"  # another serial than the revoked one
    assert listed.kind == "revoked" and "is revoked on" in listed.message
    assert good.kind == "good"
    assert bad.kind == "unreachable"
    assert "HTTP 404" in bad.message and "not a CRL" in bad.message
    assert "not signed by the issuer 'Online Intermediate'" in bad.message


def _with_crl(ca: CA, issued, url: str):
    """`issued`'s own serial and key, re-signed with a CRL distribution point."""
    builder = (x509.CertificateBuilder().subject_name(issued.cert.subject)
               .issuer_name(ca.cert.subject).public_key(issued.key.public_key())
               .serial_number(issued.cert.serial_number)
               .not_valid_before(issued.cert.not_valid_before_utc)
               .not_valid_after(issued.cert.not_valid_after_utc)
               .add_extension(x509.CRLDistributionPoints([x509.DistributionPoint(
                   [x509.UniformResourceIdentifier(url)], None, None, None)]), critical=False))
    return builder.sign(ca.key, hashes.SHA256())


# -- certlint check --online, and the real nginx beside it ------------------------------------


def stapling_site(tmp_path, inter: CA, root: CA, leaf, dns_port: int | None,
                  https: int) -> str:
    d = str(tmp_path)
    write(f"{d}/fullchain.pem", cert_pem(leaf.cert, inter.cert))
    write(f"{d}/leaf.key", key_pem(leaf.key), 0o600)
    write(f"{d}/chain.pem", cert_pem(inter.cert, root.cert))
    write(f"{d}/root.pem", root.pem)
    resolver = f"        resolver 127.0.0.1:{dns_port} valid=1s;\n" if dns_port else ""
    server = f"""    server {{
        listen 127.0.0.1:{https} ssl;
        server_name example.test;
        ssl_certificate fullchain.pem;
        ssl_certificate_key leaf.key;
        ssl_stapling on;
        ssl_trusted_certificate chain.pem;
{resolver}    }}"""
    conf = f"error_log {d}/error.log info;\n" + servers.nginx_conf(server, d)
    return write(f"{d}/nginx.conf", conf.encode())


def line_of(path: str, needle: str) -> int:
    with open(path) as fh:
        return next(n for n, line in enumerate(fh, 1) if needle in line)


def check_online(certlint, conf: str, root: str, *extra: str) -> list[dict]:
    result = certlint("check", "--online", "--aia-private", "--format", "json", "--ca-bundle",
                      root, *extra, conf)
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)["findings"]


def nginx_log_after_handshakes(conf: str, port: int, needle: str, tries: int = 20) -> str:
    """Start the real nginx, ask for a staple until the error log shows `needle`."""
    prefix = os.path.dirname(conf)
    with servers.NginxServer(conf, port=port):
        for _ in range(tries):
            servers.s_client(port, "example.test", os.path.join(prefix, "root.pem"),
                             extra=["-status"], timeout=10)
            log = servers.read_log(os.path.join(prefix, "error.log"))
            if needle in log:
                return log
            time.sleep(0.3)
    return servers.read_log(os.path.join(prefix, "error.log"))


@pytest.fixture
def dns():
    """nginx's resolver: says where `localhost` is. (nginx also resolves the responder's name
    once at startup with the system resolver and ignores stapling when that fails, so the
    responder's name must be one the system knows too.)"""
    servers.require("dnsmasq")
    port = servers.free_port()
    with Dnsmasq(port, {"localhost": "127.0.0.1"}) as server:
        yield server


def test_responder_port_where_nothing_listens(tmp_path, pki, dns, certlint):
    root, inter = pki
    dead = servers.free_port()
    leaf = inter.leaf("example.test", ocsp=[f"http://localhost:{dead}/"])
    https = servers.free_port()
    conf = stapling_site(tmp_path, inter, root, leaf, dns.port, https)

    found = check_online(certlint, conf, f"{tmp_path}/root.pem")
    offline = certlint("check", "--format", "json", "--ca-bundle", f"{tmp_path}/root.pem", conf)

    assert [f["rule"] for f in found] == ["ocsp-responder-unreachable"]
    assert f"connection to 127.0.0.1:{dead} refused" in found[0]["message"]
    assert "failed at: connect" in found[0]["message"]
    assert found[0]["line"] == line_of(conf, "ssl_stapling on")
    assert "ocsp-responder-unreachable" not in offline.stdout  # no network without --online
    log = nginx_log_after_handshakes(conf, https, "Connection refused")
    assert "recv() failed (111: Connection refused) while requesting certificate status" in log
    assert "(111: Connection refused)" in found[0]["message"]


def test_responder_name_the_configured_resolver_cannot_resolve(tmp_path, pki, certlint):
    """The system knows the responder's name, the configured resolver refuses it."""
    servers.require("dnsmasq")
    root, inter = pki
    leaf = inter.leaf("example.test", ocsp=[f"http://localhost:{servers.free_port()}/"])
    https, dns_port = servers.free_port(), servers.free_port()
    conf = stapling_site(tmp_path, inter, root, leaf, dns_port, https)
    with Dnsmasq(dns_port, {"ocsp.online.test": "127.0.0.1"}):
        found = check_online(certlint, conf, f"{tmp_path}/root.pem")
        log = nginx_log_after_handshakes(conf, https, "could not be resolved")

    assert [f["rule"] for f in found] == ["ocsp-responder-unreachable"]
    message = found[0]["message"]
    assert "failed at: name resolution (asked through the configured resolver " \
           f"127.0.0.1:{dns_port})" in message
    assert f"localhost could not be resolved through the resolver 127.0.0.1:{dns_port}: " \
           "REFUSED" in message
    assert "localhost could not be resolved (5: Operation refused) while requesting " \
           "certificate status" in log


def test_responder_says_revoked(tmp_path, pki, dns, certlint):
    root, inter = pki
    https = servers.free_port()
    port = servers.free_port()
    leaf = inter.leaf("example.test", ocsp=[f"http://localhost:{port}/"])
    with OcspResponder(inter, str(tmp_path / "ocsp"), port, revoked=[leaf.cert]):
        conf = stapling_site(tmp_path, inter, root, leaf, dns.port, https)

        found = check_online(certlint, conf, f"{tmp_path}/root.pem")
        log = nginx_log_after_handshakes(conf, https, "revoked")

    assert [f["rule"] for f in found] == ["cert-revoked"]
    assert found[0]["severity"] == "error"
    assert f"the OCSP responder http://localhost:{port}/ says 'example.test' is revoked on" in (
        found[0]["message"])
    assert 'certificate status "revoked" in the OCSP response' in log


def test_working_responder_gives_no_finding(tmp_path, pki, dns, certlint):
    root, inter = pki
    https = servers.free_port()
    port = servers.free_port()
    leaf = inter.leaf("example.test", ocsp=[f"http://localhost:{port}/"])
    with OcspResponder(inter, str(tmp_path / "ocsp"), port, good=[leaf.cert]):
        conf = stapling_site(tmp_path, inter, root, leaf, dns.port, https)
        found = check_online(certlint, conf, f"{tmp_path}/root.pem")
    assert found == []


def test_rsa_pss_signed_responses_are_accepted_as_openssl_accepts_them(tmp_path, dns,
                                                                      certlint):
    """A CA with an RSA key whose responder signs with RSA-PSS (`openssl ocsp -rsigopt
    rsa_padding_mode:pss`): OpenSSL's own OCSP client verifies the answer, and so does
    `certlint check --online` (no ocsp-response-bad)."""
    root = CA("Online Root")
    inter = root.intermediate("Online PSS Intermediate", key_kind="rsa")
    https = servers.free_port()
    port = servers.free_port()
    leaf = inter.leaf("example.test", ocsp=[f"http://localhost:{port}/"])
    with OcspResponder(inter, str(tmp_path / "ocsp"), port, good=[leaf.cert],
                       sigopts=["rsa_padding_mode:pss"]):
        conf = stapling_site(tmp_path, inter, root, leaf, dns.port, https)
        found = check_online(certlint, conf, f"{tmp_path}/root.pem")
        d = str(tmp_path)
        write(f"{d}/inter.pem", inter.pem)
        write(f"{d}/leaf.pem", leaf.pem)
        respout = f"{d}/response.der"
        client = subprocess.run(
            [servers.require("openssl"), "ocsp", "-issuer", f"{d}/inter.pem", "-cert",
             f"{d}/leaf.pem", "-url", f"http://127.0.0.1:{port}/", "-CAfile", f"{d}/root.pem",
             "-respout", respout], capture_output=True, text=True, timeout=30)

    with open(respout, "rb") as fh:
        response = ocsp.load_der_ocsp_response(fh.read())
    assert response.signature_algorithm_oid == x509.oid.SignatureAlgorithmOID.RSASSA_PSS
    assert "Response verify OK" in client.stderr + client.stdout, client.stderr
    assert f"{d}/leaf.pem: good" in client.stdout
    assert found == [], found[0]["message"]


def test_in_ci_loopback_responders_are_not_asked(tmp_path, pki, dns, certlint, monkeypatch):
    root, inter = pki
    leaf = inter.leaf("example.test", ocsp=[f"http://127.0.0.1:{servers.free_port()}/"])
    conf = stapling_site(tmp_path, inter, root, leaf, dns.port, servers.free_port())
    monkeypatch.setenv("CI", "1")
    result = certlint("check", "--online", "--format", "json", "--ca-bundle",
                      f"{tmp_path}/root.pem", conf)
    (finding,) = json.loads(result.stdout)["findings"]
    assert finding["rule"] == "ocsp-responder-unreachable"
    assert "refused (--aia-public-only)" in finding["message"]


def test_client_ca_crl_unreachable(tmp_path, pki, certlint):
    root, _inter = pki
    with CaHttp() as http:
        client_ca = root.intermediate("Client CA", crl_urls=[http.url("/root.crl")])
        good_ca = root.intermediate("Good Client CA", crl_urls=[
            http.serve("/ok.crl", cert_der_crl(root))])
        d = str(tmp_path)
        leaf = root.intermediate("Server CA").leaf("example.test")
        write(f"{d}/leaf.pem", cert_pem(leaf.cert, leaf.ca.cert))
        write(f"{d}/leaf.key", key_pem(leaf.key), 0o600)
        write(f"{d}/clients.pem", cert_pem(client_ca.cert, good_ca.cert, root.cert))
        write(f"{d}/root.pem", root.pem)
        conf = write(f"{d}/nginx.conf", (
            b"events {}\nhttp {\n server {\n  listen 443 ssl;\n  server_name example.test;\n"
            b"  ssl_certificate leaf.pem;\n  ssl_certificate_key leaf.key;\n"
            b"  ssl_client_certificate clients.pem;\n  ssl_verify_client on;\n }\n}\n"))
        found = check_online(certlint, conf, f"{d}/root.pem")
        assert http.count("/ok.crl") == 1
    assert [f["rule"] for f in found] == ["crl-unreachable"]
    assert "client CA 'Client CA'" in found[0]["message"] and "HTTP 404" in found[0]["message"]
    assert found[0]["line"] == 8


def cert_der_crl(ca: CA) -> bytes:
    return ca.crl().public_bytes(serialization.Encoding.DER)
