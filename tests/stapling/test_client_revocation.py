"""Client-certificate revocation rules on nginx configs: CRLs and client OCSP."""

from __future__ import annotations

import datetime as dt

from certlint.context import Options
from certlint.engine import run_check
from tests.support.pki import CA, NOW, cert_pem, crl_pem, key_pem, write

DAY = dt.timedelta(days=1)


def setup_pki(tmp_path, client_ocsp: bool = False):
    server_root = CA("Revocation Server Root")
    leaf = server_root.intermediate("Revocation Server CA").leaf("example.test")
    d = tmp_path / "pki"
    write(d / "fullchain.pem", cert_pem(leaf.cert, leaf.ca.cert))
    write(d / "leaf.key", key_pem(leaf.key), 0o600)
    write(d / "server-root.pem", server_root.pem)
    croot = CA("Client Root")
    cinter = croot.intermediate("Client Issuing CA",
                                ocsp=["http://ocsp.client.test/"] if client_ocsp else None)
    write(d / "client-ca.pem", cert_pem(cinter.cert, croot.cert))
    write(d / "client-root-only.pem", croot.pem)
    return croot, cinter


def check(tmp_path, body: str, http_extra: str = "", **options):
    text = f"""events {{}}
http {{
{http_extra}
    server {{
        listen 443 ssl;
        server_name example.test;
        ssl_certificate pki/fullchain.pem;
        ssl_certificate_key pki/leaf.key;
{body}
    }}
}}
"""
    path = write(tmp_path / "nginx.conf", text.encode())
    opts = Options(ca_bundles=[str(tmp_path / "pki" / "server-root.pem")], server="nginx",
                   **options)
    return run_check([path], opts).findings


def rules(findings, *names):
    return sorted((f.rule, f.severity, f.line) for f in findings if f.rule in names)


def line_of(tmp_path, needle):
    lines = (tmp_path / "nginx.conf").read_text().splitlines()
    return next(i for i, ln in enumerate(lines, 1) if needle in ln)


CLIENT = ("        ssl_verify_client on;\n        ssl_verify_depth 2;\n"
          "        ssl_client_certificate pki/client-ca.pem;\n        ssl_crl pki/crl.pem;")
CRL_RULES = ("crl-expired", "crl-expiring-soon", "crl-unknown-issuer", "crl-missing-for-ca")


def test_current_crls_for_every_ca_are_quiet(tmp_path):
    croot, cinter = setup_pki(tmp_path)
    write(tmp_path / "pki" / "crl.pem", crl_pem(cinter.crl()) + crl_pem(croot.crl()))
    assert rules(check(tmp_path, CLIENT), *CRL_RULES) == []


def test_expired_crl_is_an_error_at_ssl_crl(tmp_path):
    croot, cinter = setup_pki(tmp_path)
    write(tmp_path / "pki" / "crl.pem",
          crl_pem(cinter.crl(last_update=NOW - 10 * DAY, next_update=NOW - DAY))
          + crl_pem(croot.crl()))
    findings = check(tmp_path, CLIENT)
    at = line_of(tmp_path, "ssl_crl")
    assert rules(findings, *CRL_RULES) == [("crl-expired", "error", at)]
    message = next(f.message for f in findings if f.rule == "crl-expired")
    assert "'Client Issuing CA'" in message and "(12:CRL has expired)" in message


def test_a_current_crl_next_to_an_expired_one_of_the_same_ca_wins(tmp_path):
    croot, cinter = setup_pki(tmp_path)
    write(tmp_path / "pki" / "crl.pem",
          crl_pem(cinter.crl(last_update=NOW - 10 * DAY, next_update=NOW - DAY))
          + crl_pem(cinter.crl()) + crl_pem(croot.crl()))
    assert rules(check(tmp_path, CLIENT), *CRL_RULES) == []


def test_crl_expiring_within_a_quarter_of_its_life_warns(tmp_path):
    croot, cinter = setup_pki(tmp_path)
    write(tmp_path / "pki" / "crl.pem",
          crl_pem(cinter.crl(last_update=NOW - 6 * DAY, next_update=NOW + DAY))
          + crl_pem(croot.crl(last_update=NOW - DAY, next_update=NOW + 6 * DAY)))
    assert rules(check(tmp_path, CLIENT), *CRL_RULES) == [
        ("crl-expiring-soon", "warning", line_of(tmp_path, "ssl_crl"))]


def test_crl_not_yet_valid_is_reported(tmp_path):
    croot, cinter = setup_pki(tmp_path)
    write(tmp_path / "pki" / "crl.pem", crl_pem(cinter.crl(last_update=NOW + DAY,
                                                           next_update=NOW + 8 * DAY))
          + crl_pem(croot.crl()))
    findings = check(tmp_path, CLIENT)
    assert [f.message for f in findings if f.rule == "crl-expired"][0].count("not valid yet")


def test_crls_are_ignored_without_client_verification(tmp_path):
    _croot, cinter = setup_pki(tmp_path)
    write(tmp_path / "pki" / "crl.pem", crl_pem(cinter.crl(last_update=NOW - 10 * DAY,
                                                           next_update=NOW - DAY)))
    body = "        ssl_crl pki/crl.pem;"
    assert rules(check(tmp_path, body), *CRL_RULES) == []


def test_missing_root_crl_rejects_every_client(tmp_path):
    _croot, cinter = setup_pki(tmp_path)
    write(tmp_path / "pki" / "crl.pem", crl_pem(cinter.crl()))
    findings = check(tmp_path, CLIENT)
    assert rules(findings, *CRL_RULES) == [
        ("crl-missing-for-ca", "error", line_of(tmp_path, "ssl_crl"))]
    message = next(f.message for f in findings if f.rule == "crl-missing-for-ca")
    assert "'Client Root'" in message and "unable to get certificate CRL" in message


