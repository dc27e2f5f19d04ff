"""Remediation documents (`--format remediation`, English and Japanese) as a customer receives
them: golden outputs for the cases support teams send most, and the document's own steps
followed on a copy of the tree until the real nginx serves a chain `openssl s_client
-verify_return_error` accepts.

Regenerate the golden files after an intended change with CERTLINT_UPDATE_GOLDEN=1.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shlex
import shutil
import subprocess

import pytest

from tests.support.paths import TESTS
from tests.support.pki import CA, cert_der, write
from tests.support.servers import NginxServer, free_port, require, s_client

GOLDEN = os.path.join(TESTS, "golden", "remediation")
NOW = "2026-01-01"
D = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
DAY = dt.timedelta(days=1)
AIA = "http://ca.example.test/r1.cer"


def pki(cn: str = "www.example.test", *names: str, not_after=None, ocsp=None, at=D):
    """root -> intermediate -> leaf with a caIssuers URL; dates around `at` (the golden
    documents' --now; the live tests use today)."""
    D = at  # noqa: N806
    root = CA("Example Root CA", not_before=D - 3650 * DAY, not_after=D + 3650 * DAY)
    inter = root.intermediate("Example Intermediate CA R1", not_before=D - 365 * DAY,
                              not_after=D + 1000 * DAY)
    leaf = inter.leaf(cn, *names, not_before=D - 300 * DAY,
                      not_after=not_after or D + 200 * DAY, ca_issuers=[AIA], ocsp=ocsp)
    return root, inter, leaf


def nginx_tree(base, leaf, site_extra: str = "", names: str = "www.example.test example.test"):
    """An infrastructure checkout: /etc/nginx and /etc/ssl under `base/infra`."""
    infra = os.path.join(base, "infra")
    write(f"{infra}/etc/nginx/nginx.conf",
          b"events {}\nhttp {\n    include /etc/nginx/sites-enabled/*.conf;\n}\n")
    write(f"{infra}/etc/nginx/sites-enabled/example.conf", (
        "server {\n    listen 443 ssl;\n    server_name " + names + ";\n\n"
        "    ssl_certificate /etc/ssl/example/www.example.test.crt;\n"
        "    ssl_certificate_key /etc/ssl/example/www.example.test.key;\n"
        + site_extra + "}\n").encode())
    write(f"{infra}/etc/ssl/example/www.example.test.crt", leaf.pem)
    write(f"{infra}/etc/ssl/example/www.example.test.key", leaf.key_pem, 0o600)
    return infra


def apache_tree(base, leaf):
    infra = os.path.join(base, "infra")
    write(f"{infra}/etc/apache2/apache2.conf", (
        b"ServerRoot /etc/apache2\nLoadModule ssl_module /usr/lib/apache2/modules/mod_ssl.so\n"
        b"Listen 443\nIncludeOptional sites-enabled/*.conf\n"))
    write(f"{infra}/etc/apache2/sites-enabled/example.conf", (
        b"<VirtualHost *:443>\n    ServerName www.example.test\n    SSLEngine on\n"
        b"    SSLCertificateFile /etc/ssl/example/www.example.test.crt\n"
        b"    SSLCertificateKeyFile /etc/ssl/example/www.example.test.key\n"
        b"</VirtualHost>\n"))
    write(f"{infra}/etc/ssl/example/www.example.test.crt", leaf.pem)
    write(f"{infra}/etc/ssl/example/www.example.test.key", leaf.key_pem, 0o600)
    return infra


def document(certlint, base, infra, entry, lang, *extra):
    result = certlint("check", "--root", infra, "--ca-bundle", os.path.join(base, "root.pem"),
                      "--now", NOW, "--format", "remediation", "--lang", lang, *extra, entry)
    assert result.exit_code in (0, 1), result.output
    return result.stdout


def stable(doc: str, base) -> str:
    """The parts that differ per run: the scanner's temporary folder, the machine's resolver."""
    doc = doc.replace(str(base), "TMP")
    return re.sub(r"resolver [^\n;]*valid=300s;", "resolver ADDR valid=300s;", doc)


def golden(name: str, doc: str) -> None:
    path = os.path.join(GOLDEN, name)
    if os.environ.get("CERTLINT_UPDATE_GOLDEN"):
        os.makedirs(GOLDEN, exist_ok=True)
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(doc)
    with open(path, encoding="utf-8") as fh:
        assert doc == fh.read(), f"{name} differs (CERTLINT_UPDATE_GOLDEN=1 rewrites it)"


def english_left(doc: str) -> list[str]:
    """Prose lines of a Japanese document that hold no Japanese (code, commands, messages and
    list items quoting client errors aside)."""
    doc = re.sub(r"^(`{3,})[^\n]*\n.*?^\1[ \t]*$", "", doc, flags=re.M | re.S)
    out = []
    for line in doc.splitlines():
        prose = re.sub(r"`+[^`]*`+", "", line).strip(" -#.:0123456789()")
        if prose and re.search(r"[A-Za-z]{4,} [A-Za-z]{3,}", prose) and not re.search(
                r"[\u3040-\u30ff\u4e00-\u9fff]", prose):
            out.append(line)
    return out


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_leaf_only_nginx_site_in_an_infrastructure_checkout(tmp_path, certlint, lang):
    root, _inter, leaf = pki()
    write(tmp_path / "root.pem", root.pem)
    infra = nginx_tree(tmp_path, leaf)
    doc = document(certlint, tmp_path, infra, "/etc/nginx/nginx.conf", lang)
    assert str(infra) not in doc.replace(f"--root {infra}", "")  # server paths only
    assert "cat /etc/ssl/example/www.example.test.crt intermediate.pem > " \
           "/etc/ssl/example/www.example.test.fullchain.pem" in doc
    assert "-    ssl_certificate /etc/ssl/example/www.example.test.crt;" in doc
    assert AIA in doc and "`CN=www.example.test`" in doc
    assert "openssl s_client -connect www.example.test:443 -servername www.example.test" in doc
    assert f"certlint fix --root {infra} --ca-bundle {tmp_path}/root.pem /etc/nginx/nginx.conf" \
        in doc
    if lang == "ja":
        assert "中間CA証明書" in doc and english_left(doc) == []
    golden(f"nginx-leaf-only.{lang}.md", stable(doc, tmp_path))


@pytest.mark.parametrize("version", ["2.4.62", "2.2.34"])
@pytest.mark.parametrize("lang", ["en", "ja"])
def test_leaf_only_apache_site_new_and_old(tmp_path, certlint, lang, version):
    root, _inter, leaf = pki()
    write(tmp_path / "root.pem", root.pem)
    infra = apache_tree(tmp_path, leaf)
    doc = document(certlint, tmp_path, infra, "/etc/apache2/apache2.conf", lang,
                   "--apache-version", version)
    assert "apachectl configtest && apachectl graceful" in doc and "nginx -t" not in doc
    assert f"--apache-version {version}" in doc
    if version.startswith("2.2"):
        assert "SSLCertificateChainFile /etc/ssl/example/www.example.test.chain.pem" in doc
        assert "cp intermediate.pem /etc/ssl/example/www.example.test.chain.pem" in doc
    else:
        assert "+    SSLCertificateFile /etc/ssl/example/www.example.test.fullchain.pem" in doc
    if lang == "ja":
        assert english_left(doc) == []
    golden(f"apache-{version}-leaf-only.{lang}.md", stable(doc, tmp_path))


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_expired_certificate_says_renew_with_its_date(tmp_path, certlint, lang):
    root, inter, leaf = pki(not_after=D - 5 * DAY)
    write(tmp_path / "root.pem", root.pem)
    infra = nginx_tree(tmp_path, leaf)
    with open(f"{infra}/etc/ssl/example/www.example.test.crt", "ab") as fh:
        fh.write(inter.pem)
    doc = document(certlint, tmp_path, infra, "/etc/nginx/nginx.conf", lang)
    assert "2025-12-27" in doc and "certbot renew" in doc
    assert "certlint fix" not in doc and "OpenSSL 1.0.2" not in doc
    golden(f"nginx-expired.{lang}.md", stable(doc, tmp_path))


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_stapling_without_resolver(tmp_path, certlint, lang):
    root, inter, leaf = pki(ocsp=["http://ocsp.example.test/"])
    write(tmp_path / "root.pem", root.pem)
    infra = nginx_tree(tmp_path, leaf, "    ssl_stapling on;\n")
    with open(f"{infra}/etc/ssl/example/www.example.test.crt", "ab") as fh:
        fh.write(inter.pem)
    doc = document(certlint, tmp_path, infra, "/etc/nginx/nginx.conf", lang)
    assert "`ocsp.example.test`" in doc and "`stapling-no-resolver`" in doc
    assert "+    resolver " in doc
    golden(f"nginx-stapling-no-resolver.{lang}.md", stable(doc, tmp_path))


HOSTILE_NAME = "x<img src=x onerror=alert(1)>[link](http://evil.test)`**bold**`"


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_hostile_names_in_server_name_and_common_name(tmp_path, certlint, lang):
    from tests.security.test_output import markdown_prose

    root, _inter, leaf = pki("<b>cn</b>[x](http://evil.test)`")
    write(tmp_path / "root.pem", root.pem)
    infra = nginx_tree(tmp_path, leaf, names=f"'{HOSTILE_NAME}' www.example.test")
    doc = document(certlint, tmp_path, infra, "/etc/nginx/nginx.conf", lang)
    assert "evil.test" in doc and "<b>cn</b>" in doc  # shown, as text
    prose = markdown_prose(doc)
    assert "](http" not in prose and "<img" not in prose and "<b>" not in prose
    assert "**bold**" not in prose
    golden(f"nginx-hostile-names.{lang}.md", stable(doc, tmp_path))


def _blocks(doc: str, info: str = "") -> list[str]:
    """The fenced code blocks of a document with this info string, in order."""
    out, fence, kind, body = [], None, "", []
    for line in doc.splitlines():
        if fence is None:
            m = re.match(r"^(`{3,})(\S*)\s*$", line)
            if m:
                fence, kind, body = m.group(1), m.group(2), []
        elif line.strip() == fence:
            if kind == info:
                out.append("\n".join(body))
            fence = None
        else:
            body.append(line)
    return out


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_following_the_document_makes_nginx_serve_a_verifiable_chain(tmp_path, certlint, lang):
    """Step 1 (the download) is simulated with the CA's DER file; steps 2-4 run as written,
    with the server's /etc mapped into the copy of the tree."""
    openssl = require("openssl")
    require("nginx")
    today = dt.datetime.now(dt.timezone.utc)
    root, inter, leaf = pki(at=today)
    write(tmp_path / "root.pem", root.pem)
    infra = nginx_tree(tmp_path, leaf)
    doc = document(certlint, tmp_path, infra, "/etc/nginx/nginx.conf", lang, "--now",
                   today.strftime("%Y-%m-%d"))
    work = tmp_path / "work"
    work.mkdir()
    write(work / "intermediate.download", cert_der(inter.cert))  # what curl gets from the AIA URL

    def on_copy(command: str) -> str:
        return command.replace(" /etc/", f" {infra}/etc/").replace(">/etc/", f">{infra}/etc/")

    step1 = next(b for b in _blocks(doc) if b.startswith("curl -fsS -o intermediate.download"))
    convert = step1.split("\n", 1)[1]
    assert subprocess.run(["sh", "-c", convert], cwd=work).returncode == 0
    check = next(b for b in _blocks(doc) if b.startswith("openssl verify -partial_chain"))
    out = subprocess.run(["sh", "-c", on_copy(check)], cwd=work, capture_output=True, text=True,
                         env={**os.environ, "PATH": f"{os.path.dirname(openssl)}:/usr/bin:/bin"})
    assert ": OK" in out.stdout, out.stdout + out.stderr
    (cat,) = [b for b in _blocks(doc) if b.startswith("cat ")]
    assert subprocess.run(["sh", "-c", on_copy(cat)], cwd=work).returncode == 0
    (change,) = _blocks(doc, "diff")
    old, new = (line[1:] for line in change.splitlines())
    site = f"{infra}/etc/nginx/sites-enabled/example.conf"
    text = open(site).read()
    assert old in text
    port = free_port()
    prefix = tmp_path / "run"
    prefix.mkdir()

    def runnable(site_text: str, name: str) -> str:
        served = site_text.replace("listen 443", f"listen 127.0.0.1:{port}")
        served = served.replace(" /etc/", f" {infra}/etc/")
        return write(prefix / name, (
            f"worker_processes 1;\nevents {{ worker_connections 64; }}\nhttp {{\n"
            f"    access_log off;\n{served}}}\n").encode())

    with NginxServer(runnable(text, "before.conf"), port=port):  # as found: the test can fail
        assert not s_client(port, "www.example.test", str(tmp_path / "root.pem")).ok
    with NginxServer(runnable(text.replace(old, new), "after.conf"), port=port):
        result = s_client(port, "www.example.test", str(tmp_path / "root.pem"))
    assert result.ok, result.output
    shutil.rmtree(work)


def test_lang_defaults_to_the_locale(tmp_path, certlint, monkeypatch):
    root, _inter, leaf = pki()
    write(tmp_path / "root.pem", root.pem)
    infra = nginx_tree(tmp_path, leaf)
    args = ["check", "--root", infra, "--ca-bundle", tmp_path / "root.pem", "--now", NOW,
            "--format", "remediation", "/etc/nginx/nginx.conf"]
    monkeypatch.setenv("LANG", "ja_JP.UTF-8")
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    assert "中間CA証明書" in certlint(*args).stdout
    monkeypatch.setenv("LC_ALL", "C.UTF-8")
    assert "intermediate" in certlint(*args).stdout
    assert "中間CA証明書" in certlint(*args[:-1], "--lang", "ja", args[-1]).stdout


def test_fix_dry_run_document_names_the_intermediate_and_its_fingerprint(tmp_path, certlint):
    root, inter, leaf = pki()
    write(tmp_path / "root.pem", root.pem)
    write(tmp_path / "ints" / "r1.pem", inter.pem)
    infra = nginx_tree(tmp_path, leaf)
    result = certlint("fix", "--root", infra, "--ca-bundle", tmp_path / "root.pem", "--now", NOW,
                      "--offline", "--intermediates", tmp_path / "ints", "--format",
                      "remediation", "--lang", "en", "/etc/nginx/nginx.conf")
    doc = result.stdout
    sha = inter.cert.fingerprint(__import__("cryptography.hazmat.primitives.hashes",
                                            fromlist=["SHA256"]).SHA256()).hex(":").upper()
    assert sha in doc
    assert "`/etc/ssl/example/www.example.test.fullchain.pem`" in doc
    assert "+    ssl_certificate /etc/ssl/example/www.example.test.fullchain.pem;" in doc
    words = shlex.split(next(b for b in _blocks(doc) if b.startswith("certlint fix")))
    assert words[-1] == "--write" and "--offline" in words and "--root" in words
    assert not os.path.exists(f"{infra}/etc/ssl/example/www.example.test.fullchain.pem")


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_probe_document_of_a_leaf_only_live_endpoint_names_the_bundle(tmp_path, lang):
    """`certlint probe --bundle-out DIR --format remediation`: the server software is unknown,
    so nginx and Apache steps; the host and port as probed; the written fullchain named as the
    attachment, and that file verifies with `openssl verify`."""
    from tests.probe.test_live import run_certlint
    from tests.support import servers
    from tests.support.ca_http import CaHttp

    require("nginx")
    today = dt.datetime.now(dt.timezone.utc)
    with CaHttp() as ca_http:
        root = CA("Example Root CA", not_before=today - 3650 * DAY)
        inter = root.intermediate("Example Intermediate CA R1", not_before=today - 365 * DAY)
        url = ca_http.serve("/r1.cer", cert_der(inter.cert))
        leaf = inter.leaf("www.example.test", not_before=today - DAY, ca_issuers=[url])
        port = free_port()
        cert = write(tmp_path / "leaf.pem", leaf.pem)
        key = write(tmp_path / "leaf.key", leaf.key_pem, 0o600)
        write(tmp_path / "root.pem", root.pem)
        conf = write(tmp_path / "nginx.conf", servers.nginx_conf(
            f"server {{ listen 127.0.0.1:{port} ssl; server_name www.example.test; "
            f"ssl_certificate {cert}; ssl_certificate_key {key}; }}", str(tmp_path)).encode())
        out = tmp_path / "deploy"
        with NginxServer(conf, port=port):
            proc = run_certlint("probe", f"www.example.test:{port}", "--connect",
                                f"127.0.0.1:{port}", "--aia-private", "--ca-bundle",
                                str(tmp_path / "root.pem"), "--bundle-out", str(out),
                                "--format", "remediation", "--lang", lang)
    assert proc.returncode == 1, proc.stderr
    doc = proc.stdout
    full = out / "www.example.test.fullchain.pem"
    assert f"`{full.name}`" in doc and "www.example.test.intermediate-1.pem" in doc
    assert f"ssl_certificate /etc/ssl/{full.name};" in doc
    assert f"SSLCertificateFile /etc/ssl/{full.name}" in doc
    assert f"openssl s_client -connect www.example.test:{port} -servername www.example.test" \
        in doc
    assert "nginx -t && systemctl reload nginx" in doc and "apachectl graceful" in doc
    sha = inter.cert.fingerprint(__import__("cryptography.hazmat.primitives.hashes",
                                            fromlist=["SHA256"]).SHA256()).hex(":").upper()
    assert sha in doc
    assert str(tmp_path) not in doc
    if lang == "ja":
        assert "添付ファイル" in doc and english_left(doc) == []
    verified = subprocess.run([require("openssl"), "verify", "-CAfile", str(tmp_path / "root.pem"),
                               "-untrusted", str(full), str(full)], capture_output=True,
                              text=True)
    assert verified.returncode == 0 and ": OK" in verified.stdout, verified.stdout


def _broken_tree(base, case: str, server: str):
    """A site whose certificate file or key shows one of the hand-fixed problems."""
    from tests.support.pki import key_pem, new_key

    root, inter, leaf = pki()
    write(base / "root.pem", root.pem)
    infra = (nginx_tree(base, leaf, names="www.example.test") if server == "nginx"
             else apache_tree(base, leaf))
    folder = f"{infra}/etc/ssl/example"
    if case == "chain-wrong-order":
        write(f"{folder}/www.example.test.crt", inter.pem + leaf.pem)
    elif case == "chain-contains-root":
        write(f"{folder}/www.example.test.crt", leaf.pem + inter.pem + root.pem)
    else:
        write(f"{folder}/www.example.test.crt", leaf.pem + inter.pem)
        write(f"{folder}/www.example.test.key", key_pem(new_key()), 0o600)
    return infra


@pytest.mark.parametrize("server", ["nginx", "apache"])
@pytest.mark.parametrize("case", ["chain-wrong-order", "chain-contains-root", "key-mismatch"])
@pytest.mark.parametrize("lang", ["en", "ja"])
def test_hand_fixed_problems_get_steps_with_the_sites_own_files(tmp_path, certlint, lang, case,
                                                                 server):
    """Each of these problems gets its own steps: the site's files as the server names them,
    the server's own error text, a reload-and-check section, and (for Apache) the warning that
    `apachectl configtest` does not load certificates."""
    infra = _broken_tree(tmp_path, case, server)
    entry = "/etc/nginx/nginx.conf" if server == "nginx" else "/etc/apache2/apache2.conf"
    doc = document(certlint, tmp_path, infra, entry, lang)
    assert f"`{case}`" in doc
    assert str(infra) not in doc.replace(f"--root {infra}", "")
    if case == "chain-wrong-order":
        assert "cat cert-2.pem cert-1.pem > /etc/ssl/example/www.example.test.fullchain.pem" \
            in doc
    elif case == "chain-contains-root":
        assert "cat cert-1.pem cert-2.pem > /etc/ssl/example/www.example.test.fullchain.pem" \
            in doc
        assert "openssl x509 -in cert-3.pem -noout -subject -fingerprint -sha256" in doc
    else:
        assert "for k in /etc/ssl/example/*; do" in doc
        assert "-subj /CN=www.example.test -addext subjectAltName=DNS:www.example.test" in doc
    if case != "chain-contains-root":
        assert ("AH02565" in doc) == (server == "apache")
        assert ("key values mismatch" in doc) == (server == "nginx")
    assert ("apachectl configtest && apachectl graceful" in doc) == (server == "apache")
    assert ("nginx -t && systemctl reload nginx" in doc) == (server == "nginx")
    if server == "apache":
        assert "AH00020: Configuration Failed, exiting" in doc
    assert "openssl pkey -in /etc/ssl/example/www.example.test.key -pubout | openssl sha256" \
        in doc
    if lang == "ja":
        assert english_left(doc) == []
    fingerprints = re.compile(r"(?:[0-9A-F]{2}:){31}[0-9A-F]{2}")  # fresh keys every run
    golden(f"{server}-{case}.{lang}.md", fingerprints.sub("SHA-256", stable(doc, tmp_path)))


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_chain_file_layout_keeps_the_rule_documents_advice(tmp_path, certlint, lang):
    """Apache with SSLCertificateChainFile: the file numbers of a split would not match what is
    served, so the document gives the rule document's own advice, not made-up steps."""
    root, inter, leaf = pki()
    write(tmp_path / "root.pem", root.pem)
    infra = apache_tree(tmp_path, leaf)
    folder = f"{infra}/etc/ssl/example"
    write(f"{folder}/chain.pem", inter.pem + root.pem)
    site = f"{infra}/etc/apache2/sites-enabled/example.conf"
    text = open(site).read().replace(
        "    SSLCertificateKeyFile", "    SSLCertificateChainFile /etc/ssl/example/chain.pem\n"
        "    SSLCertificateKeyFile")
    write(site, text.encode())
    doc = document(certlint, tmp_path, infra, "/etc/apache2/apache2.conf", lang,
                   "--apache-version", "2.2.34")
    assert "`chain-contains-root`" in doc
    assert "awk " not in doc and "cat cert-" not in doc
    assert "SSLCertificateChainFile" in doc


@pytest.mark.parametrize("case", ["chain-wrong-order", "chain-contains-root"])
def test_old_apache_is_told_its_intermediates_go_to_the_chain_file(tmp_path, certlint, case):
    infra = _broken_tree(tmp_path, case, "apache")
    old = document(certlint, tmp_path, infra, "/etc/apache2/apache2.conf", "en",
                   "--apache-version", "2.2.34")
    new = document(certlint, tmp_path, infra, "/etc/apache2/apache2.conf", "en")
    note = "Apache 2.2.34 reads only the first certificate of `SSLCertificateFile`"
    assert note in old and "reads only the first certificate" not in new


@pytest.mark.parametrize("case", ["chain-wrong-order", "chain-contains-root", "key-mismatch"])
def test_hostile_file_names_stay_one_shell_word(tmp_path, certlint, case):
    """A certificate or key path with shell syntax in it (backticks, `;`, a quote, `&&`): each
    command of the steps, run as written, treats it as a file name and runs nothing from it.
    (A `$` would make the path a variable to nginx: cert-path-dynamic, no steps.)"""
    infra = _broken_tree(tmp_path, case, "nginx")
    folder = f"{infra}/etc/ssl/example"
    evil = "x `touch PWNED`;'q&&touch PWNED2"
    os.rename(f"{folder}/www.example.test.crt", f"{folder}/{evil}.crt")
    os.rename(f"{folder}/www.example.test.key", f"{folder}/{evil}.key")
    site = f"{infra}/etc/nginx/sites-enabled/example.conf"
    quoted = '"/etc/ssl/example/x `touch PWNED`;\'q&&touch PWNED2'
    text = open(site).read().replace("/etc/ssl/example/www.example.test.crt;",
                                     quoted + '.crt";')
    text = text.replace("/etc/ssl/example/www.example.test.key;", quoted + '.key";')
    write(site, text.encode())
    doc = document(certlint, tmp_path, infra, "/etc/nginx/nginx.conf", "en")
    assert f"`{case}`" in doc
    work = tmp_path / "work"
    work.mkdir()
    ran = 0
    for block in _blocks(doc):
        if block.startswith(("awk ", "cat cert-", "openssl x509 -in ", "want=")):
            mapped = block.replace("'/etc/", f"'{infra}/etc/").replace(" /etc/", f" {infra}/etc/")
            out = subprocess.run(["sh", "-c", mapped], cwd=work, capture_output=True,
                                 text=True, env={**os.environ, "PATH": "/usr/bin:/bin"})
            if block.startswith("openssl x509 -in ") and "-pubkey" in block:
                # the hostile file names were opened as files: two hashes of real keys
                assert out.stdout.count("SHA2-256(stdin)=") == 2, out.stderr
                assert "unable to load" not in out.stderr.lower(), out.stderr
                ran += 1
    assert ran >= 1
    if case != "key-mismatch":
        assert (work / "cert-2.pem").exists()  # the split read the hostile-named file
    assert not list(tmp_path.rglob("PWNED*"))
