"""`certlint fix --write` against a real nginx and `openssl s_client -verify_return_error`.

A leaf-only site: nginx starts, OpenSSL clients fail (verify error 20/21); after the fix (the
intermediate fetched from a loopback CA) and a reload, the same client verifies. A wrong-order
site that nginx refuses (`key values mismatch`) starts after the fix. Keys stay byte-identical.
"""

from __future__ import annotations

import os

import pytest

from tests.support.ca_http import CaHttp, PublishedCA
from tests.support.pki import StandardPKI, cert_pem, write
from tests.support.servers import (
    NginxServer,
    free_port,
    nginx_conf,
    nginx_test,
    require,
    s_client,
)


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch, certlint):
    monkeypatch.setenv("CERTLINT_CACHE_DIR", str(tmp_path / "aia-cache"))
    certlint.workstation()  # loopback AIA allowed, as outside CI (network/test_fetch.py)


def site_conf(folder, port: int, name: str, cert: bytes, key: bytes) -> str:
    write(os.path.join(folder, "site.pem"), cert)
    write(os.path.join(folder, "site.key"), key, 0o600)
    server = f"""    server {{
        listen 127.0.0.1:{port} ssl;
        server_name {name};
        ssl_certificate site.pem;
        ssl_certificate_key site.key;
        location / {{ return 200 "ok\\n"; }}
    }}"""
    return write(os.path.join(folder, "nginx.conf"),
                 nginx_conf(server, str(folder)).encode())


def read(path) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()


def test_leaf_only_site_verifies_after_fix_and_reload(tmp_path, certlint):
    require("nginx")
    require("openssl")
    port = free_port()
    with CaHttp() as http:
        ca = PublishedCA(http)
        leaf = ca.leaf("example.test")
        folder = tmp_path / "srv"
        conf = site_conf(folder, port, "example.test", leaf.pem, leaf.key_pem)
        root = write(tmp_path / "root.pem", ca.root.pem)
        key_before = read(folder / "site.key")
        with NginxServer(conf, port=port) as nginx:
            before = s_client(port, "example.test", root)
            assert not before.ok
            assert "unable to" in before.output  # verify error 20/21

            result = certlint("fix", "--write", "--ca-bundle", root, conf)
            assert result.exit_code == 0, result.output
            assert nginx_test(conf, state_dir=str(tmp_path)).ok
            nginx.reload()

            after = s_client(port, "example.test", root)
            assert after.ok, after.output
        assert http.count() == 1
    assert read(folder / "site.key") == key_before
    assert read(folder / "site.pem") == leaf.pem  # the original is kept, not overwritten


def test_wrong_order_site_refused_by_nginx_starts_after_fix(tmp_path, certlint):
    require("nginx")
    require("openssl")
    pki = StandardPKI.make("example.test")
    port = free_port()
    folder = tmp_path / "srv"
    conf = site_conf(folder, port, "example.test", cert_pem(pki.inter.cert, pki.leaf.cert),
                     pki.leaf.key_pem)
    root = write(tmp_path / "root.pem", pki.root.pem)
    refused = nginx_test(conf, state_dir=str(tmp_path))
    assert not refused.ok and "key values mismatch" in refused.output

    result = certlint("fix", "--offline", "--write", "--ca-bundle", root, conf)

    assert result.exit_code == 0, result.output
    assert nginx_test(conf, state_dir=str(tmp_path)).ok
    with NginxServer(conf, port=port):
        assert s_client(port, "example.test", root).ok
