"""Small hostile inputs cannot make certlint use unbounded CPU or memory (SECURITY.md promise 10).

Each case runs certlint as a separate process under 10 s of CPU and 1 GB of address space
(tests/support/bounded.py) and asserts the safe outcome: a finding that says what was refused,
never a crash, a kill or an exit code 0 that hides one.
"""

from __future__ import annotations

import base64
import datetime as dt
import os

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support.apache import modules
from tests.support.bounded import CPU_SECONDS, certlint
from tests.support.paths import REPO
from tests.support.pki import StandardPKI, cert_pem, write

PKI = os.path.join(REPO, "fixtures", "pki")
ROOT_PEM = os.path.join(PKI, "root.pem")
KEY = os.path.join(PKI, "demo-keys", "leaf.key")
HEADER = modules("mpm_event", "authz_core", "ssl") + "ServerName localhost\nListen 443\n"
VHOST = ("<VirtualHost *:443>\nServerName example.test\nSSLEngine on\n"
         f"SSLCertificateFile {PKI}/fullchain.pem\nSSLCertificateKeyFile {KEY}\n</VirtualHost>\n")


def nginx_conf(folder, body: str = "", cert: str = f"{PKI}/fullchain.pem", key: str = KEY,
               extra: str = "") -> str:
    return write(folder / "nginx.conf", (
        "events {}\nhttp {\n" + body + "    server {\n        listen 443 ssl;\n"
        f"        server_name example.test;\n        ssl_certificate {cert};\n"
        f"        ssl_certificate_key {key};\n{extra}    }}\n}}\n").encode())


def config_errors(out: str) -> list[str]:
    return [line for line in out.splitlines() if " config-error " in line]


# -- <IfVersion ~ regex> -------------------------------------------------------------------------

@pytest.mark.parametrize("pattern", [
    "^(((((((((((((((((((((((((.*)*)*)*)*)*)*)*)*)*)*)*)*)*)*)*)*)*)*)*)*)*)*)*)*)*x",
    "^(\\d+|\\d+\\.)+x$",
    ".?" * 60 + "x",
    "(|)" * 40 + "x",
])
def test_ifversion_regex_with_catastrophic_backtracking_is_not_run(tmp_path, pattern):
    """SECURITY.md promise 10: the pattern is judged before it runs; the section counts as
    active and a config-error says why."""
    conf = write(tmp_path / "apache2.conf", (
        HEADER + f"<IfVersion ~ {pattern}>\nServerName other.test\n</IfVersion>\n" + VHOST
    ).encode())

    result = certlint("check", "--server", "apache", "--ca-bundle", ROOT_PEM, conf)

    errors = config_errors(result.out)
    assert result.code == 1 and len(errors) == 1, result.output
    assert "certlint does not evaluate it" in errors[0]
    assert f":{HEADER.count(chr(10)) + 1}:" in errors[0]
    assert result.cpu < CPU_SECONDS


def test_ordinary_ifversion_regex_still_decides(tmp_path):
    conf = write(tmp_path / "apache2.conf", (
        HEADER + "<IfVersion ~ ^2\\.4\\.(\\d+)$>\nInclude missing.conf\n</IfVersion>\n"
        "<IfVersion ~ ^1\\.>\nInclude missing2.conf\n</IfVersion>\n" + VHOST).encode())

    result = certlint("check", "--server", "apache", "--ca-bundle", ROOT_PEM, conf)

    errors = config_errors(result.out)
    assert len(errors) == 1 and "missing.conf" in errors[0] and "missing2" not in errors[0]


# -- Define values that expand each other --------------------------------------------------------

def test_define_chain_stops_at_the_expanded_line_cap(tmp_path):
    """SECURITY.md promise 10: ten levels of Define, each ten copies of the one before: about
    1.7 KB of config asking for 10^12 characters. The line stops growing at 64 KiB."""
    lines = ["Define V0 " + "x" * 100]
    lines += [f"Define V{n} " + f"${{V{n - 1}}}" * 10 for n in range(1, 11)]
    conf = write(tmp_path / "apache2.conf", (
        HEADER + "\n".join(lines) + "\nServerAlias ${V10}\n" + VHOST).encode())
    assert os.path.getsize(conf) < 2000 + len(HEADER) + len(VHOST)

    result = certlint("check", "--server", "apache", "--ca-bundle", ROOT_PEM, conf)

    errors = config_errors(result.out)
    assert errors and all("longer than 65536 characters" in e for e in errors), errors
    assert result.cpu < CPU_SECONDS


# -- PEM files built to make path building quadratic ---------------------------------------------

