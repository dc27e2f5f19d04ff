"""What certlint says about Apache configs, checked against a real apache2 on 127.0.0.1.

Apache refuses to start exactly where certlint says it will (AH02565), and the chain Apache
really sends (`openssl s_client -verify_return_error`) fails or verifies exactly where certlint
says so: leaf-only vs complete, SSLCertificateChainFile replacing the file's intermediates, and
OpenSSL completing a leaf-only chain from SSLCACertificateFile.
"""

from __future__ import annotations

import os

import pytest

from tests.support import servers
from tests.support.apache import ApacheServer, apache_binary
from tests.support.paths import REPO
from tests.support.trees import TLS_MODULES, apache_vhost, write_apache

ROOT = REPO
FIXTURES = os.path.join(ROOT, "fixtures", "apache")
PKI = os.path.join(ROOT, "fixtures", "pki")
ROOT_CA = os.path.join(PKI, "root.pem")


@pytest.fixture(autouse=True)
def _apache():
    apache_binary()


def findings(certlint, entry: str, *args: str) -> list[dict]:
    _code, payload = certlint.json(entry, "--server", "apache", "--ca-bundle", ROOT_CA, *args)
    return payload["findings"]


def rules(found: list[dict]) -> list[str]:
    return sorted(f["rule"] for f in found)


def write_conf(tmp_path, vhost: str) -> str:
    """apache2.conf: example.test on *:443 with `vhost` (the certificate lines and more)."""
    return write_apache(tmp_path / "apache2.conf", apache_vhost(None, None, body=vhost),
                        modules=TLS_MODULES)


def concat(tmp_path, name: str, *parts: str) -> str:
    out = tmp_path / name
    out.write_bytes(b"".join(open(os.path.join(PKI, p), "rb").read() for p in parts))
    return str(out)


def served_chain(tmp_path, entry: str) -> tuple[servers.Result, int]:
    """Start Apache on the config and connect: (s_client result, certificates sent)."""
    with ApacheServer(entry, str(tmp_path / "state")) as server:
        result = servers.s_client(server.port(443), "example.test", ROOT_CA,
                                  extra=["-showcerts"])
    return result, result.output.count("-----BEGIN CERTIFICATE-----")


@pytest.mark.parametrize("case,rule", [("wrong-order", "chain-wrong-order"),
                                       ("key-mismatch", "key-mismatch")])
def test_apache_refuses_to_start_where_certlint_says_it_will(case, rule, certlint, tmp_path):
    entry = os.path.join(FIXTURES, case, "apache2.conf")
    found = findings(certlint, entry)
    assert rules(found) == [rule]
    assert "AH02565: Certificate and private key" in found[0]["message"]
    assert "Apache refuses to start" in found[0]["message"]

    server = ApacheServer(entry, str(tmp_path))
    result = server.start()
    server.stop()
    assert not result.ok
    assert "AH02565: Certificate and private key" in result.output
    assert "do not match" in result.output


def test_leaf_only_fails_for_openssl_clients_as_certlint_says(certlint, tmp_path):
    entry = os.path.join(FIXTURES, "leaf-only", "apache2.conf")
    found = findings(certlint, entry)
    assert rules(found) == ["apache-chain-file-missing"]
    assert (found[0]["path"], found[0]["line"]) == (entry, 11)
    message = found[0]["message"]
    assert "SSLCertificateChainFile" in message and "2.4.8" in message
    assert "unable to get local issuer certificate" in message

    result, sent = served_chain(tmp_path, entry)
    assert not result.ok
    assert sent == 1
    assert "unable to get local issuer certificate" in result.output or \
        "unable to verify the first certificate" in result.output


@pytest.mark.parametrize("case", ["complete", "chain-file", "ca-autochain"])
def test_complete_chains_verify_as_certlint_says(case, certlint, tmp_path):
    entry = os.path.join(FIXTURES, case, "apache2.conf")
    found = findings(certlint, entry)
    assert [f for f in found if f["severity"] != "info"] == []

    result, sent = served_chain(tmp_path, entry)
    assert result.ok, result.output
    assert sent >= 2


