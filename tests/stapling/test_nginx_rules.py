"""Stapling rules on nginx configs: what certlint reports, where, and the fix it plans."""

from __future__ import annotations

import datetime as dt

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from certlint.context import Options
from certlint.engine import run_check
from certlint.fix.plan import InsertDirective, NewFile, ReplaceArg
from certlint.rules import _stapling_fix
from tests.support.pki import CA, NOW, cert_pem, key_pem, write

OCSP = "http://ocsp.example.test/"


def make_pki(tmp_path, **leaf_kwargs):
    root = CA("Stapling Test Root")
    inter = root.intermediate("Stapling Test Intermediate")
    leaf = inter.leaf("example.test", **leaf_kwargs)
    d = tmp_path / "pki"
    write(d / "fullchain.pem", cert_pem(leaf.cert, inter.cert))
    write(d / "leaf.pem", cert_pem(leaf.cert))
    write(d / "leaf.key", key_pem(leaf.key), 0o600)
    write(d / "root.pem", root.pem)
    write(d / "inter.pem", inter.pem)
    write(d / "chain.pem", cert_pem(inter.cert, root.cert))
    return root, inter, leaf


def conf(tmp_path, server_body: str, http_extra: str = "", servers_extra: str = "") -> str:
    text = f"""events {{}}
http {{
{http_extra}
    server {{
        listen 443 ssl;
        server_name example.test;
        ssl_certificate pki/{{cert}};
        ssl_certificate_key pki/leaf.key;
{server_body}
    }}
{servers_extra}
}}
"""
    return text


def check(tmp_path, server_body="", http_extra="", servers_extra="", cert="fullchain.pem",
          **options):
    text = conf(tmp_path, server_body, http_extra, servers_extra).replace("{cert}", cert)
    path = write(tmp_path / "nginx.conf", text.encode())
    opts = Options(ca_bundles=[str(tmp_path / "pki" / "root.pem")], server="nginx", **options)
    return run_check([path], opts).findings


def by_rule(findings, rule):
    return [f for f in findings if f.rule == rule]


def line_of(tmp_path, needle: str) -> int:
    lines = (tmp_path / "nginx.conf").read_text().splitlines()
    return next(i for i, ln in enumerate(lines, 1) if needle in ln)


# -- stapling-no-resolver ----------------------------------------------------------------------


def test_no_resolver_points_at_the_servers_ssl_stapling_line(tmp_path):
    make_pki(tmp_path, ocsp=[OCSP])
    found = by_rule(check(tmp_path, "        ssl_stapling on;"), "stapling-no-resolver")
    assert [(f.line, f.severity) for f in found] == [(line_of(tmp_path, "ssl_stapling on"),
                                                      "error")]
    assert "no resolver defined to resolve ocsp.example.test" in found[0].message


def test_no_resolver_inherited_stapling_points_at_the_server_block(tmp_path):
    make_pki(tmp_path, ocsp=[OCSP])
    found = by_rule(check(tmp_path, http_extra="    ssl_stapling on;"), "stapling-no-resolver")
    assert [f.line for f in found] == [line_of(tmp_path, "server {")]


def test_resolver_in_http_counts_but_a_sibling_servers_does_not(tmp_path):
    make_pki(tmp_path, ocsp=[OCSP])
    assert not by_rule(check(tmp_path, "        ssl_stapling on;",
                             http_extra="    resolver 127.0.0.53;"), "stapling-no-resolver")
    sibling = "    server {\n        listen 80;\n        resolver 127.0.0.53;\n    }"
    assert by_rule(check(tmp_path, "        ssl_stapling on;", servers_extra=sibling),
                   "stapling-no-resolver")


def test_resolver_in_a_location_does_not_count_and_is_named(tmp_path):
    make_pki(tmp_path, ocsp=[OCSP])
    body = ("        ssl_stapling on;\n"
            "        location / {\n            resolver 127.0.0.53;\n        }")
    found = by_rule(check(tmp_path, body), "stapling-no-resolver")
    assert len(found) == 1 and "inside a location" in found[0].message