def test_crl_of_a_foreign_ca_and_of_an_impostor(tmp_path):
    croot, cinter = setup_pki(tmp_path)
    stranger = CA("Some Other CA")
    impostor = CA("Client Issuing CA")  # same name, other key
    write(tmp_path / "pki" / "crl.pem", crl_pem(cinter.crl()) + crl_pem(croot.crl())
          + crl_pem(stranger.crl()) + crl_pem(impostor.crl()))
    got = rules(check(tmp_path, CLIENT), *CRL_RULES)
    at = line_of(tmp_path, "ssl_crl")
    assert got == [("crl-unknown-issuer", "error", at), ("crl-unknown-issuer", "warning", at)]


def test_client_ocsp_without_resolver_rejects_everyone(tmp_path):
    setup_pki(tmp_path, client_ocsp=True)
    body = ("        ssl_verify_client on;\n        ssl_verify_depth 2;\n"
            "        ssl_client_certificate pki/client-ca.pem;\n        ssl_ocsp on;")
    findings = check(tmp_path, body)
    at = line_of(tmp_path, "ssl_ocsp on")
    assert rules(findings, "client-ocsp-no-responder") == [("client-ocsp-no-responder",
                                                            "error", at)]
    assert "no resolver" in findings[0].message or any(
        "no resolver" in f.message for f in findings)
    with_resolver = body + "\n        resolver 127.0.0.1;"
    assert rules(check(tmp_path, with_resolver), "client-ocsp-no-responder") == []


def test_client_ocsp_with_intermediate_lacking_ocsp_url(tmp_path):
    setup_pki(tmp_path, client_ocsp=False)
    body = ("        ssl_verify_client on;\n        ssl_verify_depth 2;\n"
            "        ssl_client_certificate pki/client-ca.pem;\n        ssl_ocsp on;\n"
            "        resolver 127.0.0.1;")
    findings = check(tmp_path, body)
    assert rules(findings, "client-ocsp-no-responder") == [
        ("client-ocsp-no-responder", "error", line_of(tmp_path, "ssl_ocsp on"))]
    leaf_only = body.replace("ssl_ocsp on", "ssl_ocsp leaf")
    assert rules(check(tmp_path, leaf_only), "client-ocsp-no-responder") == []
    responder = body + "\n        ssl_ocsp_responder http://127.0.0.1:8080/;"
    assert rules(check(tmp_path, responder), "client-ocsp-no-responder") == []


def test_der_or_garbage_crl_stops_nginx_even_without_client_verification(tmp_path):
    from cryptography.hazmat.primitives import serialization

    from tests.support import servers

    croot, _cinter = setup_pki(tmp_path)
    write(tmp_path / "pki" / "crl.pem", croot.crl().public_bytes(serialization.Encoding.DER))
    findings = check(tmp_path, "        ssl_crl pki/crl.pem;")
    assert rules(findings, "crl-file-unparseable") == [
        ("crl-file-unparseable", "error", line_of(tmp_path, "ssl_crl"))]
    message = next(f.message for f in findings if f.rule == "crl-file-unparseable")
    assert "DER" in message and "openssl crl -inform der" in message
    result = servers.nginx_test(str(tmp_path / "nginx.conf"), state_dir=str(tmp_path))
    assert not result.ok and "no certificate or crl found" in result.output
    write(tmp_path / "pki" / "crl.pem", crl_pem(croot.crl()))
    assert rules(check(tmp_path, "        ssl_crl pki/crl.pem;"), "crl-file-unparseable") == []
    assert servers.nginx_test(str(tmp_path / "nginx.conf"), state_dir=str(tmp_path)).ok


def test_server_chain_in_ssl_trusted_certificate_needs_no_crl(tmp_path):
    """ssl_trusted_certificate beside ssl_client_certificate holds the stapling chain."""
    croot, cinter = setup_pki(tmp_path)
    write(tmp_path / "pki" / "crl.pem", crl_pem(cinter.crl()) + crl_pem(croot.crl()))
    body = CLIENT + "\n        ssl_trusted_certificate pki/fullchain.pem;"
    assert rules(check(tmp_path, body), *CRL_RULES) == []


def test_hostile_revocation_files_give_findings_not_crashes(tmp_path):
    """Empty, truncated, binary and directory paths: every rule still runs to a verdict."""
    croot, cinter = setup_pki(tmp_path)
    good = crl_pem(cinter.crl()) + crl_pem(croot.crl())
    cases = {
        b"": "crl-file-unparseable",
        good[: len(good) // 2]: None,  # truncated second block: the first CRL still loads
        b"\x00\xff" * 5000: "crl-file-unparseable",
        b"-----BEGIN X509 CRL-----\nnot base64 !!\n-----END X509 CRL-----\n":
            "crl-file-unparseable",
    }
    for data, rule in cases.items():
        write(tmp_path / "pki" / "crl.pem", data)
        found = check(tmp_path, CLIENT)
        assert not [f for f in found if "internal error" in f.message], found
        if rule:
            assert rule in {f.rule for f in found}
    (tmp_path / "pki" / "crl.pem").unlink()
    (tmp_path / "pki" / "crl.pem").mkdir()
    found = check(tmp_path, CLIENT)
    assert not [f for f in found if "internal error" in f.message]


def test_hostile_stapling_files_give_findings_not_crashes(tmp_path):
    setup_pki(tmp_path)
    for data in (b"", b"\x30\x03\x0a\x01\x06", b"\x00" * 100, b"0" * 10):
        write(tmp_path / "resp.der", data)
        found = check(tmp_path, "        ssl_stapling on;\n        ssl_stapling_file resp.der;")
        assert not [f for f in found if "internal error" in f.message], found