def test_root_in_the_ca_file_is_sent_as_certlint_says(certlint, tmp_path):
    """A leaf-only SSLCertificateFile with the intermediate *and* the root in
    SSLCACertificateFile: OpenSSL's auto-chain sends all three. The fix (a full chain in
    SSLCertificateFile) stops the auto-chain: two certificates, no root."""
    entry = os.path.join(FIXTURES, "ca-autochain-root", "apache2.conf")
    found = findings(certlint, entry)
    assert rules(found) == ["chain-contains-root"]
    assert (found[0]["path"], found[0]["line"]) == (entry, 11)
    assert "sends 3 certificates" in found[0]["message"]
    assert "SSLCACertificateFile ../../pki/inter-and-root.pem" in found[0]["message"]
    result, sent = served_chain(tmp_path, entry)
    assert result.ok, result.output
    assert sent == 3
    root_pem = open(ROOT_CA).read().strip()
    assert root_pem.split("\n")[1] in result.output  # the third one is the fixture root

    leaf = concat(tmp_path, "leaf.pem", "leaf.pem")
    mine = write_conf(tmp_path, f"    SSLCertificateFile {leaf}\n"
                      f"    SSLCertificateKeyFile {PKI}/demo-keys/leaf.key\n"
                      f"    SSLCACertificateFile {PKI}/inter-and-root.pem\n")
    assert rules(findings(certlint, mine)) == ["chain-contains-root"]
    fixed = certlint("fix", "--server", "apache", "--ca-bundle", ROOT_CA, "--write", mine)
    assert fixed.exit_code == 0, fixed.output
    assert "leaf.fullchain.pem" in open(mine).read()
    assert findings(certlint, mine) == []
    result, sent = served_chain(tmp_path / "after", mine)
    assert result.ok, result.output
    assert sent == 2


def test_define_option_reads_the_branch_apache_runs_with_d(certlint, tmp_path):
    """`<IfDefine SSL>` picks the vhost: `--define SSL` makes certlint read the branch that
    `apache2 -D SSL` runs (it starts), without it the `!SSL` branch (Apache refuses: AH02565)."""
    entry = write_conf(tmp_path, "    <IfDefine SSL>\n"
                       f"        SSLCertificateFile {PKI}/fullchain.pem\n"
                       "    </IfDefine>\n"
                       "    <IfDefine !SSL>\n"
                       f"        SSLCertificateFile {PKI}/wrong-order.pem\n"
                       "    </IfDefine>\n"
                       f"    SSLCertificateKeyFile {PKI}/demo-keys/leaf.key\n")
    assert findings(certlint, entry, "--define", "SSL") == []
    assert rules(findings(certlint, entry, "--define", "LOCAL")) == ["chain-wrong-order"]
    assert "chain-wrong-order" in rules(findings(certlint, entry))  # unknown: both branches

    with ApacheServer(entry, str(tmp_path / "with-d"), defines=("SSL",)) as server:
        result = servers.s_client(server.port(443), "example.test", ROOT_CA)
    assert result.ok, result.output
    server = ApacheServer(entry, str(tmp_path / "without-d"), defines=("LOCAL",))
    started = server.start()
    server.stop()
    assert not started.ok
    assert "AH02565" in started.output


def test_chain_file_replaces_the_intermediates_of_the_certificate_file(certlint, tmp_path):
    """With SSLCertificateChainFile set, Apache sends the first certificate of
    SSLCertificateFile plus the chain file; intermediates in the certificate file are ignored."""
    good_file = concat(tmp_path, "good.pem", "fullchain.pem")
    wrong_chain = os.path.join(PKI, "other-inter.pem")
    entry = write_conf(tmp_path, f"    SSLCertificateFile {good_file}\n"
                       f"    SSLCertificateKeyFile {PKI}/demo-keys/leaf.key\n"
                       f"    SSLCertificateChainFile {wrong_chain}\n")
    found = findings(certlint, entry)
    assert "chain-incomplete" in rules(found)
    assert "apache-chain-file-deprecated" in rules(found)
    result, sent = served_chain(tmp_path, entry)
    assert not result.ok
    assert sent == 2  # the leaf and other-inter.pem: the good intermediate is not sent

    leaf_and_stray = concat(tmp_path, "stray.pem", "leaf.pem", "other-inter.pem")
    entry = write_conf(tmp_path, f"    SSLCertificateFile {leaf_and_stray}\n"
                       f"    SSLCertificateKeyFile {PKI}/demo-keys/leaf.key\n"
                       f"    SSLCertificateChainFile {PKI}/inter.pem\n")
    found = findings(certlint, entry)
    assert rules(found) == ["apache-chain-file-deprecated"]
    result, sent = served_chain(tmp_path, entry)
    assert result.ok, result.output
    assert sent == 2


