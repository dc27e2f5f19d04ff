"""certlint probe over chains read from files (design.md, "Sources of a served chain"): a PEM
bundle or an `openssl s_client -showcerts` transcript goes through the same chain analysis and
the same rules as `check`; findings carry the file, no line, and `site` NAME:PORT."""

from __future__ import annotations

import json
import os
import subprocess

from tests.support.pki import CA, cert_pem, key_pem, write
from tests.support.servers import free_port, require, terminate, wait_port


def probe_json(certlint, *args):
    result = certlint("probe", "--format", "json", *args)
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


def rules(payload):
    return sorted(f["rule"] for f in payload["findings"])


def test_leaf_only_bundle_is_chain_incomplete_at_the_file_without_a_line(certlint, tmp_path,
                                                                          pki):
    bundle = write(tmp_path / "leaf.pem", pki.leaf.pem)
    root = write(tmp_path / "root.pem", pki.root.pem)
    code, out = probe_json(certlint, "--pem-file", bundle, "--ca-bundle", root, "example.test")
    assert code == 1
    assert rules(out) == ["chain-incomplete"]
    f = out["findings"][0]
    assert (f["path"], f["line"], f["column"], f["site"]) == (bundle, None, None,
                                                              "example.test:443")
    assert "certlint Test Intermediate" in f["message"]


def test_full_chain_bundle_is_clean_and_port_is_kept(certlint, tmp_path, pki):
    bundle = write(tmp_path / "full.pem", pki.fullchain())
    root = write(tmp_path / "root.pem", pki.root.pem)
    result = certlint("probe", "--pem-file", bundle, "--ca-bundle", root, "example.test:8443")
    assert result.exit_code == 0, result.output
    assert "All good: 1 TLS site checked" in result.output


def test_same_rules_as_check_on_a_bad_bundle(certlint, tmp_path, pki):
    """Swapped intermediates, the root sent, a name not covered: the chain rules of `check`."""
    root = pki.root
    upper = root.intermediate("Upper CA")
    lower = upper.intermediate("Lower CA")
    leaf = lower.leaf("example.test")
    bundle = write(tmp_path / "b.pem", cert_pem(leaf.cert, upper.cert, lower.cert, root.cert))
    rootfile = write(tmp_path / "root.pem", root.pem)
    code, out = probe_json(certlint, "--pem-file", bundle, "--ca-bundle", rootfile,
                           "other.test")
    assert code == 1
    assert rules(out) == ["chain-contains-root", "chain-wrong-order", "hostname-mismatch"]
    # rules that need directives (stapling, key files, CRLs) never run on a probed chain
    assert all(f["line"] is None for f in out["findings"])


def test_text_output_has_no_line_numbers(certlint, tmp_path, pki):
    bundle = write(tmp_path / "leaf.pem", pki.leaf.pem)
    root = write(tmp_path / "root.pem", pki.root.pem)
    result = certlint("probe", "--pem-file", bundle, "--ca-bundle", root, "example.test")
    assert result.exit_code == 1
    assert result.output.startswith(f"{bundle}: chain-incomplete ")
    assert "[example.test:443]" in result.output


def test_github_and_sarif_have_no_line(certlint, tmp_path, pki):
    bundle = write(tmp_path / "leaf.pem", pki.leaf.pem)
    root = write(tmp_path / "root.pem", pki.root.pem)
    gh = certlint("probe", "--format", "github", "--pem-file", bundle, "--ca-bundle", root,
                  "example.test")
    assert gh.output.startswith("::error file=") and "line=" not in gh.output
    sarif = json.loads(certlint("probe", "--format", "sarif", "--pem-file", bundle,
                                "--ca-bundle", root, "example.test").output)
    location = sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
    assert "region" not in location


