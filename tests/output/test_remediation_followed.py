"""Remediation documents followed as the server's owner follows them: every command block of the
document runs as written (the server's /etc mapped into the test's copy of the tree), every
configuration change is applied as the document shows it, the real server is reloaded with
the document's own command, and then `openssl s_client -verify_return_error` must accept what
it serves. Each test first proves the server as found fails, so it cannot pass by accident.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess

import pytest

from tests.output.test_remediation_documents import _blocks, apache_tree, document, pki
from tests.support.apachectl import ApachectlServer
from tests.support.pki import cert_der, write
from tests.support.servers import require, s_client


def _operator(infra: str, openssl: str):
    """Runs a document's command block on the copy of the tree, in a work folder."""

    def run(command: str, cwd) -> subprocess.CompletedProcess:
        mapped = command.replace(" /etc/", f" {infra}/etc/").replace(">/etc/", f">{infra}/etc/")
        return subprocess.run(["sh", "-c", mapped], cwd=cwd, capture_output=True, text=True,
                              env={**os.environ,
                                   "PATH": f"{os.path.dirname(openssl)}:/usr/bin:/bin"})

    return run


def _served(site_text: str, infra: str, port: int) -> str:
    """The site file as the test's Apache reads it: /etc paths inside the copy, port 443 mapped
    to the free one. Nothing else changes."""
    text = site_text.replace(" /etc/", f" {infra}/etc/")
    return re.sub(r"<VirtualHost \*:443>", f"<VirtualHost *:{port}>", text)


@pytest.mark.parametrize("version", ["2.4.62", "2.2.34"])
@pytest.mark.parametrize("lang", ["en", "ja"])
def test_following_the_document_makes_apache_serve_a_verifiable_chain(tmp_path, certlint, lang,
                                                                      version):
    """A leaf-only `SSLCertificateFile`: the document's Apache steps (the full chain file for
    2.4.8 and later, `SSLCertificateChainFile` for older versions, which 2.4 still honours),
    then its `apachectl configtest && apachectl graceful`, on a real apache2 that was serving
    the leaf only."""
    openssl = require("openssl")
    require("apachectl")
    today = dt.datetime.now(dt.timezone.utc)
    root, inter, leaf = pki(at=today)
    cafile = write(tmp_path / "root.pem", root.pem)
    infra = apache_tree(tmp_path, leaf)
    doc = document(certlint, tmp_path, infra, "/etc/apache2/apache2.conf", lang,
                   "--apache-version", version, "--now", today.strftime("%Y-%m-%d"))
    assert "`apache-chain-file-missing`" in doc
    site_file = f"{infra}/etc/apache2/sites-enabled/example.conf"
    run = _operator(infra, openssl)
    work = tmp_path / "work"
    work.mkdir()
    server = ApachectlServer(str(tmp_path / "apache"))
    server.site("example.conf", _served(open(site_file).read(), infra, server.port))
    with server:
        before = s_client(server.port, "www.example.test", cafile)
        assert not before.ok
        assert re.search(r"verify error:num=2[01]:", before.output), before.output

        # 1. the download (what curl gets from the AIA URL), then the conversion as written
        write(work / "intermediate.download", cert_der(inter.cert))
        step1 = next(b for b in _blocks(doc) if b.startswith("curl -fsS -o intermediate."))
        assert run(step1.split("\n", 1)[1], work).returncode == 0
        # 2. the check
        check = next(b for b in _blocks(doc) if b.startswith("openssl verify -partial_chain"))
        out = run(check, work)
        assert ": OK" in out.stdout, out.stdout + out.stderr
        # 3. the new file
        (make,) = [b for b in _blocks(doc) if b.startswith(("cat ", "cp "))]
        assert run(make, work).returncode == 0
        # 4. the configuration change
        text = open(site_file).read()
        if version.startswith("2.2"):
            (line,) = [b for b in _blocks(doc) if b.startswith("SSLCertificateChainFile ")]
            at = re.search(r"after line (\d+) \(|の (\d+) 行目（", doc)
            number = int(at.group(1) or at.group(2))
            lines = text.splitlines(keepends=True)
            indent = re.match(r"\s*", lines[number - 1]).group(0)
            lines.insert(number, f"{indent}{line}\n")
            text = "".join(lines)
        else:
            (change,) = _blocks(doc, "diff")
            old, new = (row[1:] for row in change.splitlines())
            assert old in text
            text = text.replace(old, new)
        with open(site_file, "w") as fh:
            fh.write(text)
        server.site("example.conf", _served(text, infra, server.port))

        # apply and check, with the document's own commands
        (reload,) = [b for b in _blocks(doc) if "apachectl" in b]
        assert reload == "apachectl configtest && apachectl graceful"
        applied = server.run(reload)
        assert applied.returncode == 0, applied.stdout + applied.stderr + server.log()
        after = s_client(server.port, "www.example.test", cafile)
        assert after.ok, after.output + server.log()
        probe = next(b for b in _blocks(doc) if b.startswith("openssl s_client -connect"))
        probe = probe.replace("-connect www.example.test:443", f"-connect 127.0.0.1:{server.port}")
        seen = subprocess.run(["sh", "-c", probe], capture_output=True, text=True,
                              env={**os.environ, "SSL_CERT_FILE": cafile})
        assert seen.stdout.strip().splitlines()[-1].strip() == "Verify return code: 0 (ok)", \
            seen.stdout