def same_subject_pem(count: int) -> bytes:
    """`count` CA certificates with one subject, each signed by the next one's key, without key
    identifiers: every one is a candidate issuer of every other."""
    now = dt.datetime.now(dt.timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Same Subject CA")])
    keys = [ec.generate_private_key(ec.SECP256R1()) for _ in range(count + 1)]
    certs = [x509.CertificateBuilder().subject_name(name).issuer_name(name)
             .public_key(keys[i].public_key()).serial_number(i + 1)
             .not_valid_before(now - dt.timedelta(days=1))
             .not_valid_after(now + dt.timedelta(days=30))
             .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
             .sign(keys[i + 1], hashes.SHA256()) for i in range(count)]
    return cert_pem(*certs)


def test_hundreds_of_same_subject_certificates(tmp_path):
    """SECURITY.md promise 10: 400 certificates sharing a subject: candidates are indexed and
    capped, not signature-checked pair by pair (160,000 checks before)."""
    pki = StandardPKI.make("example.test")
    bundle = write(tmp_path / "site.pem", cert_pem(pki.leaf.cert) + same_subject_pem(400))
    key = write(tmp_path / "site.key", pki.leaf.key_pem, 0o600)
    root = write(tmp_path / "root.pem", pki.root.pem)

    result = certlint("check", "--ca-bundle", root, nginx_conf(tmp_path, cert=bundle, key=key))

    assert result.code == 1 and "chain-" in result.out, result.output
    assert result.cpu < CPU_SECONDS


def test_thousands_of_copies_of_one_chain(tmp_path):
    """SECURITY.md promise 10: 3,000 copies of leaf + intermediate: de-duplicated by
    fingerprint before any signature check; reported as duplicates."""
    pki = StandardPKI.make("example.test")
    bundle = write(tmp_path / "site.pem", cert_pem(pki.leaf.cert, pki.inter.cert) * 3000)
    key = write(tmp_path / "site.key", pki.leaf.key_pem, 0o600)
    root = write(tmp_path / "root.pem", pki.root.pem)

    conf = nginx_conf(tmp_path, cert=bundle, key=key)

    checked = certlint("check", "--ca-bundle", root, conf)
    fixed = certlint("fix", "--offline", "--write", "--ca-bundle", root, conf,
                     cwd=str(tmp_path))

    assert checked.code == 0 and "5998 of them duplicates" in checked.out, checked.output
    assert fixed.code == 0, fixed.output  # the copies dropped: leaf and intermediate remain
    assert checked.cpu < CPU_SECONDS and fixed.cpu < CPU_SECONDS


# -- an encrypted key that asks for 2^31 PBKDF2 iterations ---------------------------------------

def _tlv(tag: int, body: bytes) -> bytes:
    if len(body) < 128:
        return bytes([tag, len(body)]) + body
    size = len(body).to_bytes((len(body).bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + body


def _oid(dotted: str) -> bytes:
    parts = [int(p) for p in dotted.split(".")]
    out = bytes([parts[0] * 40 + parts[1]])
    for value in parts[2:]:
        chunk = [value & 0x7F]
        value >>= 7
        while value:
            chunk.append(0x80 | (value & 0x7F))
            value >>= 7
        out += bytes(reversed(chunk))
    return _tlv(0x06, out)


def pbkdf2_key(iterations: int) -> bytes:
    """An EncryptedPrivateKeyInfo (PBES2, PBKDF2-HMAC-SHA256, AES-256-CBC) asking for
    `iterations`; its ciphertext is random (nobody must ever get to decrypt it)."""
    def seq(*items: bytes) -> bytes:
        return _tlv(0x30, b"".join(items))
    count = _tlv(0x02, iterations.to_bytes((iterations.bit_length() + 8) // 8, "big"))
    pbkdf2 = seq(_oid("1.2.840.113549.1.5.12"), seq(_tlv(0x04, os.urandom(16)), count,
                                                    seq(_oid("1.2.840.113549.2.9"),
                                                        _tlv(0x05, b""))))
    aes = seq(_oid("2.16.840.1.101.3.4.1.42"), _tlv(0x04, os.urandom(16)))
    der = seq(seq(_oid("1.2.840.113549.1.5.13"), seq(pbkdf2, aes)), _tlv(0x04, os.urandom(160)))
    text = base64.encodebytes(der).replace(b"\n", b"")
    return (b"-----BEGIN ENCRYPTED PRIVATE KEY-----\n"
            + b"\n".join(text[i:i + 64] for i in range(0, len(text), 64))
            + b"\n-----END ENCRYPTED PRIVATE KEY-----\n")


def test_pbkdf2_iteration_bomb_is_not_tried(tmp_path):
    """SECURITY.md promise 10: the iteration count is read from the ASN.1 first; 2^31 - 1 is
    refused and the message says nginx would spend as long."""
    key = write(tmp_path / "site.key", pbkdf2_key(2**31 - 1), 0o600)
    passwords = write(tmp_path / "pass", b"one\ntwo\nthree\n", 0o600)

    result = certlint("check", "--ca-bundle", ROOT_PEM, nginx_conf(
        tmp_path, key=key, extra=f"        ssl_password_file {passwords};\n"))

    assert " key-encrypted " in result.out, result.output
    assert "2,147,483,647 PBKDF2 iterations" in result.out
    assert "nginx would spend as long" in result.out
    assert result.cpu < CPU_SECONDS


def test_a_normally_encrypted_key_still_opens_with_its_passphrase(tmp_path):
    """The cap leaves ordinary keys alone: OpenSSL's default iteration count, right passphrase
    on the second line, no finding about the key."""
    from cryptography.hazmat.primitives import serialization

    pki = StandardPKI.make("example.test")
    key = write(tmp_path / "site.key", pki.leaf.key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"right")), 0o600)
    passwords = write(tmp_path / "pass", b"wrong\nright\n", 0o600)
    cert = write(tmp_path / "site.pem", pki.fullchain())
    root = write(tmp_path / "root.pem", pki.root.pem)

    result = certlint("check", "--ca-bundle", root, nginx_conf(
        tmp_path, cert=cert, key=key, extra=f"        ssl_password_file {passwords};\n"))

    assert result.code == 0, result.output


# -- big configs: the caps act before the work ---------------------------------------------------

def test_sixty_megabyte_single_line_nginx_config(tmp_path):
    """SECURITY.md promise 10: 3.75 million statements on one line are refused before they
    are tokenized."""
    (tmp_path / "big.conf").write_text("add_header X y; " * (60_000_000 // 16))

    result = certlint("check", nginx_conf(tmp_path, body=f"include {tmp_path}/big.conf;\n"))

    errors = config_errors(result.out)
    assert result.code == 1 and len(errors) == 1 and "statements" in errors[0], result.output
    assert result.cpu < CPU_SECONDS


def test_several_large_nginx_files_under_the_old_cap(tmp_path):
    """SECURITY.md promise 10: four files of 240,000 statements (under the one-million cap of
    before, 7 s and 850 MB): the running total stops reading at the second file."""
    for i in range(4):
        (tmp_path / f"part{i}.conf").write_text("add_header X y;\n" * 240_000)
    body = "".join(f"include {tmp_path}/part{i}.conf;\n" for i in range(4))

    result = certlint("check", "--ca-bundle", ROOT_PEM, nginx_conf(tmp_path, body=body))

    errors = config_errors(result.out)
    assert result.code == 1 and len(errors) == 1 and "part1.conf" in errors[0], result.output
    assert result.cpu < CPU_SECONDS


@pytest.mark.parametrize("shape", ["one-line", "many-lines"])
def test_large_apache_configs(tmp_path, shape):
    """SECURITY.md promise 10: a 60 MB logical line, and two million lines, are refused before
    they are split into words or lines."""
    if shape == "one-line":
        (tmp_path / "big.conf").write_text("ServerAlias" + " a.test" * 8_000_000 + "\n")
    else:
        (tmp_path / "big.conf").write_text("Header set X y\n" * 2_000_000)
    conf = write(tmp_path / "apache2.conf",
                 (HEADER + f"Include {tmp_path}/big.conf\n" + VHOST).encode())

    result = certlint("check", "--server", "apache", "--ca-bundle", ROOT_PEM, conf)

    errors = config_errors(result.out)
    assert result.code == 1 and len(errors) == 1, result.output
    assert "certlint does not read it" in errors[0] or "stops reading" in errors[0]
    assert result.cpu < CPU_SECONDS


# -- deep nesting through chained includes -------------------------------------------------------

def test_nginx_blocks_nested_through_chained_includes(tmp_path):
    """SECURITY.md promise 10: 95 nested blocks in each of 64 chained includes (6,080 levels: a
    RecursionError before) end in one config-error; the site itself is still checked."""
    for i in range(64):
        opens = "".join(f"location /l{i}x{j} {{\n" for j in range(95))
        inner = f"include {tmp_path}/n{i + 1}.conf;\n" if i < 63 else "return 200;\n"
        (tmp_path / f"n{i}.conf").write_text(opens + inner + "}\n" * 95)

    result = certlint("check", "--ca-bundle", ROOT_PEM, nginx_conf(
        tmp_path, extra=f"        include {tmp_path}/n0.conf;\n"))

    errors = config_errors(result.out)
    assert result.code == 1 and len(errors) == 1, result.output
    assert "nested more than 100 levels deep" in errors[0]


def test_apache_sections_nested_through_chained_includes(tmp_path):
    """The same for Apache sections (certlint's own bound: it says it skips the deeper part)."""
    for i in range(64):
        opens = "".join("<IfModule ssl_module>\n" for _j in range(95))  # loaded: active
        inner = f"Include {tmp_path}/b{i + 1}.conf\n" if i < 63 else "ServerAlias x.test\n"
        (tmp_path / f"b{i}.conf").write_text(opens + inner + "</IfModule>\n" * 95)
    conf = write(tmp_path / "apache2.conf",
                 (HEADER + f"Include {tmp_path}/b0.conf\n" + VHOST).encode())

    result = certlint("check", "--server", "apache", "--ca-bundle", ROOT_PEM, conf)

    errors = config_errors(result.out)
    assert result.code == 1 and len(errors) == 1 and "nested" in errors[0], result.output
    assert result.cpu < CPU_SECONDS