def test_no_resolver_quiet_with_stapling_file_ip_responder_or_stapling_off(tmp_path):
    make_pki(tmp_path, ocsp=["http://192.0.2.10/"])
    assert not by_rule(check(tmp_path, "        ssl_stapling on;"), "stapling-no-resolver")
    make_pki(tmp_path, ocsp=[OCSP])
    assert not by_rule(check(tmp_path, "        ssl_stapling on;\n"
                                       "        ssl_stapling_responder http://[2001:db8::1]/;"),
                       "stapling-no-resolver")
    assert not by_rule(check(tmp_path, "        ssl_stapling off;"), "stapling-no-resolver")
    write(tmp_path / "resp.der", b"x")
    assert not by_rule(check(tmp_path, "        ssl_stapling on;\n"
                                       "        ssl_stapling_file resp.der;"),
                       "stapling-no-resolver")


def test_resolver_fix_uses_resolver_option_and_says_so(tmp_path):
    make_pki(tmp_path, ocsp=[OCSP])
    found = by_rule(check(tmp_path, "        ssl_stapling on;", resolvers=["10.0.0.2", "::1"]),
                    "stapling-no-resolver")
    plan = found[0].fix
    at = line_of(tmp_path, "ssl_stapling on")
    path = str(tmp_path / "nginx.conf")
    assert plan.edits == [InsertDirective(path, at, "resolver 10.0.0.2 [::1] valid=300s;"),
                          InsertDirective(path, at, "resolver_timeout 5s;")]
    assert any("--resolver" in n for n in plan.notes)
    assert found[0].fixable


def test_resolver_fix_falls_back_to_resolv_conf(tmp_path, monkeypatch):
    make_pki(tmp_path, ocsp=[OCSP])
    resolv = write(tmp_path / "resolv.conf", b"search x\nnameserver 10.1.2.3\n"
                                             b"nameserver fe80::1%eth0\n")
    monkeypatch.setattr(_stapling_fix, "RESOLV_CONF", resolv)
    plan = by_rule(check(tmp_path, "        ssl_stapling on;"), "stapling-no-resolver")[0].fix
    assert plan.edits[0].text == "resolver 10.1.2.3 valid=300s;"
    assert any(resolv in n for n in plan.notes)


# -- stapling-no-ocsp-url ----------------------------------------------------------------------


def test_no_ocsp_url_warns_and_plans_stapling_off(tmp_path):
    make_pki(tmp_path)
    found = by_rule(check(tmp_path, "        ssl_stapling on;"), "stapling-no-ocsp-url")
    at = line_of(tmp_path, "ssl_stapling on")
    assert [(f.line, f.severity) for f in found] == [(at, "warning")]
    assert '"ssl_stapling" ignored, no OCSP responder URL in the certificate' in found[0].message
    assert found[0].fix.edits == [ReplaceArg(str(tmp_path / "nginx.conf"), at, "ssl_stapling",
                                             "on", "off")]
    assert found[0].fix.notes


def test_no_ocsp_url_inherited_from_http_inserts_off_in_the_server(tmp_path):
    make_pki(tmp_path)
    found = by_rule(check(tmp_path, http_extra="    ssl_stapling on;"), "stapling-no-ocsp-url")
    edit = found[0].fix.edits[0]
    assert isinstance(edit, InsertDirective) and edit.text == "ssl_stapling off;"
    assert edit.line == line_of(tmp_path, "ssl_certificate_key")


def test_no_ocsp_url_quiet_with_a_responder_override(tmp_path):
    make_pki(tmp_path)
    assert not by_rule(check(tmp_path, "        ssl_stapling on;\n        resolver 127.0.0.1;\n"
                                       "        ssl_stapling_responder http://ocsp.test/;"),
                       "stapling-no-ocsp-url")