# -- chain-wrong-order, chain-contains-root, key-mismatch -------------------------------------

ONE_NAME = "www.example.test"


def _nginx_runnable(prefix, site_text: str, infra: str, port: int, name: str) -> str:
    """The site's server block in a runnable nginx.conf: /etc inside the copy, a free port."""
    served = site_text.replace("listen 443", f"listen 127.0.0.1:{port}")
    served = served.replace(" /etc/", f" {infra}/etc/")
    return write(os.path.join(prefix, name), (
        f"worker_processes 1;\nevents {{ worker_connections 64; }}\nhttp {{\n"
        f"    access_log off;\n{served}}}\n").encode())


def _hashes(out: subprocess.CompletedProcess) -> list[str]:
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 2 and out.returncode == 0, out.stdout + out.stderr
    return [line.split("=", 1)[1].strip() for line in lines]


def _apply_diff(doc: str, path: str) -> None:
    (change,) = _blocks(doc, "diff")
    old, new = (row[1:] for row in change.splitlines())
    text = open(path).read()
    assert old in text
    with open(path, "w") as fh:
        fh.write(text.replace(old, new))


def _reorder_steps(doc: str, run, work) -> None:
    """Split, rebuild, key check (same hash twice) as the document writes them."""
    split = next(b for b in _blocks(doc) if b.startswith("awk "))
    listed = run(split, work)
    assert listed.returncode == 0 and "cert-1.pem: subject=" in listed.stdout, listed.stderr
    build = next(b for b in _blocks(doc) if b.startswith("cat cert-"))
    assert run(build, work).returncode == 0
    check = next(b for b in _blocks(doc) if b.startswith("openssl x509 -in /etc/")
                 and "-pubkey" in b)
    first, second = _hashes(run(check, work))
    assert first == second


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_following_the_wrong_order_steps_makes_nginx_start_and_serve_a_verifiable_chain(
        tmp_path, certlint, lang):
    """Intermediate pasted before the leaf: `nginx -t` fails with "key values mismatch"; after
    the document's split, rebuild, key check and config change, `nginx -t` passes and the real
    nginx serves a chain `openssl s_client -verify_return_error` accepts."""
    from tests.output.test_remediation_documents import nginx_tree
    from tests.support.servers import NginxServer, free_port, nginx_test

    openssl = require("openssl")
    require("nginx")
    today = dt.datetime.now(dt.timezone.utc)
    root, inter, leaf = pki(at=today)
    cafile = write(tmp_path / "root.pem", root.pem)
    infra = nginx_tree(tmp_path, leaf, names=ONE_NAME)
    write(f"{infra}/etc/ssl/example/www.example.test.crt", inter.pem + leaf.pem)
    doc = document(certlint, tmp_path, infra, "/etc/nginx/nginx.conf", lang,
                   "--now", today.strftime("%Y-%m-%d"))
    assert "`chain-wrong-order`" in doc and "key values mismatch" in doc
    assert "cat cert-2.pem cert-1.pem > /etc/ssl/example/www.example.test.fullchain.pem" in doc
    site = f"{infra}/etc/nginx/sites-enabled/example.conf"
    port = free_port()
    prefix = tmp_path / "run"
    prefix.mkdir()
    before = nginx_test(_nginx_runnable(prefix, open(site).read(), infra, port, "before.conf"),
                        state_dir=str(prefix))
    assert not before.ok and "key values mismatch" in before.output, before.output

    work = tmp_path / "work"
    work.mkdir()
    _reorder_steps(doc, _operator(infra, openssl), work)
    _apply_diff(doc, site)
    conf = _nginx_runnable(prefix, open(site).read(), infra, port, "after.conf")
    after = nginx_test(conf, state_dir=str(prefix))
    assert after.ok, after.output
    with NginxServer(conf, port=port):
        served = s_client(port, ONE_NAME, cafile)
    assert served.ok, served.output


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_following_the_wrong_order_steps_makes_apache_start_and_serve_a_verifiable_chain(
        tmp_path, certlint, lang):
    """The same on a real apache2: it refuses to start (AH02565) before, starts and serves a
    verifiable chain after."""
    openssl = require("openssl")
    require("apachectl")
    today = dt.datetime.now(dt.timezone.utc)
    root, inter, leaf = pki(at=today)
    cafile = write(tmp_path / "root.pem", root.pem)
    infra = apache_tree(tmp_path, leaf)
    write(f"{infra}/etc/ssl/example/www.example.test.crt", inter.pem + leaf.pem)
    doc = document(certlint, tmp_path, infra, "/etc/apache2/apache2.conf", lang,
                   "--now", today.strftime("%Y-%m-%d"))
    assert "`chain-wrong-order`" in doc and "AH02565" in doc
    site = f"{infra}/etc/apache2/sites-enabled/example.conf"
    server = _apache_refusing(tmp_path, infra, site)

    work = tmp_path / "work"
    work.mkdir()
    _reorder_steps(doc, _operator(infra, openssl), work)
    _apply_diff(doc, site)
    _apache_verifies(server, infra, site, cafile)


