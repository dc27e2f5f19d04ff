"""Every read of a file from the tree is bounded and type-checked before it starts (SECURITY.md
promise 3): links to /dev/zero, FIFOs and huge files in any slot end in a finding or a refusal
within the 10 s / 1 GB bar, never in a hang or a memory blow-up.
"""

from __future__ import annotations

import os

import pytest

from tests.support.apache import modules
from tests.support.bounded import certlint
from tests.support.paths import REPO
from tests.support.pki import StandardPKI, cert_pem, write

PKI = os.path.join(REPO, "fixtures", "pki")
ROOT_PEM = os.path.join(PKI, "root.pem")
KEY = os.path.join(PKI, "demo-keys", "leaf.key")
WRONG_ORDER = open(os.path.join(PKI, "wrong-order.pem"), "rb").read()


def nginx_site(folder, cert: str, key: str = KEY, extra: str = "") -> str:
    return write(folder / "nginx.conf", (
        "events {}\nhttp {\n    server {\n        listen 443 ssl;\n"
        f"        server_name example.test;\n        ssl_certificate {cert};\n"
        f"        ssl_certificate_key {key};\n{extra}    }}\n}}\n").encode())


def test_fix_with_dev_zero_at_the_fullchain_name_takes_the_next_name(tmp_path):
    """SECURITY.md promise 3: the planned `site.fullchain.pem` already exists as a link to
    /dev/zero: fix compares it without reading it (other content: left alone) and writes
    `site.fullchain-2.pem` instead, in bounds."""
    write(tmp_path / "site.pem", WRONG_ORDER)
    os.symlink("/dev/zero", tmp_path / "site.fullchain.pem")
    conf = nginx_site(tmp_path, f"{tmp_path}/site.pem")

    result = certlint("fix", "--offline", "--ca-bundle", ROOT_PEM, "--write", conf,
                      cwd=str(tmp_path))

    assert result.code == 0, result.output
    assert os.readlink(tmp_path / "site.fullchain.pem") == "/dev/zero"
    assert "site.fullchain-2.pem" in open(conf).read()
    assert open(tmp_path / "site.fullchain-2.pem", "rb").read().count(b"BEGIN CERT") == 2


def test_check_with_dev_zero_at_the_planned_fullchain_name(tmp_path):
    """SECURITY.md promise 3: `check` on Apache plans the chain-contains-root fix while
    checking; the name it would take is a link to /dev/zero: the plan picks the next free name
    and check finishes in bounds."""
    pki = StandardPKI.make("example.test")
    leaf = write(tmp_path / "leaf.pem", cert_pem(pki.leaf.cert))
    key = write(tmp_path / "leaf.key", pki.leaf.key_pem, 0o600)
    ca = write(tmp_path / "ca.pem", cert_pem(pki.inter.cert, pki.root.cert))
    root = write(tmp_path / "root.pem", pki.root.pem)
    os.symlink("/dev/zero", tmp_path / "leaf.fullchain.pem")
    conf = write(tmp_path / "apache2.conf", (
        modules("mpm_event", "authz_core", "ssl") + "Listen 443\n<VirtualHost *:443>\n"
        f"ServerName example.test\nSSLEngine on\nSSLCertificateFile {leaf}\n"
        f"SSLCertificateKeyFile {key}\nSSLCACertificateFile {ca}\n</VirtualHost>\n").encode())

    result = certlint("check", "--server", "apache", "--ca-bundle", root, "--format", "json",
                      conf)

    assert result.code in (0, 1), result.output
    assert result.cpu < 10


SPECIAL = {
    "dev-zero": lambda p: os.symlink("/dev/zero", p),
    "dev-urandom": lambda p: os.symlink("/dev/urandom", p),
    "fifo": lambda p: os.mkfifo(p),
    "sparse-20GB": lambda p: open(p, "wb").truncate(20 * 1024 ** 3),
}


@pytest.mark.parametrize("kind", sorted(SPECIAL))
@pytest.mark.parametrize("slot", ["ssl_certificate", "ssl_certificate_key", "ssl_password_file",
                                  "ssl_trusted_certificate", "ssl_crl", "ssl_stapling_file",
                                  "include"])
def test_every_nginx_slot_refuses_special_and_huge_files(tmp_path, kind, slot):
    """SECURITY.md promise 3: certificate, key, password, trusted-CA, CRL and stapling files
    and includes: only regular files, size-capped, checked before reading."""
    bad = str(tmp_path / "bad")
    SPECIAL[kind](bad)
    cert, key, extra = f"{PKI}/fullchain.pem", KEY, ""
    if slot == "ssl_certificate":
        cert = bad
    elif slot == "ssl_certificate_key":
        key = bad
    elif slot == "include":
        extra = f"        include {bad};\n"
    else:
        extra = f"        {slot} {bad};\n"
        if slot == "ssl_stapling_file":
            extra += "        ssl_stapling on;\n"
        if slot == "ssl_crl":
            extra += f"        ssl_client_certificate {ROOT_PEM};\n        ssl_verify_client on;\n"
    conf = nginx_site(tmp_path, cert, key, extra)

    checked = certlint("check", "--ca-bundle", ROOT_PEM, conf, cwd=str(tmp_path))
    fixed = certlint("fix", "--offline", "--ca-bundle", ROOT_PEM, conf, cwd=str(tmp_path))

    assert checked.code == 1, checked.output  # a finding about the file, the run goes on
    assert fixed.code in (0, 1), fixed.output  # nothing to fix, or remaining problems
    assert checked.cpu < 10 and fixed.cpu < 10


@pytest.mark.parametrize("kind", ["dev-zero", "fifo", "sparse-20GB"])
def test_apache_chain_file_and_include_refuse_special_files(tmp_path, kind):
    """SECURITY.md promise 3: Apache's SSLCertificateChainFile, SSLCARevocationFile, an
    Include and the envvars file."""
    for name in ("chain", "crl", "inc", "envvars"):
        SPECIAL[kind](str(tmp_path / name))
    conf = write(tmp_path / "apache2.conf", (
        modules("mpm_event", "authz_core", "ssl") + f"Listen 443\nInclude {tmp_path}/inc\n"
        "<VirtualHost *:443>\nServerName example.test\nSSLEngine on\n"
        f"SSLCertificateFile {PKI}/leaf.pem\nSSLCertificateKeyFile {KEY}\n"
        f"SSLCertificateChainFile {tmp_path}/chain\nSSLVerifyClient require\n"
        f"SSLCACertificateFile {ROOT_PEM}\nSSLCARevocationCheck chain\n"
        f"SSLCARevocationFile {tmp_path}/crl\n</VirtualHost>\n").encode())

    result = certlint("check", "--server", "apache", "--ca-bundle", ROOT_PEM, conf)

    assert result.code == 1, result.output
    assert result.cpu < 10
