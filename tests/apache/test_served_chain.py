"""Randomised live check of certlint's model of what Apache sends.

Generated configs mix main-server and vhost SSLCertificateFile / SSLCertificateChainFile /
SSLCACertificateFile (inheritance, the chain file replacing the file's intermediates, OpenSSL's
auto-chain from the CA file). For every vhost, the certificates certlint says Apache serves
(`Context.sent_certs`: the file, plus what OpenSSL adds from the CA file, root included) must be
exactly what a real apache2 sends to `openssl s_client -showcerts`, in order.
"""

from __future__ import annotations

import os
import random
import re

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from certlint.context import Context, Options
from certlint.parsers.apache import parse_apache
from tests.apache.test_parser_differential import apache_version
from tests.support import servers
from tests.support.apache import ApacheServer, apache_binary, modules
from tests.support.paths import REPO

ROOT = REPO
PKI = os.path.join(ROOT, "fixtures", "pki")
PEM = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)
CERT_FILES = ("leaf.pem", "fullchain.pem", "stray.pem")  # all carry the leaf.key certificate
CHAIN_FILES = ("inter.pem", "other-inter.pem")
CA_FILES = ("inter.pem", "inter-and-root.pem", "other-inter.pem")


def fingerprints(pem: bytes) -> list[str]:
    return [x509.load_pem_x509_certificate(m).fingerprint(hashes.SHA256()).hex()[:16]
            for m in PEM.findall(pem)]


def make_config(seed: int, folder: str) -> str:
    rnd = random.Random(seed)
    with open(os.path.join(folder, "stray.pem"), "wb") as fh:  # leaf + an unrelated CA
        for name in ("leaf.pem", "other-inter.pem"):
            with open(os.path.join(PKI, name), "rb") as src:
                fh.write(src.read())

    def path(name: str) -> str:
        return os.path.join(folder, name) if name == "stray.pem" else os.path.join(PKI, name)

    def settings(indent: str, need_cert: bool, chance: float) -> list[str]:
        lines = []
        if need_cert or rnd.random() < 0.5:
            lines += [f"SSLCertificateFile {path(rnd.choice(CERT_FILES))}",
                      f"SSLCertificateKeyFile {PKI}/demo-keys/leaf.key"]
        if rnd.random() < chance:
            same = lines[0].split(" ", 1)[1] if lines and rnd.random() < 0.3 else None
            lines.append(f"SSLCertificateChainFile {same or path(rnd.choice(CHAIN_FILES))}")
        if rnd.random() < chance:
            lines.append(f"SSLCACertificateFile {path(rnd.choice(CA_FILES))}")
        return [indent + line for line in lines]

    main_cert = rnd.random() < 0.5
    out = [modules("mpm_event", "authz_core", "ssl"), "ServerName localhost", "Listen 443"]
    out += settings("", main_cert, 0.2)
    for i in range(3):
        out += ["<VirtualHost *:443>", f"    ServerName v{i}.example.test", "    SSLEngine on"]
        out += settings("    ", not main_cert, 0.35)
        out.append("</VirtualHost>")
    return "\n".join(out) + "\n"


def expected(entry: str, version: str) -> dict[str, list[str]]:
    config = parse_apache(entry, apache_version=version)
    # the fixture root trusted (as --ca-bundle does): the analysis then ends at the trust
    # anchor, while Apache still sends a root it finds in SSLCACertificateFile
    ctx = Context(Options(apache_version=version, ca_bundles=[os.path.join(PKI, "root.pem")]))
    ctx.config = config
    out = {}
    for site in config.sites:
        certs = ctx.sent_certs(site, site.slots[0]) or []
        out[site.names[0]] = [c.fingerprint(hashes.SHA256()).hex()[:16] for c in certs]
    return out


# seed 46: a leaf-only file with the intermediate and the root in SSLCACertificateFile (sent)
@pytest.mark.parametrize("seed", [*range(12), 46])
def test_certlint_knows_what_apache_sends(seed, tmp_path):
    apache_binary()
    version = apache_version()
    entry = tmp_path / "apache2.conf"
    entry.write_text(make_config(seed, str(tmp_path)))
    want = expected(str(entry), version)
    assert len(want) == 3
    with ApacheServer(str(entry), str(tmp_path / "state")) as server:
        for name, chain in want.items():
            hello = servers.s_client(server.port(443), name, os.path.join(PKI, "root.pem"),
                                     extra=["-showcerts"])
            sent = fingerprints(hello.output.encode())
            assert sent == chain, f"{name}: {entry.read_text()}"