def _apache_refusing(tmp_path, infra: str, site: str) -> ApachectlServer:
    """A real apache2 with the tree's site: it must refuse to start (AH02565, certificate and
    key do not match); returned to serve the fixed site later."""
    server = ApachectlServer(str(tmp_path / "apache"))
    server.site("example.conf", _served(open(site).read(), infra, server.port))
    with pytest.raises(RuntimeError, match="AH02565"):
        server.start()
    return server


def _apache_verifies(server: ApachectlServer, infra: str, site: str, cafile: str) -> None:
    """The fixed site on that apache2: it starts and `s_client -verify_return_error` verifies."""
    server.site("example.conf", _served(open(site).read(), infra, server.port))
    with server:
        served = s_client(server.port, ONE_NAME, cafile)
    assert served.ok, served.output + server.log()


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_following_the_key_mismatch_steps_finds_the_right_key_and_apache_starts(
        tmp_path, certlint, lang):
    """The configured key is another one; the certificate's own key lies beside it under
    another name. The document's search prints exactly that file; named in
    SSLCertificateKeyFile, the key check shows one hash, and the real apache2, which refused to
    start (AH02565), serves a verifiable chain."""
    from tests.support.pki import key_pem, new_key

    openssl = require("openssl")
    require("apachectl")
    today = dt.datetime.now(dt.timezone.utc)
    root, inter, leaf = pki(at=today)
    cafile = write(tmp_path / "root.pem", root.pem)
    infra = apache_tree(tmp_path, leaf)
    folder = f"{infra}/etc/ssl/example"
    write(f"{folder}/www.example.test.crt", leaf.pem + inter.pem)
    write(f"{folder}/www.example.test.key", key_pem(new_key()), 0o600)  # a stranger's key
    write(f"{folder}/www.example.test-2026.key", leaf.key_pem, 0o600)  # the right one
    doc = document(certlint, tmp_path, infra, "/etc/apache2/apache2.conf", lang,
                   "--now", today.strftime("%Y-%m-%d"))
    assert "`key-mismatch`" in doc and "AH02565" in doc
    assert "openssl req -new -key /etc/ssl/example/www.example.test.key" in doc
    site = f"{infra}/etc/apache2/sites-enabled/example.conf"
    server = _apache_refusing(tmp_path, infra, site)

    run = _operator(infra, openssl)
    work = tmp_path / "work"
    work.mkdir()
    check = next(b for b in _blocks(doc) if b.startswith("openssl x509 -in /etc/"))
    first, second = _hashes(run(check, work))
    assert first != second  # step 1: the mismatch, seen
    search = next(b for b in _blocks(doc) if b.startswith("want=$("))
    found = run(search, work)
    assert found.stdout.split() == [f"{folder}/www.example.test-2026.key"], found.stdout
    key_path = found.stdout.strip().replace(infra, "")  # as the server names it
    (line,) = [b for b in _blocks(doc) if b.startswith("SSLCertificateKeyFile ")]
    text = open(site).read()
    assert line in text
    with open(site, "w") as fh:
        fh.write(text.replace(line, f"SSLCertificateKeyFile {key_path}"))
    first, second = _hashes(run(check.replace("/etc/ssl/example/www.example.test.key",
                                              key_path), work))
    assert first == second  # step 1 again, with the key found
    _apache_verifies(server, infra, site, cafile)


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_following_the_contains_root_steps_makes_nginx_send_two_certificates(
        tmp_path, certlint, lang):
    """leaf, intermediate, root in the file: nginx sends all three; after the document's steps
    it sends leaf and intermediate, and `openssl s_client -verify_return_error` still
    verifies."""
    from tests.output.test_remediation_documents import nginx_tree
    from tests.support.servers import NginxServer, free_port

    openssl = require("openssl")
    require("nginx")
    today = dt.datetime.now(dt.timezone.utc)
    root, inter, leaf = pki(at=today)
    cafile = write(tmp_path / "root.pem", root.pem)
    infra = nginx_tree(tmp_path, leaf, names=ONE_NAME)
    write(f"{infra}/etc/ssl/example/www.example.test.crt", leaf.pem + inter.pem + root.pem)
    doc = document(certlint, tmp_path, infra, "/etc/nginx/nginx.conf", lang,
                   "--now", today.strftime("%Y-%m-%d"))
    assert "`chain-contains-root`" in doc
    site = f"{infra}/etc/nginx/sites-enabled/example.conf"
    port = free_port()
    prefix = tmp_path / "run"
    prefix.mkdir()

    def sent() -> tuple[int, bool]:
        shown = s_client(port, ONE_NAME, cafile, ["-showcerts"])
        return len(re.findall(r"^ *\d+ s:", shown.output, re.M)), shown.ok

    with NginxServer(_nginx_runnable(prefix, open(site).read(), infra, port, "before.conf"),
                     port=port):
        assert sent() == (3, True)
    run = _operator(infra, openssl)
    work = tmp_path / "work"
    work.mkdir()
    split = next(b for b in _blocks(doc) if b.startswith("awk "))
    assert run(split, work).returncode == 0
    show = next(b for b in _blocks(doc) if b.startswith("openssl x509 -in cert-3.pem"))
    shown = run(show, work)
    assert "Example Root CA" in shown.stdout
    fingerprint = re.search(r"Fingerprint=(\S+)", shown.stdout).group(1)
    assert f"`{fingerprint}`" in doc  # the fingerprint the document says to expect
    build = next(b for b in _blocks(doc) if b.startswith("cat cert-"))
    assert build.startswith("cat cert-1.pem cert-2.pem > ")
    assert run(build, work).returncode == 0
    _apply_diff(doc, site)
    with NginxServer(_nginx_runnable(prefix, open(site).read(), infra, port, "after.conf"),
                     port=port):
        assert sent() == (2, True)


