"""cert-wrong-purpose: purpose, CA flags, path length and name constraints as OpenSSL judges
them (issue 11, class 7).

Each generated PKI goes through the real `openssl verify -purpose sslserver` (what a TLS client
checks) and through certlint: the OpenSSL error number must be the one certlint names, and a
PKI OpenSSL accepts must draw no finding. One case is served by the real nginx and checked with
`openssl s_client`.
"""

from __future__ import annotations

import re
import subprocess

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID as EKU

from tests.support import servers
from tests.support.pki import DAY, NOW, cert_pem, key_pem, name, new_key, write

KU_ALL = dict(digital_signature=True, content_commitment=False, key_encipherment=False,
              data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
              encipher_only=False, decipher_only=False)


def issue(subject: str, issuer=None, ca: bool | None = True, pathlen=None, eku=None, ku=None,
          sans=("example.test",), constraints=None):
    """(cert, key) with exactly the extensions given; `issuer` is (cert, key) or None (root)."""
    key = new_key("ec")
    issuer_name = issuer[0].subject if issuer else name(subject)
    b = (x509.CertificateBuilder().subject_name(name(subject)).issuer_name(issuer_name)
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(NOW - DAY).not_valid_after(NOW + 30 * DAY))
    if ca is not None:
        b = b.add_extension(x509.BasicConstraints(ca=ca, path_length=pathlen if ca else None),
                            critical=True)
    if ku is not None:
        b = b.add_extension(x509.KeyUsage(**{**{k: False for k in KU_ALL}, **ku}), critical=True)
    if eku is not None:
        b = b.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
    if ca is False or ca is None:
        if sans:
            b = b.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in sans]),
                                critical=False)
    if constraints is not None:
        b = b.add_extension(x509.NameConstraints(*constraints), critical=True)
    return b.sign(issuer[1] if issuer else key, hashes.SHA256()), key


def pki(case: str):
    """(root, [intermediates top-down], leaf, leaf key) for a named case."""
    root = issue("Purpose Root", pathlen=0 if case == "root-pathlen-0" else
                 1 if case == "root-pathlen-1" else None)
    inter_kw = {
        "inter-not-ca": dict(ca=False, sans=()),
        "inter-no-certsign": dict(ku={"digital_signature": True}),
        "inter-eku-client": dict(eku=[EKU.CLIENT_AUTH]),
        "inter-permitted": dict(constraints=([x509.DNSName("other.test")], None)),
        "inter-excluded": dict(constraints=(None, [x509.DNSName("example.test")])),
        "inter-permitted-ok": dict(constraints=([x509.DNSName("example.test")], None)),
    }.get(case, {})
    inter = issue("Purpose Intermediate", root, **inter_kw)
    inters = [inter]
    if case == "root-pathlen-1":
        inters = [issue("Purpose Intermediate 2", inter)] + inters
    leaf_kw = {
        "leaf-eku-client": dict(eku=[EKU.CLIENT_AUTH]),
        "leaf-eku-any": dict(eku=[EKU.ANY_EXTENDED_KEY_USAGE]),
        "leaf-ku-certsign": dict(ku={"key_cert_sign": True}),
    }.get(case, {})
    leaf_kw.setdefault("eku", [EKU.SERVER_AUTH])
    leaf = issue("example.test", inters[0], ca=False, **leaf_kw)
    return root, inters, leaf


CASES = {  # case: OpenSSL's verify error (None: accepted)
    "good": None, "leaf-eku-client": 26, "leaf-eku-any": 26, "leaf-ku-certsign": 26,
    "inter-eku-client": 26, "inter-not-ca": 79, "inter-no-certsign": 79, "root-pathlen-0": 25,
    "root-pathlen-1": 25, "inter-permitted": 47, "inter-excluded": 48,
    "inter-permitted-ok": None,
}


def write_case(tmp_path, case):
    root, inters, leaf = pki(case)
    root_pem = write(tmp_path / "root.pem", cert_pem(root[0]))
    chain = write(tmp_path / "fullchain.pem", cert_pem(leaf[0], *(c for c, _k in inters)))
    key = write(tmp_path / "leaf.key", key_pem(leaf[1]), 0o600)
    return root_pem, chain, key, leaf, inters


def openssl_error(root: str, chain: str, tmp_path) -> int | None:
    leaf = write(tmp_path / "leaf-only.pem", open(chain, "rb").read().split(
        b"-----END CERTIFICATE-----")[0] + b"-----END CERTIFICATE-----\n")
    proc = subprocess.run(["openssl", "verify", "-purpose", "sslserver", "-CAfile", root,
                           "-untrusted", chain, leaf], capture_output=True, text=True,
                          timeout=30)
    if proc.returncode == 0:
        return None
    m = re.search(r"error (\d+) at", proc.stdout + proc.stderr)
    assert m, proc.stdout + proc.stderr
    return int(m.group(1))


def nginx_conf(tmp_path, chain, key, port=None) -> str:
    conf = tmp_path / "nginx.conf"
    conf.write_text(servers.nginx_conf(
        f"server {{\n listen 127.0.0.1:{port or servers.free_port()} ssl;\n"
        f" server_name example.test;\n ssl_certificate {chain};\n"
        f" ssl_certificate_key {key};\n}}\n", str(tmp_path)))
    return str(conf)


@pytest.mark.parametrize("case", sorted(CASES))
def test_purpose_and_constraints_as_openssl_verify_judges(tmp_path, certlint, case):
    servers.require("openssl")
    root, chain, key, _leaf, _inters = write_case(tmp_path, case)
    want = openssl_error(root, chain, tmp_path)
    assert want == CASES[case]
    conf = nginx_conf(tmp_path, chain, key)
    code, payload = certlint.json(conf, "--server", "nginx", "--ca-bundle", root)
    found = [f for f in payload["findings"] if f["rule"] == "cert-wrong-purpose"]
    if want is None:
        assert found == [] and code == 0, payload["findings"]
    else:
        assert found and f"openssl verify error {want}" in found[0]["message"], found
        assert found[0]["severity"] == "error" and code == 1


def test_leaf_without_server_auth_served_by_nginx_fails_s_client(tmp_path, certlint):
    root, chain, key, _leaf, _inters = write_case(tmp_path, "leaf-eku-client")
    port = servers.free_port()
    conf = nginx_conf(tmp_path, chain, key, port)
    code, payload = certlint.json(conf, "--server", "nginx", "--ca-bundle", root)
    assert [f["rule"] for f in payload["findings"]] == ["cert-wrong-purpose"]
    assert "unsuitable certificate purpose" in payload["findings"][0]["message"]
    assert servers.nginx_test(conf, state_dir=str(tmp_path)).ok  # "the server starts"
    with servers.NginxServer(conf, port=port):
        result = servers.s_client(port, "example.test", root)
    assert not result.ok and "verify error:num=26:unsuitable certificate purpose" in \
        result.output, result.output


