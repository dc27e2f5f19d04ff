"""A DSA key's strength is set by its q as much as its p (issue 11, class 8).

OpenSSL counts a DSA key's security bits as the smaller of its p's strength and half its q: a
DSA-2048 key with a 160-bit q has 80 bits, below the 112 of the default security level, and the
real nginx refuses to load it (`ee key too small`). certlint must call it an error that stops the
start; the same p with a 256-bit q loads (a warning: browsers do not support DSA).
"""

from __future__ import annotations

import subprocess

import pytest
from cryptography.hazmat.primitives import serialization

from tests.support import servers
from tests.support.pki import CA, cert_pem, write


def dsa_key(tmp_path, q_bits: int):
    servers.require("openssl")
    params = tmp_path / f"dsa{q_bits}.params"
    key = tmp_path / f"dsa{q_bits}.key"
    subprocess.run(["openssl", "genpkey", "-genparam", "-algorithm", "DSA",
                    "-pkeyopt", "dsa_paramgen_bits:2048",
                    "-pkeyopt", f"dsa_paramgen_q_bits:{q_bits}",
                    "-pkeyopt", "type:fips186_2" if q_bits == 160 else "type:fips186_4",
                    "-out", str(params)], check=True, capture_output=True, timeout=120)
    subprocess.run(["openssl", "genpkey", "-paramfile", str(params), "-out", str(key)],
                   check=True, capture_output=True, timeout=60)
    return serialization.load_pem_private_key(key.read_bytes(), None), str(key)


@pytest.mark.parametrize("q_bits,starts", [(160, False), (256, True)])
def test_dsa_strength_by_q_as_nginx_judges_it(tmp_path, certlint, q_bits, starts):
    key, key_path = dsa_key(tmp_path, q_bits)
    root = CA("DSA Test Root")
    leaf = root.leaf("example.test", key=key)
    chain = write(tmp_path / "leaf.pem", cert_pem(leaf.cert))
    conf = tmp_path / "nginx.conf"
    conf.write_text(servers.nginx_conf(
        f"server {{\n listen 127.0.0.1:{servers.free_port()} ssl;\n server_name example.test;\n"
        f" ssl_certificate {chain};\n ssl_certificate_key {key_path};\n}}\n", str(tmp_path)))
    ca = write(tmp_path / "root.pem", root.pem)

    result = servers.nginx_test(str(conf), state_dir=str(tmp_path))
    assert result.ok == starts, result.output
    if not starts:
        assert "ee key too small" in result.output

    _code, payload = certlint.json(str(conf), "--server", "nginx", "--ca-bundle", ca)
    weak = [f for f in payload["findings"] if f["rule"] == "weak-key"]
    assert len(weak) == 1, payload["findings"]
    assert weak[0]["severity"] == ("warning" if starts else "error")
    if not starts:
        assert f"{q_bits}-bit q" in weak[0]["message"] and "80 bits" in weak[0]["message"]