def test_following_the_steps_for_intermediates_out_of_order_writes_the_issuing_order(
        tmp_path, certlint):
    """leaf, R1, Issuing CA 2 (issued by R1): a warning. The document's split and rebuild give
    a file in which each certificate is issued by the next, `openssl verify` accepts it, and
    the key still belongs to its first certificate."""
    from cryptography import x509

    from tests.output.test_remediation_documents import nginx_tree
    from tests.support.servers import openssl_verify

    openssl = require("openssl")
    today = dt.datetime.now(dt.timezone.utc)
    root, inter, _leaf = pki(at=today)
    issuing = inter.intermediate("Example Issuing CA 2", not_before=today - dt.timedelta(30))
    leaf = issuing.leaf(ONE_NAME, not_before=today - dt.timedelta(1))
    cafile = write(tmp_path / "root.pem", root.pem)
    infra = nginx_tree(tmp_path, leaf, names=ONE_NAME)
    write(f"{infra}/etc/ssl/example/www.example.test.crt", leaf.pem + inter.pem + issuing.pem)
    doc = document(certlint, tmp_path, infra, "/etc/nginx/nginx.conf", "en",
                   "--now", today.strftime("%Y-%m-%d"))
    assert "(`chain-wrong-order`, warning)" in doc
    work = tmp_path / "work"
    work.mkdir()
    _reorder_steps(doc, _operator(infra, openssl), work)
    rebuilt = f"{infra}/etc/ssl/example/www.example.test.fullchain.pem"
    certs = x509.load_pem_x509_certificates(open(rebuilt, "rb").read())
    assert [c.subject for c in certs] == [leaf.cert.subject, issuing.cert.subject,
                                          inter.cert.subject]
    for child, parent in zip(certs, certs[1:], strict=False):
        child.verify_directly_issued_by(parent)
    assert openssl_verify(cafile, rebuilt, untrusted=rebuilt).ok


