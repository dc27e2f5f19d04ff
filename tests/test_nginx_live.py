"""A real nginx on 127.0.0.1 serves fixture cases; `openssl s_client -verify_return_error` and
`openssl verify` must fail or succeed exactly as certlint says.

Each case is the committed fixture tree, copied beside a link to the fixture PKI, with its
`listen` ports moved to free ports on 127.0.0.1. A client that trusts only the fixture root
connects with SNI and hostname checking, like curl would.
"""

from __future__ import annotations

import os
import re
import shutil

import pytest

from tests.support import servers

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(os.path.dirname(HERE), "fixtures")
PKI = os.path.join(FIXTURES, "pki")
ROOT = os.path.join(PKI, "root.pem")
LISTEN = re.compile(r"listen\s+(\d+)(\s+ssl)")

# case, SNI name, what a client sees (None: verification succeeds) as openssl words it
CASES = [
    ("leaf-only", "example.test", "unable to get local issuer certificate"),
    ("complete", "example.test", None),
    ("contains-root", "example.test", None),
    ("intermediates-misordered", "example.test", None),
    ("expired", "example.test", "certificate has expired"),
    ("not-yet-valid", "example.test", "certificate is not yet valid"),
    ("untrusted-private-root", "example.test", "self-signed certificate in certificate chain"),
    ("self-signed", "selfsigned.example.test", "self-signed certificate"),
    ("hostname-mismatch", "example.test", "hostname mismatch"),
    ("hostname-wildcard", "a.example.test", None),
    ("certless-server-borrows", "other.test", "hostname mismatch"),
    ("dual-slots", "example.test", None),
    ("key-encrypted-password", "example.test", None),
]


def serve(case: str, tmp_path) -> tuple[str, dict[str, int]]:
    """Copy a fixture case next to the PKI, bind it to free local ports, return conf + ports."""
    work = tmp_path / "nginx" / case
    shutil.copytree(os.path.join(FIXTURES, "nginx", case), work)
    os.symlink(PKI, tmp_path / "pki")
    text = (work / "nginx.conf").read_text()
    ports: dict[str, int] = {}

    def move(m):
        ports.setdefault(m.group(1), servers.free_port())
        return f"listen 127.0.0.1:{ports[m.group(1)]}{m.group(2)}"

    text = LISTEN.sub(move, text)
    temp = "".join(f"    {d}_temp_path {work}/tmp_{d};\n" for d in
                   ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    text = text.replace("http {\n", "http {\n    access_log off;\n" + temp, 1)
    (work / "nginx.conf").write_text("worker_processes 1;\n" + text)
    return str(work / "nginx.conf"), ports


def errors_for(certlint, conf: str) -> list[dict]:
    _code, payload = certlint.json(conf, "--ca-bundle", ROOT)
    return [f for f in payload["findings"] if f["severity"] == "error"]


@pytest.mark.parametrize("case,sni,client_error", CASES, ids=[c[0] for c in CASES])
def test_openssl_client_agrees_with_certlint(case, sni, client_error, tmp_path, certlint):
    servers.require("nginx")
    conf, ports = serve(case, tmp_path)
    errors = errors_for(certlint, conf)
    assert bool(errors) == (client_error is not None), [f["message"] for f in errors]
    port = ports["443"]
    with servers.NginxServer(conf, port=port):
        result = servers.s_client(port, sni, ROOT)
    assert result.ok == (client_error is None), result.output[-2000:]
    if client_error:
        assert client_error in result.output.lower(), result.output[-2000:]


@pytest.mark.parametrize("case,ok", [("leaf-only", False), ("complete", True)])
def test_openssl_verify_agrees_on_the_served_file(case, ok, tmp_path, certlint):
    """`openssl verify` of the file's first certificate, with the rest of the file as the only
    intermediates: what a client can build from what nginx sends."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    conf = os.path.join(FIXTURES, "nginx", case, "nginx.conf")
    code, payload = certlint.json(conf, "--ca-bundle", ROOT)
    served = os.path.join(PKI, "fullchain.pem" if ok else "leaf.pem")
    certs = x509.load_pem_x509_certificates(open(served, "rb").read())
    leaf, rest = tmp_path / "leaf.pem", tmp_path / "rest.pem"
    leaf.write_bytes(certs[0].public_bytes(Encoding.PEM))
    rest.write_bytes(b"".join(c.public_bytes(Encoding.PEM) for c in certs[1:]))
    result = servers.openssl_verify(ROOT, str(leaf), str(rest) if certs[1:] else None)
    assert result.ok == ok, result.output
    assert (code == 0) == ok
    assert ("chain-incomplete" in {f["rule"] for f in payload["findings"]}) == (not ok)
    if not ok:
        assert "unable to get local issuer certificate" in result.output


def test_rsa_certificate_with_ec_key_starts_but_every_handshake_fails(tmp_path, certlint):
    """key-mismatch across key types: nginx -t passes, yet no client completes a handshake."""
    conf, ports = serve("key-type-mismatch", tmp_path)
    assert [f["rule"] for f in errors_for(certlint, conf)] == ["key-mismatch"]
    assert servers.nginx_test(conf, state_dir=str(tmp_path)).ok
    info_log = tmp_path / "info.log"
    with open(conf, "a") as fh:
        fh.write(f"error_log {info_log} info;\n")  # handshake errors are logged at info
    with servers.NginxServer(conf, port=ports["443"]):
        result = servers.s_client(ports["443"], "example.test", ROOT)
    log = info_log.read_text()
    assert not result.ok
    assert "handshake failure" in result.output.lower(), result.output[-2000:]
    assert "no shared cipher" in log, log[-2000:]