# -- issuer / trusted chain --------------------------------------------------------------------


def test_issuer_missing_for_a_leaf_only_file(tmp_path):
    make_pki(tmp_path, ocsp=[OCSP])
    body = "        ssl_stapling on;\n        resolver 127.0.0.1;"
    found = by_rule(check(tmp_path, body, cert="leaf.pem"), "stapling-issuer-missing")
    assert [f.line for f in found] == [line_of(tmp_path, "ssl_certificate pki")]
    assert "issuer certificate not found" in found[0].message
    quiet = body + "\n        ssl_trusted_certificate pki/inter.pem;"
    assert not by_rule(check(tmp_path, quiet, cert="leaf.pem"), "stapling-issuer-missing")


def test_verify_without_trusted_certificate_plans_a_chain_file(tmp_path):
    root, inter, _ = make_pki(tmp_path, ocsp=[OCSP])
    body = "        ssl_stapling on;\n        ssl_stapling_verify on;\n        resolver 127.0.0.1;"
    found = by_rule(check(tmp_path, body), "stapling-verify-no-trusted-cert")
    assert [f.line for f in found] == [line_of(tmp_path, "ssl_stapling_verify")]
    plan = found[0].fix
    new = [e for e in plan.edits if isinstance(e, NewFile)]
    assert new[0].path == str(tmp_path / "pki" / "fullchain.ocsp-chain.pem")
    assert new[0].content == cert_pem(inter.cert, root.cert)
    insert = [e for e in plan.edits if isinstance(e, InsertDirective)]
    assert insert[0].text == "ssl_trusted_certificate pki/fullchain.ocsp-chain.pem;"


def test_verify_with_trusted_file_lacking_the_root(tmp_path):
    make_pki(tmp_path, ocsp=[OCSP])
    body = ("        ssl_stapling on;\n        ssl_stapling_verify on;\n        resolver 127.0.0.1;"
            "\n        ssl_trusted_certificate pki/inter.pem;")
    found = by_rule(check(tmp_path, body), "stapling-verify-no-trusted-cert")
    assert [f.line for f in found] == [line_of(tmp_path, "ssl_trusted_certificate")]
    replace = [e for e in found[0].fix.edits if isinstance(e, ReplaceArg)]
    assert replace[0].new == "pki/fullchain.ocsp-chain.pem"
    good = body.replace("pki/inter.pem", "pki/chain.pem")
    assert not by_rule(check(tmp_path, good), "stapling-verify-no-trusted-cert")
    root_only = body.replace("pki/inter.pem", "pki/root.pem")
    assert not by_rule(check(tmp_path, root_only), "stapling-verify-no-trusted-cert")


# -- must-staple, dynamic certificates ---------------------------------------------------------


def test_must_staple_without_stapling_is_an_error_and_lazy_nginx_a_warning(tmp_path):
    make_pki(tmp_path, ocsp=[OCSP], must_staple=True)
    off = by_rule(check(tmp_path, ""), "must-staple-without-stapling")
    assert [(f.severity, f.line) for f in off] == [("error", line_of(tmp_path, "ssl_certificate "))]
    assert "MOZILLA_PKIX_ERROR_REQUIRED_TLS_FEATURE_MISSING" in off[0].message
    lazy = by_rule(check(tmp_path, "        ssl_stapling on;\n        resolver 127.0.0.1;"),
                   "must-staple-without-stapling")
    assert [f.severity for f in lazy] == ["warning"]


def test_must_staple_quiet_for_normal_certificates(tmp_path):
    make_pki(tmp_path, ocsp=[OCSP])
    assert not by_rule(check(tmp_path, ""), "must-staple-without-stapling")


def test_stapling_with_variables_in_ssl_certificate(tmp_path):
    make_pki(tmp_path, ocsp=[OCSP])
    found = by_rule(check(tmp_path, "        ssl_stapling on;", cert="$ssl_server_name.pem"),
                    "stapling-dynamic-cert")
    assert [f.line for f in found] == [line_of(tmp_path, "ssl_certificate pki")]
    assert "silently off" in found[0].message