def test_wrong_order_with_an_rsa_intermediate_before_an_ec_leaf_on_nginx(tmp_path, certlint):
    """nginx's quiet case: `nginx -t` passes and every handshake fails. The document says so
    (not "key values mismatch"), and its steps make the real nginx serve a verifiable chain."""
    from tests.output.test_remediation_documents import nginx_tree
    from tests.support.pki import CA
    from tests.support.servers import NginxServer, free_port, nginx_test

    openssl = require("openssl")
    require("nginx")
    today = dt.datetime.now(dt.timezone.utc)
    day = dt.timedelta(days=1)
    root = CA("Example Root CA", not_before=today - 3650 * day)
    inter = root.intermediate("Example RSA Intermediate", key_kind="rsa",
                              not_before=today - 365 * day)
    leaf = inter.leaf(ONE_NAME, not_before=today - day)  # EC key
    cafile = write(tmp_path / "root.pem", root.pem)
    infra = nginx_tree(tmp_path, leaf, names=ONE_NAME)
    write(f"{infra}/etc/ssl/example/www.example.test.crt", inter.pem + leaf.pem)
    doc = document(certlint, tmp_path, infra, "/etc/nginx/nginx.conf", "en",
                   "--now", today.strftime("%Y-%m-%d"))
    assert "nginx starts without a word" in doc and "key values mismatch" not in doc
    site = f"{infra}/etc/nginx/sites-enabled/example.conf"
    port = free_port()
    prefix = tmp_path / "run"
    prefix.mkdir()
    before = _nginx_runnable(prefix, open(site).read(), infra, port, "before.conf")
    assert nginx_test(before, state_dir=str(prefix)).ok
    with NginxServer(before, port=port):
        failed = s_client(port, ONE_NAME, cafile)
    assert not failed.ok and "handshake failure" in failed.output, failed.output
    work = tmp_path / "work"
    work.mkdir()
    _reorder_steps(doc, _operator(infra, openssl), work)
    _apply_diff(doc, site)
    after = _nginx_runnable(prefix, open(site).read(), infra, port, "after.conf")
    assert nginx_test(after, state_dir=str(prefix)).ok
    with NginxServer(after, port=port):
        served = s_client(port, ONE_NAME, cafile)
    assert served.ok, served.output