def test_ca_file_completes_only_a_leaf_only_file(certlint, tmp_path):
    """OpenSSL's auto-chain (from SSLCACertificateFile) runs only when no chain is configured:
    a file with a wrong intermediate stays broken even though the CA file holds the right one."""
    wrong = concat(tmp_path, "wrong-inter.pem", "leaf.pem", "other-inter.pem")
    entry = write_conf(tmp_path, f"    SSLCertificateFile {wrong}\n"
                       f"    SSLCertificateKeyFile {PKI}/demo-keys/leaf.key\n"
                       f"    SSLCACertificateFile {PKI}/inter.pem\n")
    found = findings(certlint, entry)
    assert "chain-incomplete" in rules(found)
    result, _sent = served_chain(tmp_path, entry)
    assert not result.ok


def test_listen_https_alone_makes_a_tls_site(certlint, tmp_path):
    """`Listen 443 https` without SSLEngine: httpd gives `<VirtualHost *:443>` the protocol of
    the Listen with its address, so mod_ssl switches TLS on and serves the certificate. certlint
    checks it like any TLS site (leaf only: apache-chain-file-missing), and s_client gets that
    leaf and fails to verify it (not 'wrong version number': this is TLS)."""
    conf = write_apache(tmp_path / "apache2.conf",
                        apache_vhost(f"{PKI}/leaf.pem", f"{PKI}/demo-keys/leaf.key",
                                     engine=False),
                        modules=TLS_MODULES, listen="443 https")
    assert rules(findings(certlint, str(conf))) == ["apache-chain-file-missing"]
    result, sent = served_chain(tmp_path, str(conf))
    assert not result.ok and sent == 1, result.output
    assert "wrong version number" not in result.output


def test_main_server_tls_is_a_site_only_where_it_answers(certlint, tmp_path):
    """The main server's leaf-only certificate matters when it serves the port itself, and not
    when a `<VirtualHost *:443>` takes every connection on that port."""
    shadowed = os.path.join(FIXTURES, "main-server-shadowed", "apache2.conf")
    assert findings(certlint, shadowed) == []
    for name in ("example.test", "www.example.test"):
        with ApacheServer(shadowed, str(tmp_path / name)) as server:
            result = servers.s_client(server.port(443), name, ROOT_CA)
        assert result.ok, result.output

    alone = os.path.join(FIXTURES, "main-server-tls", "apache2.conf")
    assert rules(findings(certlint, alone)) == ["apache-chain-file-missing"]
    result, sent = served_chain(tmp_path, alone)
    assert not result.ok and sent == 1


def test_vhost_certificates_replace_the_main_servers_by_index(certlint, tmp_path):
    """mod_ssl merges SSLCertificateFile by index: the vhost's first certificate replaces the
    main server's first, the main server's second (RSA) stays. certlint's slots and the
    certificates Apache really serves to ECDSA and RSA clients agree."""
    from certlint.parsers.apache import parse_apache

    conf = write_apache(
        tmp_path / "apache2.conf",
        apache_vhost(f"{PKI}/wildcard-fullchain.pem", f"{PKI}/demo-keys/wildcard.key"),
        modules=TLS_MODULES,
        main_extra=f"SSLCertificateFile {PKI}/fullchain.pem\n"
        f"SSLCertificateKeyFile {PKI}/demo-keys/leaf.key\n"
        f"SSLCertificateFile {PKI}/rsa-fullchain.pem\n"
        f"SSLCertificateKeyFile {PKI}/demo-keys/rsa.key\n")
    (site,) = parse_apache(str(conf)).sites
    assert [os.path.basename(s.cert.path) for s in site.slots] == [
        "wildcard-fullchain.pem", "rsa-fullchain.pem"]
    assert findings(certlint, str(conf)) == []
    with ApacheServer(str(conf), str(tmp_path / "state")) as server:
        ec = servers.s_client(server.port(443), "example.test", ROOT_CA,
                              extra=["-tls1_2", "-sigalgs", "ECDSA+SHA256"])
        rsa = servers.s_client(server.port(443), "example.test", ROOT_CA,
                               extra=["-tls1_2", "-sigalgs", "RSA-PSS+SHA256:RSA+SHA256"])
    assert ec.ok and "CN = *.example.test" in ec.output
    assert rsa.ok and "subject=CN = example.test" in rsa.output


