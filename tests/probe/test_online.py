"""`certlint probe` asks the CA about what a server serves: the leaf's OCSP responder (the real
`openssl ocsp`) and the CRL distribution points of the leaf and every intermediate (a loopback
HTTP server), unless `--offline`. Loopback only."""

from __future__ import annotations

import json
import time

import pytest
from cryptography.hazmat.primitives import serialization

from tests.support import servers
from tests.support.ca_http import CaHttp
from tests.support.ocsp import OcspResponder
from tests.support.pki import CA, cert_pem, write


@pytest.fixture(autouse=True)
def _workstation(certlint):
    certlint.workstation()  # loopback responders allowed, as outside CI (test_fetch: in CI)


def crl_der(ca: CA, revoked=()) -> bytes:
    return ca.crl(revoked=list(revoked)).public_bytes(serialization.Encoding.DER)


def probe(certlint, tmp_path, certs, root: CA, *extra: str) -> list[dict]:
    bundle = write(tmp_path / "served.pem", cert_pem(*certs))
    rootfile = write(tmp_path / "root.pem", root.pem)
    result = certlint("probe", "--format", "json", "--pem-file", bundle, "--ca-bundle",
                      rootfile, *extra, "example.test")
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)["findings"]


def test_dead_responder_and_an_intermediate_crl_that_is_gone(tmp_path, certlint):
    dead = servers.free_port()
    with CaHttp() as http:
        root = CA("Probe Root")
        inter = root.intermediate("Probe Intermediate", crl_urls=[http.url("/root.crl")])
        leaf = inter.leaf("example.test", ocsp=[f"http://127.0.0.1:{dead}/"],
                          crl_urls=[http.serve("/inter.crl", crl_der(inter))])
        started = time.monotonic()
        found = probe(certlint, tmp_path, [leaf.cert, inter.cert], root)
        elapsed = time.monotonic() - started
        assert http.count("/inter.crl") == 1 and http.count("/root.crl") == 1
    assert sorted(f["rule"] for f in found) == ["crl-unreachable", "ocsp-responder-unreachable"]
    by_rule = {f["rule"]: f for f in found}
    assert f"connection to 127.0.0.1:{dead} refused" in by_rule[
        "ocsp-responder-unreachable"]["message"]
    crl = by_rule["crl-unreachable"]
    assert "intermediate 'Probe Intermediate'" in crl["message"] and "HTTP 404" in crl["message"]
    assert "CRYPT_E_REVOCATION_OFFLINE (0x80092013)" in crl["message"]
    assert all(f["line"] is None and f["site"] == "example.test:443" for f in found)
    assert elapsed < 3, elapsed


def test_revoked_leaf_from_openssl_ocsp_and_revoked_intermediate_from_the_root_crl(
        tmp_path, certlint):
    servers.require("openssl")
    port = servers.free_port()
    with CaHttp() as http:
        root = CA("Probe Root")
        inter = root.intermediate("Probe Intermediate", crl_urls=[http.url("/root.crl")])
        http.serve("/root.crl", crl_der(root, revoked=[inter.cert]))
        leaf = inter.leaf("example.test", ocsp=[f"http://127.0.0.1:{port}/"])
        with OcspResponder(inter, str(tmp_path / "ocsp"), port, revoked=[leaf.cert]):
            found = probe(certlint, tmp_path, [leaf.cert, inter.cert], root)
    revoked = sorted(f["message"] for f in found if f["rule"] == "cert-revoked")
    assert [f["rule"] for f in found] == ["cert-revoked", "cert-revoked"]
    assert "the CRL at " in revoked[0] and "'Probe Intermediate' is revoked on" in revoked[0]
    assert "the OCSP responder" in revoked[1] and "'example.test' is revoked on" in revoked[1]
    assert all(f["severity"] == "error" for f in found)


def test_a_working_responder_and_crls_give_nothing_and_offline_asks_nobody(tmp_path,
                                                                           certlint):
    servers.require("openssl")
    port = servers.free_port()
    with CaHttp() as http:
        root = CA("Probe Root")
        inter = root.intermediate("Probe Intermediate",
                                  crl_urls=[http.serve("/root.crl", crl_der(root))])
        leaf = inter.leaf("example.test", ocsp=[f"http://127.0.0.1:{port}/"],
                          crl_urls=[http.serve("/inter.crl", crl_der(inter))])
        with OcspResponder(inter, str(tmp_path / "ocsp"), port, good=[leaf.cert]):
            found = probe(certlint, tmp_path, [leaf.cert, inter.cert], root)
            asked = http.count()
            quiet = probe(certlint, tmp_path, [leaf.cert, inter.cert], root, "--offline")
            assert http.count() == asked
    assert found == [] and quiet == []
    assert asked == 2  # each CRL once


def test_many_live_endpoints_in_parallel_each_judged_once_and_right(tmp_path, certlint):
    """A real nginx with 8 TLS ports probed with --concurrency 8: the OCSP/CRL checks run in
    parallel, every chain is still judged complete, and the shared CRL is fetched once."""
    servers.require("nginx")
    with CaHttp() as http:
        root = CA("Probe Root")
        inter = root.intermediate("Probe Intermediate",
                                  crl_urls=[http.serve("/root.crl", crl_der(root))])
        crl = http.serve("/inter.crl", crl_der(inter))
        ports = [servers.free_port() for _ in range(8)]
        blocks = []
        for n, port in enumerate(ports):
            leaf = inter.leaf(f"site{n}.test", ips=["127.0.0.1"], crl_urls=[crl])
            write(tmp_path / f"site{n}.pem", cert_pem(leaf.cert, inter.cert))
            write(tmp_path / f"site{n}.key", leaf.key_pem, 0o600)
            blocks.append(f"    server {{\n        listen 127.0.0.1:{port} ssl;\n"
                          f"        ssl_certificate site{n}.pem;\n"
                          f"        ssl_certificate_key site{n}.key;\n    }}")
        conf = write(tmp_path / "nginx.conf",
                     servers.nginx_conf("\n".join(blocks), str(tmp_path)).encode())
        targets = write(tmp_path / "targets.txt",
                        "".join(f"127.0.0.1:{p}\n" for p in ports).encode())
        rootfile = write(tmp_path / "root.pem", root.pem)
        with servers.NginxServer(conf, port=ports[-1]):
            result = certlint("probe", "--format", "json", "--targets-file", targets,
                              "--concurrency", "8", "--ca-bundle", rootfile)
        assert http.count("/inter.crl") == 1 and http.count("/root.crl") == 1
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["findings"] == []