def test_following_the_contains_root_steps_on_a_running_apache_with_its_graceful_restart(
        tmp_path, certlint):
    """Apache sends leaf, intermediate and root; the document's steps, then its own key check
    and `apachectl configtest && apachectl graceful` on the running apache2: it now sends two
    certificates, and `openssl s_client -verify_return_error` still verifies."""
    openssl = require("openssl")
    require("apachectl")
    today = dt.datetime.now(dt.timezone.utc)
    root, inter, leaf = pki(at=today)
    cafile = write(tmp_path / "root.pem", root.pem)
    infra = apache_tree(tmp_path, leaf)
    write(f"{infra}/etc/ssl/example/www.example.test.crt", leaf.pem + inter.pem + root.pem)
    doc = document(certlint, tmp_path, infra, "/etc/apache2/apache2.conf", "en",
                   "--now", today.strftime("%Y-%m-%d"))
    assert "`chain-contains-root`" in doc and "AH00020" in doc
    site = f"{infra}/etc/apache2/sites-enabled/example.conf"
    server = ApachectlServer(str(tmp_path / "apache"))
    server.site("example.conf", _served(open(site).read(), infra, server.port))

    def sent() -> tuple[int, bool]:
        shown = s_client(server.port, ONE_NAME, cafile, ["-showcerts"])
        return len(re.findall(r"^ *\d+ s:", shown.output, re.M)), shown.ok

    run = _operator(infra, openssl)
    work = tmp_path / "work"
    work.mkdir()
    with server:
        assert sent() == (3, True)
        split = next(b for b in _blocks(doc) if b.startswith("awk "))
        assert run(split, work).returncode == 0
        build = next(b for b in _blocks(doc) if b.startswith("cat cert-"))
        assert run(build, work).returncode == 0
        check = next(b for b in _blocks(doc) if b.startswith("openssl x509 -in /etc/")
                     and "-pubkey" in b)
        first, second = _hashes(run(check, work))
        assert first == second
        _apply_diff(doc, site)
        server.site("example.conf", _served(open(site).read(), infra, server.port))
        (reload,) = [b for b in _blocks(doc) if "apachectl" in b]
        applied = server.run(reload)
        assert applied.returncode == 0, applied.stdout + applied.stderr + server.log()
        assert sent() == (2, True)


def test_apache_warning_holds_configtest_passes_and_graceful_stops_apache(tmp_path, certlint):
    """What the Apache documents warn about, on the real apache2: with a key that does not
    belong to the certificate, `apachectl configtest && apachectl graceful` prints `Syntax OK`
    and exits 0, and the running server stops (AH02565, then AH00020)."""
    from tests.support.pki import key_pem, new_key

    require("apachectl")
    today = dt.datetime.now(dt.timezone.utc)
    root, inter, leaf = pki(at=today)
    write(tmp_path / "root.pem", root.pem)
    infra = apache_tree(tmp_path, leaf)
    folder = f"{infra}/etc/ssl/example"
    write(f"{folder}/www.example.test.crt", leaf.pem + inter.pem)
    site = f"{infra}/etc/apache2/sites-enabled/example.conf"
    server = ApachectlServer(str(tmp_path / "apache"))
    server.site("example.conf", _served(open(site).read(), infra, server.port))
    with server:
        write(f"{folder}/www.example.test.key", key_pem(new_key()), 0o600)
        doc = document(certlint, tmp_path, infra, "/etc/apache2/apache2.conf", "en",
                       "--now", today.strftime("%Y-%m-%d"))
        assert "AH00020: Configuration Failed, exiting" in doc
        (reload,) = [b for b in _blocks(doc) if "apachectl" in b]
        done = subprocess.run(["sh", "-c", reload], capture_output=True, text=True,
                              env=server.environ(), timeout=60)
        assert done.returncode == 0 and "Syntax OK" in done.stdout + done.stderr
        server.proc.wait(timeout=15)  # the server is gone
        log = server.log()
    assert "AH02565" in log and "AH00020: Configuration Failed, exiting" in log, log