def test_usage_errors_exit_2(certlint, tmp_path, pki):
    bundle = write(tmp_path / "leaf.pem", pki.leaf.pem)
    key = write(tmp_path / "key.pem", pki.leaf.key_pem)
    assert certlint("probe", "--pem-file", bundle, "a.test", "b.test").exit_code == 2
    result = certlint("probe", "--pem-file", key, "a.test")
    assert result.exit_code == 2 and "PRIVATE" not in result.output
    result = certlint("probe", "--showcerts-file", bundle, "a.test")
    assert result.exit_code == 2 and "--pem-file" in result.output
    assert certlint("probe", "--pem-file", bundle, "a b").exit_code == 2
    assert certlint("probe", "--pem-file", bundle, "http://a.test").exit_code == 2
    assert certlint("probe", "--pem-file", bundle, "a.test:99999").exit_code == 2


def test_transcript_of_a_real_s_client_leaf_only_handshake(certlint, tmp_path):
    """A transcript as customers paste it, made by the real `openssl s_client -showcerts
    -status` against a real `openssl s_server` that sends only the leaf."""
    openssl = require("openssl")
    root = CA("Transcript Root")
    inter = root.intermediate("Transcript Intermediate")
    leaf = inter.leaf("shop.test")
    cert = write(tmp_path / "leaf.pem", leaf.pem)
    key = write(tmp_path / "key.pem", key_pem(leaf.key), 0o600)
    port = free_port()
    server = subprocess.Popen([openssl, "s_server", "-accept", f"127.0.0.1:{port}", "-cert",
                               cert, "-key", key, "-quiet", "-www"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              stdin=subprocess.DEVNULL)
    try:
        assert wait_port(port)
        made = subprocess.run([openssl, "s_client", "-connect", f"127.0.0.1:{port}",
                               "-servername", "shop.test", "-showcerts", "-status"],
                              input="", capture_output=True, text=True, timeout=20)
    finally:
        terminate(server)
    transcript = write(tmp_path / "ticket.txt", (made.stdout + made.stderr).encode())
    rootfile = write(tmp_path / "root.pem", root.pem)
    code, out = probe_json(certlint, "--showcerts-file", transcript, "--ca-bundle", rootfile,
                           "shop.test")
    assert code == 1
    assert rules(out) == ["chain-incomplete"]
    assert out["findings"][0]["path"] == transcript
    assert "Transcript Intermediate" in out["findings"][0]["message"]


def test_bundle_out_from_a_bundle_stays_in_its_folder(certlint, tmp_path, pki):
    """--bundle-out writes NAME.fullchain.pem (no root) and the intermediates, verified to a
    trusted root; a link planted at the target name is replaced, never followed."""
    bundle = write(tmp_path / "sent.pem", cert_pem(pki.leaf.cert, pki.inter.cert, pki.root.cert))
    root = write(tmp_path / "root.pem", pki.root.pem)
    out = tmp_path / "out"
    out.mkdir()
    outside = write(tmp_path / "outside.txt", b"keep me\n")
    os.symlink(outside, out / "example.test.fullchain.pem")
    result = certlint("probe", "--pem-file", bundle, "--ca-bundle", root, "--bundle-out",
                      str(out), "example.test")
    assert result.exit_code == 0, result.output  # chain-contains-root is a warning
    assert open(outside, "rb").read() == b"keep me\n"
    full = out / "example.test.fullchain.pem"
    assert not full.is_symlink()
    assert full.read_bytes() == cert_pem(pki.leaf.cert, pki.inter.cert)
    assert (out / "example.test.intermediate-1.pem").read_bytes() == pki.inter.pem
    assert sorted(p.name for p in out.iterdir()) == ["example.test.fullchain.pem",
                                                     "example.test.intermediate-1.pem"]


def test_bundle_out_refuses_a_chain_that_does_not_verify(certlint, tmp_path, pki):
    bundle = write(tmp_path / "leaf.pem", pki.leaf.pem)
    out = tmp_path / "out"
    result = certlint("probe", "--offline", "--pem-file", bundle, "--bundle-out", str(out),
                      "[2001:db8::1]:443")
    assert result.exit_code == 1
    assert "no bundle written" in result.output
    assert not out.exists() or list(out.iterdir()) == []