def test_missing_file_message_quotes_what_apache_prints(certlint, tmp_path):
    entry = os.path.join(FIXTURES, "missing-file", "apache2.conf")
    (finding,) = findings(certlint, entry)
    assert finding["message"].startswith("SSLCertificateFile ../../pki/no-such-cert.pem:")
    result = ApacheServer(entry, str(tmp_path)).syntax()
    assert not result.ok
    apache_says = next(line for line in result.output.splitlines()
                       if "does not exist or is empty" in line)
    assert apache_says in finding["message"]


@pytest.mark.parametrize("case,spelled", [("key-mismatch", "SSLCertificateKeyFile"),
                                          ("encrypted-key", "SSLCertificateKeyFile"),
                                          ("der-cert", "SSLCertificateFile")])
def test_apache_messages_spell_directives_as_the_docs_do(case, spelled, certlint):
    (finding,) = findings(certlint, os.path.join(FIXTURES, case, "apache2.conf"))
    assert finding["message"].startswith(spelled + " ")


@pytest.mark.parametrize("case,name", [("hostname-mismatch", "shop.other.test"),
                                       ("alias-mismatch", "shop.other.test")])
def test_clients_fail_on_the_name_certlint_reports(case, name, certlint, tmp_path):
    entry = os.path.join(FIXTURES, case, "apache2.conf")
    (finding,) = findings(certlint, entry)
    assert finding["rule"] == "hostname-mismatch" and name in finding["message"]
    with ApacheServer(entry, str(tmp_path)) as server:
        wrong = servers.s_client(server.port(443), name, ROOT_CA)
        if case == "alias-mismatch":
            right = servers.s_client(server.port(443), "www.example.test", ROOT_CA)
            assert right.ok, right.output
    assert not wrong.ok
    assert "hostname mismatch" in wrong.output.lower()


@pytest.mark.parametrize("case,rule,client_error", [
    ("expired", "cert-expired", "certificate has expired"),
    ("selfsigned", "chain-untrusted-root", "self-signed certificate"),
])
def test_clients_fail_the_way_certlint_says(case, rule, client_error, certlint, tmp_path):
    entry = os.path.join(FIXTURES, case, "apache2.conf")
    found = findings(certlint, entry)
    finding = next(f for f in found if f["rule"] == rule)
    assert client_error in finding["message"]
    with ApacheServer(entry, str(tmp_path)) as server:
        result = servers.s_client(server.port(443), "example.test", ROOT_CA)
    assert not result.ok
    assert client_error in result.output


def test_ca_path_completes_a_leaf_only_file_like_the_ca_file(certlint, tmp_path):
    """SSLCACertificatePath (hash-named entries, `openssl rehash`) feeds the same auto-chain."""
    import shutil
    import subprocess

    cadir = tmp_path / "ca"
    cadir.mkdir()
    shutil.copy(os.path.join(PKI, "inter.pem"), cadir / "inter.pem")
    entry = write_conf(tmp_path, f"    SSLCertificateFile {PKI}/leaf.pem\n"
                       f"    SSLCertificateKeyFile {PKI}/demo-keys/leaf.key\n"
                       f"    SSLCACertificatePath {cadir}\n")
    # without hash links OpenSSL cannot find the intermediate: leaf only, and certlint agrees
    assert rules(findings(certlint, entry)) == ["apache-chain-file-missing"]
    result, sent = served_chain(tmp_path / "plain", entry)
    assert not result.ok and sent == 1

    subprocess.run([servers.require("openssl"), "rehash", str(cadir)], check=True,
                   capture_output=True)
    assert findings(certlint, entry) == []
    result, sent = served_chain(tmp_path / "hashed", entry)
    assert result.ok and sent == 2, result.output

    # the root in the folder too: OpenSSL's auto-chain sends it as well
    shutil.copy(ROOT_CA, cadir / "root.pem")
    subprocess.run([servers.require("openssl"), "rehash", str(cadir)], check=True,
                   capture_output=True)
    found = findings(certlint, entry)
    assert rules(found) == ["chain-contains-root"]
    assert f"SSLCACertificatePath {cadir}" in found[0]["message"]
    result, sent = served_chain(tmp_path / "with-root", entry)
    assert result.ok and sent == 3, result.output
