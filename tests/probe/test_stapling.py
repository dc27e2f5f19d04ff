"""certlint probe and the OCSP staple, against a real nginx on loopback: working stapling (nginx
with a resolver on a loopback dnsmasq, `openssl ocsp` as the responder) gets no staple finding;
a stale staple and a staple for another certificate (served by nginx from `ssl_stapling_file`,
which it never checks) are staple-invalid, live and from an `s_client -status` transcript."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import time

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from tests.support import servers
from tests.support.dns import Dnsmasq
from tests.support.ocsp import OcspResponder, delegated_signer
from tests.support.paths import REPO
from tests.support.pki import CA, cert_pem, key_pem, write

ROOT = REPO
NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def probe(*args: str) -> tuple[int, list[dict]]:
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "src"))
    proc = subprocess.run(["python", "-m", "certlint", "probe", "--format", "json",
                           "--aia-private", *args], capture_output=True, text=True, env=env,
                          timeout=120, cwd=ROOT, stdin=subprocess.DEVNULL)
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    return proc.returncode, json.loads(proc.stdout)["findings"]


def s_client_status(port: int, name: str, cafile: str) -> str:
    openssl = servers.require("openssl")
    proc = subprocess.run([openssl, "s_client", "-connect", f"127.0.0.1:{port}", "-servername",
                           name, "-status", "-showcerts", "-CAfile", cafile],
                          input="", capture_output=True, text=True, timeout=20)
    return proc.stdout + proc.stderr


def response(leaf, issuer: CA, this_update, next_update, signer=None) -> bytes:
    """A GOOD response for `leaf`, signed by the issuer or by `signer` (an Issued whose
    certificate goes into the response, as delegated responders send theirs)."""
    builder = (ocsp.OCSPResponseBuilder()
               .add_response(cert=leaf, issuer=issuer.cert, algorithm=hashes.SHA1(),
                             cert_status=ocsp.OCSPCertStatus.GOOD, this_update=this_update,
                             next_update=next_update, revocation_time=None,
                             revocation_reason=None))
    if signer is None:
        builder = builder.responder_id(ocsp.OCSPResponderEncoding.HASH, issuer.cert)
        key = issuer.key
    else:
        builder = (builder.responder_id(ocsp.OCSPResponderEncoding.HASH, signer.cert)
                   .certificates([signer.cert]))
        key = signer.key
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


@pytest.fixture(scope="module")
def bed(tmp_path_factory):
    servers.require("nginx")
    servers.require("dnsmasq")
    d = str(tmp_path_factory.mktemp("probe-staple"))
    port, ocsp_port, dns_port, pss_port = (servers.free_port() for _ in range(4))
    root = CA("Staple Probe Root")
    inter = root.intermediate("Staple Probe Intermediate")
    # nginx resolves the responder once at start with the system resolver, then through
    # `resolver` (the loopback dnsmasq)
    url = f"http://localhost:{ocsp_port}/"
    leaves = {name: inter.leaf(name, ocsp=[url])
              for name in ("live.test", "stale.test", "foreign.test", "delegated.test",
                           "forged.test")}
    # a responder whose delegated certificate has an RSA key and signs with RSA-PSS
    leaves["pss.test"] = inter.leaf("pss.test", ocsp=[f"http://localhost:{pss_port}/"])
    stranger = inter.leaf("stranger.test", ocsp=[url])
    write(f"{d}/chain.pem", cert_pem(inter.cert, root.cert))
    rootfile = write(f"{d}/root.pem", root.pem)
    write(f"{d}/stale.der", response(leaves["stale.test"].cert, inter,
                                     NOW - dt.timedelta(days=3), NOW - dt.timedelta(days=1)))
    write(f"{d}/foreign.der", response(stranger.cert, inter, NOW - dt.timedelta(hours=1),
                                       NOW + dt.timedelta(days=3)))
    fresh = (NOW - dt.timedelta(hours=1), NOW + dt.timedelta(days=3))
    write(f"{d}/delegated.der", response(leaves["delegated.test"].cert, inter, *fresh,
                                         signer=delegated_signer(inter)))
    # signed by a responder certificate of ANOTHER CA: not one the issuer authorized
    write(f"{d}/forged.der", response(leaves["forged.test"].cert, inter, *fresh,
                                      signer=delegated_signer(CA("Rogue CA"))))
    blocks = []
    for name, leaf in leaves.items():
        write(f"{d}/{name}.pem", cert_pem(leaf.cert, inter.cert))
        write(f"{d}/{name}.key", key_pem(leaf.key), 0o600)
        staple_file = "" if name in ("live.test", "pss.test") else \
            f"        ssl_stapling_file {d}/{name.split('.')[0]}.der;\n"
        blocks.append(f"""    server {{
        listen 127.0.0.1:{port} ssl;
        server_name {name};
        ssl_certificate {d}/{name}.pem;
        ssl_certificate_key {d}/{name}.key;
        ssl_stapling on;
        ssl_stapling_verify on;
        ssl_trusted_certificate {d}/chain.pem;
{staple_file}    }}""")
    conf = write(f"{d}/nginx.conf", (f"error_log {d}/error.log info;\n" + servers.nginx_conf(
        "\n".join(blocks), d, http_extra=f"    resolver 127.0.0.1:{dns_port};")).encode())
    responder = OcspResponder(inter, os.path.join(d, "ocsp"), ocsp_port,
                              good=[leaf.cert for leaf in leaves.values()])
    pss = OcspResponder(inter, os.path.join(d, "ocsp-pss"), pss_port,
                        good=[leaves["pss.test"].cert],
                        signer=delegated_signer(inter, "PSS Responder", key_kind="rsa"),
                        sigopts=["rsa_padding_mode:pss"])
    dns = Dnsmasq(dns_port, {"localhost": "127.0.0.1"})
    responder.start()
    try:
        pss.start()
        dns.start()
        with servers.NginxServer(conf, port=port) as nginx:
            yield {"port": port, "root": rootfile, "dir": d, "nginx": nginx}
    finally:
        dns.stop()
        pss.stop()
        responder.stop()


def fetched_staple(bed, name: str) -> str:
    """`s_client -status` once nginx has fetched (and, with ssl_stapling_verify on, verified)
    the response for `name`: it fetches lazily, on the first handshakes."""
    deadline = time.monotonic() + 20
    text = ""
    while time.monotonic() < deadline:
        text = s_client_status(bed["port"], name, bed["root"])
        if "OCSP Response Status: successful" in text:
            break
        time.sleep(0.3)
    return text


def test_working_stapling_has_no_staple_finding(bed):
    text = fetched_staple(bed, "live.test")
    assert "Cert Status: good" in text, text
    code, found = probe(f"live.test:{bed['port']}", "--connect", f"127.0.0.1:{bed['port']}",
                        "--ca-bundle", bed["root"])
    assert code == 0 and found == [], found


def test_stale_staple_from_ssl_stapling_file(bed):
    text = s_client_status(bed["port"], "stale.test", bed["root"])
    assert "OCSP Response Status: successful" in text  # nginx serves it as it is
    code, found = probe(f"stale.test:{bed['port']}", "--connect", f"127.0.0.1:{bed['port']}",
                        "--ca-bundle", bed["root"])
    assert code == 1
    assert [f["rule"] for f in found] == ["staple-invalid"]
    assert "past its nextUpdate" in found[0]["message"]


def test_staple_for_another_certificate(bed):
    code, found = probe(f"foreign.test:{bed['port']}", "--connect", f"127.0.0.1:{bed['port']}",
                        "--ca-bundle", bed["root"])
    assert code == 1
    assert [f["rule"] for f in found] == ["staple-invalid"]
    assert "for another certificate" in found[0]["message"]


def test_stale_staple_in_a_transcript(bed, tmp_path):
    text = s_client_status(bed["port"], "stale.test", bed["root"])
    transcript = write(tmp_path / "stale.txt", text.encode())
    code, found = probe("--showcerts-file", transcript, "--ca-bundle", bed["root"],
                        "stale.test")
    assert code == 1
    assert [f["rule"] for f in found] == ["staple-invalid"]
    assert "past its nextUpdate" in found[0]["message"]


def test_staple_from_a_delegated_responder_is_fine(bed):
    code, found = probe(f"delegated.test:{bed['port']}", "--connect",
                        f"127.0.0.1:{bed['port']}", "--ca-bundle", bed["root"])
    assert code == 0 and found == [], found


def test_staple_signed_by_an_unauthorized_responder(bed):
    text = s_client_status(bed["port"], "forged.test", bed["root"])
    assert "OCSP Response Status: successful" in text
    code, found = probe(f"forged.test:{bed['port']}", "--connect", f"127.0.0.1:{bed['port']}",
                        "--ca-bundle", bed["root"])
    assert code == 1
    assert [f["rule"] for f in found] == ["staple-invalid"]
    assert "not signed by the issuer or a responder it authorized" in found[0]["message"]


def test_rsa_pss_signed_staple_is_fine(bed):
    """nginx verifies the RSA-PSS response of the delegated responder (ssl_stapling_verify on)
    and staples it; certlint probe accepts it too."""
    text = fetched_staple(bed, "pss.test")
    assert "Cert Status: good" in text, text
    assert "Signature Algorithm: rsassaPss" in text
    code, found = probe(f"pss.test:{bed['port']}", "--connect", f"127.0.0.1:{bed['port']}",
                        "--ca-bundle", bed["root"])
    assert code == 0 and found == [], found