# -- stapling-file-stale -----------------------------------------------------------------------


def ocsp_response(inter: CA, cert, this_update, next_update, status=ocsp.OCSPCertStatus.GOOD):
    builder = ocsp.OCSPResponseBuilder().add_response(
        cert=cert, issuer=inter.cert, algorithm=hashes.SHA1(), cert_status=status,
        this_update=this_update, next_update=next_update,
        revocation_time=this_update if status == ocsp.OCSPCertStatus.REVOKED else None,
        revocation_reason=None).responder_id(ocsp.OCSPResponderEncoding.HASH, inter.cert)
    return builder.sign(inter.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def test_stapling_file_expired_wrong_cert_and_fresh(tmp_path):
    root, inter, leaf = make_pki(tmp_path, ocsp=[OCSP])
    body = "        ssl_stapling on;\n        ssl_stapling_file resp.der;"
    day = dt.timedelta(days=1)
    write(tmp_path / "resp.der", ocsp_response(inter, leaf.cert, NOW - 9 * day, NOW - 2 * day))
    found = by_rule(check(tmp_path, body), "stapling-file-stale")
    assert [f.line for f in found] == [line_of(tmp_path, "ssl_stapling_file")]
    assert "expired" in found[0].message and "never checks" in found[0].message
    other = inter.leaf("other.test")
    write(tmp_path / "resp.der", ocsp_response(inter, other.cert, NOW - day, NOW + 6 * day))
    found = by_rule(check(tmp_path, body), "stapling-file-stale")
    assert len(found) == 1 and "another certificate" in found[0].message
    write(tmp_path / "resp.der", ocsp_response(inter, leaf.cert, NOW - day, NOW + 6 * day))
    assert not by_rule(check(tmp_path, body), "stapling-file-stale")
    write(tmp_path / "resp.der", b"-----BEGIN nonsense")
    found = by_rule(check(tmp_path, body), "stapling-file-stale")
    assert "nginx will not start" in found[0].message


def test_rule_documents_exist_for_every_stapling_rule():
    from certlint.docs import load_docs

    docs = load_docs()
    for name in ("stapling-no-resolver", "stapling-file-stale", "stapling-dynamic-cert",
                 "apache-stapling-force-url-not-http", "apache-stapling-cache-in-vhost"):
        assert "## What breaks" in docs[name].body


def test_responder_not_http_matches_what_nginx_t_says(tmp_path):
    from tests.support import servers

    make_pki(tmp_path, ocsp=[OCSP])
    body = "        ssl_stapling on;\n        ssl_stapling_responder https://127.0.0.1:9/;"
    found = by_rule(check(tmp_path, body), "stapling-responder-not-http")
    assert [(f.line, f.severity) for f in found] == [
        (line_of(tmp_path, "ssl_stapling_responder"), "warning")]
    nginx = servers.require("nginx")
    import subprocess

    proc = subprocess.run([nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"),
                           "-e", str(tmp_path / "e.log"), "-g", f"pid {tmp_path}/t.pid;"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    assert '"ssl_stapling" ignored, invalid URL prefix in OCSP responder' in proc.stderr
    assert not by_rule(check(tmp_path, body.replace("https://", "HTTP://")),
                       "stapling-responder-not-http")
    client = ("        ssl_verify_client on;\n        ssl_client_certificate pki/root.pem;\n"
              "        ssl_ocsp on;\n        ssl_ocsp_responder https://127.0.0.1:9/;")
    found = by_rule(check(tmp_path, client), "stapling-responder-not-http")
    assert [(f.line, f.severity) for f in found] == [
        (line_of(tmp_path, "ssl_ocsp_responder"), "error")]
    assert not servers.nginx_test(str(tmp_path / "nginx.conf"), state_dir=str(tmp_path)).ok
