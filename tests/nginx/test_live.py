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
from tests.support.paths import TESTS

HERE = TESTS
FIXTURES = os.path.join(os.path.dirname(HERE), "fixtures")
PKI = os.path.join(FIXTURES, "pki")
ROOT = os.path.join(PKI, "root.pem")
LISTEN = re.compile(r"listen\s+(\d+)(\s+ssl)")

# case, SNI name, what a client sees (None: verification succeeds) as openssl words it
CASES = [
    ("leaf-only", "example.test", "unable to get local issuer certificate"),
    ("complete", "example.test", None),
    ("trusted-cert-does-not-complete", "example.test", "unable to get local issuer certificate"),
    ("contains-root", "example.test", None),
    ("intermediates-misordered", "example.test", None),
    ("unrelated-cert", "example.test", None),
    ("duplicate-cert", "example.test", None),
    ("cert-and-key-one-file", "example.test", "unable to get local issuer certificate"),
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


# -- messy real-world chains, generated at test time ------------------------------------------

def _serve_generated(tmp_path, served: bytes, key: bytes, anchor: bytes):
    from tests.support.pki import write

    write(tmp_path / "chain.pem", served)
    write(tmp_path / "site.key", key, mode=0o600)
    write(tmp_path / "anchor.pem", anchor)
    port = servers.free_port()
    conf = servers.nginx_conf(f"""
    server {{
        listen 127.0.0.1:{port} ssl;
        server_name example.test;
        ssl_certificate chain.pem;
        ssl_certificate_key site.key;
    }}""", str(tmp_path))
    path = write(tmp_path / "nginx.conf", conf.encode())
    return path, port, str(tmp_path / "anchor.pem")


def test_expired_cross_sign_in_the_chain_is_a_warning_and_clients_connect(tmp_path, certlint):
    """The Let's Encrypt 2021 shape: leaf, intermediate, and the new root cross-signed by an old
    root, that cross-sign expired. Trusted-first clients stop at the new root; certlint says the
    expired cross-sign is not needed (warning), not that the chain is broken."""
    import datetime as dt

    from tests.support.pki import CA, cert_pem, key_pem

    now = dt.datetime.now(dt.timezone.utc)
    old_root = CA("certlint Old Root", not_before=now - dt.timedelta(days=3000),
                  not_after=now - dt.timedelta(days=5))
    new_root = CA("certlint New Root")
    inter = new_root.intermediate("certlint R3")
    leaf = inter.leaf("example.test")
    cross = old_root.cross_sign(new_root, not_before=now - dt.timedelta(days=1000),
                                not_after=now - dt.timedelta(days=5))
    conf, port, anchor = _serve_generated(
        tmp_path, cert_pem(leaf.cert, inter.cert, cross), key_pem(leaf.key), new_root.pem)
    code, payload = certlint.json(conf, "--ca-bundle", anchor)
    got = [(f["rule"], f["severity"]) for f in payload["findings"]]
    assert got == [("cert-expired", "warning")], payload["findings"]
    assert "not needed" in payload["findings"][0]["message"]
    assert code == 0
    with servers.NginxServer(conf, port=port):
        result = servers.s_client(port, "example.test", anchor)
    assert result.ok, result.output[-2000:]


def test_renewed_intermediate_beside_the_expired_one_is_preferred(tmp_path, certlint):
    """Two served intermediates share subject and key, one expired and one renewed: the builder
    takes the valid one (as OpenSSL does) and flags the expired copy as unneeded."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    from tests.support.pki import CA, cert_pem, key_pem

    now = dt.datetime.now(dt.timezone.utc)
    root = CA("certlint Renewal Root")
    inter = root.intermediate("certlint Renewal Intermediate")
    leaf = inter.leaf("example.test")
    expired_copy = (x509.CertificateBuilder().subject_name(inter.subject)
                    .issuer_name(root.subject).public_key(inter.key.public_key())
                    .serial_number(x509.random_serial_number())
                    .not_valid_before(now - dt.timedelta(days=800))
                    .not_valid_after(now - dt.timedelta(days=30))
                    .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
                    .sign(root.key, hashes.SHA256()))
    conf, port, anchor = _serve_generated(
        tmp_path, cert_pem(leaf.cert, expired_copy, inter.cert), key_pem(leaf.key), root.pem)
    code, payload = certlint.json(conf, "--ca-bundle", anchor)
    got = sorted((f["rule"], f["severity"]) for f in payload["findings"])
    assert ("cert-expired", "warning") in got and ("cert-expired", "error") not in got, got
    with servers.NginxServer(conf, port=port):
        result = servers.s_client(port, "example.test", anchor)
    assert result.ok, result.output[-2000:]


def test_valid_cross_sign_is_named_as_such(tmp_path, certlint):
    """A still-valid cross-sign of the trusted root rides along: a warning that says what it is
    and who needs it, and clients connect."""
    from tests.support.pki import CA, cert_pem, key_pem

    old_root, new_root = CA("certlint Legacy Root"), CA("certlint Modern Root")
    inter = new_root.intermediate("certlint Modern Intermediate")
    leaf = inter.leaf("example.test")
    cross = old_root.cross_sign(new_root)
    conf, port, anchor = _serve_generated(
        tmp_path, cert_pem(leaf.cert, inter.cert, cross), key_pem(leaf.key), new_root.pem)
    code, payload = certlint.json(conf, "--ca-bundle", anchor)
    assert [f["rule"] for f in payload["findings"]] == ["chain-unrelated-cert"]
    assert "cross-signed copy of 'certlint Modern Root'" in payload["findings"][0]["message"]
    assert code == 0
    with servers.NginxServer(conf, port=port):
        assert servers.s_client(port, "example.test", anchor).ok


def test_same_name_other_key_intermediate_is_caught_by_signatures(tmp_path, certlint):
    """An intermediate with the right name but another key (a re-keyed CA, a wrong download):
    names match, signatures do not. certlint says the chain is incomplete, and so does OpenSSL."""
    from tests.support.pki import CA, cert_pem, key_pem

    root = CA("certlint Signature Root")
    real = root.intermediate("certlint Same Name CA")
    impostor = root.intermediate("certlint Same Name CA")  # same subject, fresh key
    leaf = real.leaf("example.test")
    conf, port, anchor = _serve_generated(
        tmp_path, cert_pem(leaf.cert, impostor.cert), key_pem(leaf.key), root.pem)
    code, payload = certlint.json(conf, "--ca-bundle", anchor)
    rules = sorted(f["rule"] for f in payload["findings"])
    assert rules == ["chain-incomplete", "chain-unrelated-cert"], payload["findings"]
    assert code == 1
    with servers.NginxServer(conf, port=port):
        result = servers.s_client(port, "example.test", anchor)
    assert not result.ok
    assert "signature failure" in result.output.lower() or \
        "unable to get local issuer" in result.output.lower(), result.output[-1500:]


@pytest.mark.parametrize("cross_first", [True, False])
def test_cross_signed_twin_order_decides_what_openssl_builds(tmp_path, certlint, cross_first):
    """Two copies of the intermediate (same name and key): one issued by the trusted root, one
    cross-signed by a root clients do not trust. OpenSSL takes the first match in the file and
    does not backtrack: with the cross-sign first it fails, with it second it succeeds. certlint
    says exactly that, and names the working path in the first case."""
    from tests.support.pki import CA, cert_pem, key_pem

    old_root, new_root = CA("certlint Twin Old Root"), CA("certlint Twin New Root")
    inter = new_root.intermediate("certlint Twin Intermediate")
    cross = old_root.cross_sign(inter)
    leaf = inter.leaf("example.test")
    middle = [cross, inter.cert] if cross_first else [inter.cert, cross]
    conf, port, anchor = _serve_generated(
        tmp_path, cert_pem(leaf.cert, *middle), key_pem(leaf.key), new_root.pem)
    code, payload = certlint.json(conf, "--ca-bundle", anchor)
    errors = [f for f in payload["findings"] if f["severity"] == "error"]
    with servers.NginxServer(conf, port=port):
        result = servers.s_client(port, "example.test", anchor)
    assert result.ok == (not cross_first), result.output[-1500:]
    if cross_first:
        assert [f["rule"] for f in errors] == ["chain-incomplete"], payload["findings"]
        assert "reaches a trusted root (#1 -> #3)" in errors[0]["message"]
        assert "unable to get local issuer certificate" in result.output
    else:
        assert errors == [] and code == 0, payload["findings"]
        assert [f["rule"] for f in payload["findings"]] == ["chain-unrelated-cert"]


@pytest.mark.parametrize("case,client_says", [
    ("weak-key-seclevel0", "EE certificate key too weak"),
    ("weak-signature-seclevel0", "CA signature digest algorithm too weak"),
])
def test_weak_certificate_nginx_loads_is_still_refused_by_openssl_clients(
        case, client_says, tmp_path, certlint):
    """The server was talked into loading it (@SECLEVEL=0); an OpenSSL 3 client at its default
    level refuses it, as the finding says (a warning: the chain itself is complete)."""
    conf, ports = serve(case, tmp_path)
    rules = [f["rule"] for f in certlint.json(conf, "--ca-bundle", ROOT)[1]["findings"]]
    assert rules == [case.split("-seclevel")[0]]
    with servers.NginxServer(conf, port=ports["443"]):
        result = servers.s_client(ports["443"], "example.test", ROOT)
    assert not result.ok
    assert client_says in result.output, result.output[-1500:]
    finding = certlint.json(conf, "--ca-bundle", ROOT)[1]["findings"][0]
    assert client_says in finding["message"]  # the finding quotes what the client says
