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
