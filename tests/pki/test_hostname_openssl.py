"""Host names are judged as OpenSSL judges them (issue 11, classes 5 and 6; issue 10's index).

Every (certificate names, host) pair below goes through the real `openssl verify
-verify_hostname` (OpenSSL's X509_check_host, what curl, Python and s_client use) and through
certlint's matcher; they must agree. Then whole configs: a SAN `*.test` served by the real nginx
fails `s_client` with verify error 62 and certlint says the name is not covered; a CN-only
certificate passes s_client and certlint says exactly who accepts and who rejects it.
"""

from __future__ import annotations

import ipaddress
import subprocess
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from certlint.pki.names import NameIndex, a_label, name_index
from tests.support import servers
from tests.support.pki import CA, DAY, NOW, cert_pem, key_pem, new_key, write

PATTERNS = ["*.test", "*.example.test", "w*.example.test", "*w.example.test",
            "w*w.example.test", "x*.example.test", "*.xn--bcher-kva.test", "a.*.example.test",
            "*.*.example.test", "*", "exa_mple.test", "*.ex_ample.test", "*-.example.test",
            "foo.example.test", "FOO2.Example.Test", "*.example.test.", "xn--*.example.test",
            "foo.example.test."]
HOSTS = ["a.test", "test", "a.example.test", "example.test", "w.example.test",
         "wxw.example.test", "www.example.test", "ww.example.test", "a.b.example.test",
         "xn--bcher-kva.example.test", "a.xn--bcher-kva.test", "a_b.example.test",
         "foo.example.test", "foo2.example.test", "exa_mple.test", "a.ex_ample.test",
         "xw.example.test", "-.example.test"]


def leaf_with(ca: CA, dns: list[str] | None, cn: str = "certlint leaf",
              ips: list[str] = ()) -> x509.Certificate:
    key = new_key("ec")
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, cn)]))
               .issuer_name(ca.subject).public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(NOW - DAY).not_valid_after(NOW + 30 * DAY))
    sans = [x509.DNSName(n) for n in dns or []]
    sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(ca.key, hashes.SHA256()), key


def openssl_accepts(root: str, leaf: str, host: str) -> bool:
    proc = subprocess.run(["openssl", "verify", "-CAfile", root, "-verify_hostname", host, leaf],
                          capture_output=True, text=True, timeout=30)
    if proc.returncode != 0:
        assert "error 62" in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    return proc.returncode == 0


def test_every_pattern_and_host_judged_as_openssl_does(tmp_path):
    servers.require("openssl")
    ca = CA("Names Root")
    root = write(tmp_path / "root.pem", ca.pem)
    compared = agreed_true = 0
    for i, pattern in enumerate(PATTERNS):
        cert, _key = leaf_with(ca, [pattern])
        leaf = write(tmp_path / f"leaf{i}.pem", cert_pem(cert))
        index = name_index(cert)
        for host in HOSTS:
            want = openssl_accepts(root, leaf, host)
            assert index.covers(host.lower()) == want, (pattern, host, want)
            compared += 1
            agreed_true += want
    assert compared == len(PATTERNS) * len(HOSTS) and agreed_true >= 10


@pytest.mark.parametrize("dns,ips,host", [
    (None, [], "cn.example.test"),  # no SAN: the CN counts
    (None, ["127.0.0.1"], "cn.example.test"),  # IP SANs only: the CN still counts
    (["other.example.test"], [], "cn.example.test"),  # a DNS SAN: the CN is ignored
    (None, [], "127.0.0.1"),  # an IP never matches the CN
])
def test_common_name_fallback_as_openssl(tmp_path, dns, ips, host):
    ca = CA("Names Root")
    root = write(tmp_path / "root.pem", ca.pem)
    cn = "127.0.0.1" if host == "127.0.0.1" else "cn.example.test"
    cert, _key = leaf_with(ca, dns, cn=cn, ips=ips)
    leaf = write(tmp_path / "leaf.pem", cert_pem(cert))
    if host == "127.0.0.1":
        proc = subprocess.run(["openssl", "verify", "-CAfile", root, "-verify_ip", host, leaf],
                              capture_output=True, text=True, timeout=30)
        assert proc.returncode != 0 and not name_index(cert).covers(host)
        return
    assert name_index(cert).covers(host) == openssl_accepts(root, leaf, host)


def test_unicode_server_name_is_compared_in_a_label_form():
    assert a_label("Bücher.example.test") == "xn--bcher-kva.example.test"
    index = NameIndex()
    index.add("xn--bcher-kva.example.test")
    assert index.covers(a_label("bücher.example.test"))


def test_index_scales_to_100000_names_against_10000_sans():
    """Issue 10: a set lookup per name, not every pair (10^9 comparisons would take minutes)."""
    index = NameIndex()
    for i in range(10000):
        index.add(f"*.s{i}.example.test" if i % 2 else f"h{i}.example.test")
    hosts = [f"x.s{i % 10000}.example.test" for i in range(50000)]
    hosts += [f"h{i % 10000}.example.test" for i in range(50000)]
    start = time.monotonic()
    covered = sum(index.covers(h) for h in hosts)
    assert covered == 50000 and time.monotonic() - start < 2.0


def serve(tmp_path, cert, key, ca: CA, name: str) -> tuple[str, int]:
    chain = write(tmp_path / "leaf.pem", cert_pem(cert))
    keyfile = write(tmp_path / "leaf.key", key_pem(key), 0o600)
    port = servers.free_port()
    conf = tmp_path / "nginx.conf"
    conf.write_text(servers.nginx_conf(
        f"server {{\n listen 127.0.0.1:{port} ssl;\n server_name {name};\n"
        f" ssl_certificate {chain};\n ssl_certificate_key {keyfile};\n}}\n", str(tmp_path)))
    return str(conf), port


def test_single_label_wildcard_is_not_a_wildcard(tmp_path, certlint):
    ca = CA("Names Root")
    root = write(tmp_path / "root.pem", ca.pem)
    cert, key = leaf_with(ca, ["*.test"])
    conf, port = serve(tmp_path, cert, key, ca, "a.test")
    _code, payload = certlint.json(conf, "--server", "nginx", "--ca-bundle", root)
    found = [f for f in payload["findings"] if f["rule"] == "hostname-mismatch"]
    assert len(found) == 1 and "*.test is no wildcard to OpenSSL" in found[0]["message"]
    with servers.NginxServer(conf, port=port):
        result = servers.s_client(port, "a.test", root)
    assert not result.ok and "verify error:num=62" in result.output, result.output


def test_common_name_only_says_who_accepts(tmp_path, certlint):
    ca = CA("Names Root")
    root = write(tmp_path / "root.pem", ca.pem)
    cert, key = leaf_with(ca, None, cn="cn.example.test")
    conf, port = serve(tmp_path, cert, key, ca, "cn.example.test")
    _code, payload = certlint.json(conf, "--server", "nginx", "--ca-bundle", root)
    found = [f for f in payload["findings"] if f["rule"] == "hostname-mismatch"]
    assert len(found) == 1, payload["findings"]
    message = found[0]["message"]
    assert "OpenSSL-based clients (curl, Python, openssl s_client) still accept it" in message
    assert "Chrome, Firefox, Safari and Go reject it" in message
    with servers.NginxServer(conf, port=port):
        result = servers.s_client(port, "cn.example.test", root)
    assert result.ok, result.output  # s_client -verify_hostname accepts the CN
