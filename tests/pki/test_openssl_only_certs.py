"""Certificates OpenSSL loads but the cryptography library refuses (issue 11, class 9).

A DER that spells out a default value (`critical FALSE`) is not strict DER: cryptography
refuses it, OpenSSL (and so nginx and Apache) loads it. certlint must say it cannot read that
certificate, skip it, and claim a start failure only when OpenSSL itself refuses; a `--ca-bundle`
holding one must not stop the run. Each case runs the real nginx and s_client beside certlint.
"""

from __future__ import annotations

import subprocess

from tests.support import servers
from tests.support.der import explicit_critical_false, pem
from tests.support.pki import CA, cert_pem, write


def make_pki(tmp_path):
    root = CA("Strict Test Root")
    inter = root.intermediate("Strict Test Intermediate")
    leaf = inter.leaf("example.test")
    odd_inter = pem(explicit_critical_false(inter.cert, root.key))
    return root, inter, leaf, odd_inter


def nginx_site(tmp_path, chain: bytes, key: bytes, extra: str = "") -> tuple[str, int]:
    cert = write(tmp_path / "fullchain.pem", chain)
    keyfile = write(tmp_path / "leaf.key", key, 0o600)
    port = servers.free_port()
    conf = tmp_path / "nginx.conf"
    conf.write_text(servers.nginx_conf(
        f"server {{\n listen 127.0.0.1:{port} ssl;\n server_name example.test;\n"
        f" ssl_certificate {cert};\n ssl_certificate_key {keyfile};\n{extra}}}\n",
        str(tmp_path)))
    return str(conf), port


def test_the_fixture_really_is_openssl_only(tmp_path):
    root, _inter, _leaf, odd = make_pki(tmp_path)
    from cryptography import x509

    try:
        x509.load_pem_x509_certificate(odd)
        raise AssertionError("cryptography loaded it")
    except ValueError:
        pass
    ca = write(tmp_path / "root.pem", root.pem)
    proc = subprocess.run(["openssl", "verify", "-CAfile", ca, write(tmp_path / "odd.pem", odd)],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_client_ca_bundle_nginx_loads_is_not_a_start_failure(tmp_path, certlint):
    root, inter, leaf, odd = make_pki(tmp_path)
    bundle = write(tmp_path / "clients.pem", root.pem + odd)
    conf, _port = nginx_site(tmp_path, leaf.pem + inter.pem, leaf.key_pem,
                             f" ssl_client_certificate {bundle};\n ssl_verify_client optional;\n")
    assert servers.nginx_test(conf, state_dir=str(tmp_path)).ok
    ca = write(tmp_path / "root.pem", root.pem)
    code, payload = certlint.json(conf, "--server", "nginx", "--ca-bundle", ca)
    assert code == 0, payload["findings"]
    (found,) = payload["findings"]
    assert found["severity"] == "info" and "certlint cannot read certificate 2" in found["message"]
    assert "will not start" not in found["message"]


def test_served_chain_with_such_a_certificate_is_skipped_not_condemned(tmp_path, certlint):
    root, _inter, leaf, odd = make_pki(tmp_path)
    conf, port = nginx_site(tmp_path, leaf.pem + odd, leaf.key_pem)
    ca = write(tmp_path / "root.pem", root.pem)
    code, payload = certlint.json(conf, "--server", "nginx", "--ca-bundle", ca)
    assert code == 0 and [f["severity"] for f in payload["findings"]] == ["info"]
    with servers.NginxServer(conf, port=port):
        assert servers.s_client(port, "example.test", ca).ok  # nginx serves it, clients verify


def test_ca_bundle_option_with_such_a_certificate_does_not_exit_2(tmp_path, certlint):
    root, inter, leaf, odd = make_pki(tmp_path)
    conf, _port = nginx_site(tmp_path, leaf.pem + inter.pem, leaf.key_pem)
    bundle = write(tmp_path / "trust.pem", odd + root.pem)
    result = certlint("check", "--server", "nginx", "--ca-bundle", bundle, conf)
    assert result.exit_code == 0, result.output
    assert "certlint cannot read certificate 1" in result.stderr


def test_a_block_openssl_refuses_too_is_still_a_start_failure(tmp_path, certlint):
    root, inter, leaf, _odd = make_pki(tmp_path)
    broken = cert_pem(inter.cert).replace(b"MII", b"MIJ", 1)
    conf, _port = nginx_site(tmp_path, leaf.pem + broken, leaf.key_pem)
    assert not servers.nginx_test(conf, state_dir=str(tmp_path)).ok
    ca = write(tmp_path / "root.pem", root.pem)
    code, payload = certlint.json(conf, "--server", "nginx", "--ca-bundle", ca)
    errors = [f for f in payload["findings"] if f["rule"] == "cert-file-unparseable"]
    assert code == 1 and errors and "nginx will not start" in errors[0]["message"]
