"""Leaf not first: what nginx and Apache really do depends on the key types (issue 11, class 4).

nginx hands the first certificate and the key to OpenSSL, which files each in the slot of its
own key type. Same types: the pair is compared and nginx refuses to start ("key values
mismatch"). An RSA intermediate first and an EC leaf with its EC key: the key goes to the EC slot,
which holds no certificate, so nothing is compared; nginx starts and every handshake fails.
Apache compares the pair itself and refuses both (AH02565). Each claim is checked against the
real server and `openssl s_client`.
"""

from __future__ import annotations

import pytest

from tests.support import servers
from tests.support.apache import ApacheServer, modules
from tests.support.pki import CA, cert_pem, write


def make_case(tmp_path, inter_kind: str) -> tuple[str, str, str]:
    """(fullchain in the wrong order, key, root) with an EC leaf under an `inter_kind` CA."""
    root = CA("Order Test Root", key_kind=inter_kind)
    inter = root.intermediate("Order Test Intermediate", key_kind=inter_kind)
    leaf = inter.leaf("example.test", key_kind="ec")
    chain = write(tmp_path / "wrong-order.pem", cert_pem(inter.cert, leaf.cert))
    key = write(tmp_path / "leaf.key", leaf.key_pem, 0o600)
    return chain, key, write(tmp_path / "root.pem", root.pem)


def nginx_case(tmp_path, inter_kind: str) -> tuple[str, int, str]:
    chain, key, root = make_case(tmp_path, inter_kind)
    port = servers.free_port()
    conf = tmp_path / "nginx.conf"
    conf.write_text(servers.nginx_conf(
        f"server {{\n listen 127.0.0.1:{port} ssl;\n server_name example.test;\n"
        f" ssl_certificate {chain};\n ssl_certificate_key {key};\n}}\n", str(tmp_path)))
    return str(conf), port, root


def order_finding(certlint, entry: str, server: str, root: str) -> dict:
    _code, payload = certlint.json(entry, "--server", server, "--ca-bundle", root)
    found = [f for f in payload["findings"] if f["rule"] == "chain-wrong-order"]
    assert len(found) == 1 and found[0]["severity"] == "error", payload["findings"]
    return found[0]


def test_nginx_rsa_intermediate_first_with_ec_key_starts_and_every_handshake_fails(
        tmp_path, certlint):
    conf, port, root = nginx_case(tmp_path, "rsa")
    message = order_finding(certlint, conf, "nginx", root)["message"]
    assert "nginx starts" in message and "sslv3 alert handshake failure" in message
    assert "refuses to start" not in message

    assert servers.nginx_test(conf, state_dir=str(tmp_path)).ok
    with servers.NginxServer(conf, port=port):
        result = servers.s_client(port, "example.test", root)
    assert not result.ok and "sslv3 alert handshake failure" in result.output, result.output


def test_nginx_same_key_types_refuses_to_start(tmp_path, certlint):
    conf, _port, root = nginx_case(tmp_path, "ec")
    message = order_finding(certlint, conf, "nginx", root)["message"]
    assert "nginx refuses to start" in message and "key values mismatch" in message

    result = servers.nginx_test(conf, state_dir=str(tmp_path))
    assert not result.ok and "key values mismatch" in result.output, result.output


@pytest.mark.parametrize("inter_kind", ["rsa", "ec"])
def test_apache_refuses_both(tmp_path, certlint, inter_kind):
    chain, key, root = make_case(tmp_path, inter_kind)
    conf = tmp_path / "apache2.conf"
    conf.write_text(modules("mpm_event", "authz_core", "ssl") + "ServerName localhost\n"
                    "Listen 443\n<VirtualHost *:443>\n    ServerName example.test\n"
                    f"    SSLEngine on\n    SSLCertificateFile {chain}\n"
                    f"    SSLCertificateKeyFile {key}\n</VirtualHost>\n")
    message = order_finding(certlint, str(conf), "apache", root)["message"]
    assert "Apache refuses to start" in message and "AH02565" in message

    server = ApacheServer(str(conf), str(tmp_path / "state"))
    result = server.start()
    server.stop()
    assert not result.ok and "AH02565" in result.output, result.output
