"""Audit of the Apache issue's wording: Debian's envvars read safely, `--apache-version` advice."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

from certlint.parsers.apache import read_envvars

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_envvars_that_is_a_fifo_is_skipped_not_waited_on(tmp_path):
    """Nobody writes to the pipe: reading it would block forever."""
    fifo = tmp_path / "envvars"
    os.mkfifo(fifo)
    result: list[dict] = []
    reader = threading.Thread(target=lambda: result.append(read_envvars(str(fifo))), daemon=True)
    reader.start()
    reader.join(5)
    assert result == [{}]

    (tmp_path / "apache2.conf").write_text("ServerName localhost\n")
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "src"))
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "certlint", "check", "--server", "apache",
                           str(tmp_path / "apache2.conf")], capture_output=True, text=True,
                          env=env, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert time.monotonic() - started < 30
    assert "Traceback" not in proc.stderr


def test_envvars_that_is_a_device_or_huge_is_not_read(tmp_path):
    os.symlink("/dev/zero", tmp_path / "envvars")
    assert read_envvars(str(tmp_path / "envvars")) == {}
    big = tmp_path / "big"
    big.write_bytes(b"export APACHE_RUN_DIR=/x\n" + b"#" * (2 * 1024 * 1024))
    assert read_envvars(str(big)) == {}
    small = tmp_path / "small"
    small.write_text("export APACHE_RUN_DIR=/var/run/apache2\n")
    assert read_envvars(str(small)) == {"APACHE_RUN_DIR": "/var/run/apache2"}


def leaf_only_vhost(tmp_path) -> str:
    from tests.support.pki import StandardPKI, write

    pki = StandardPKI.make("example.test")
    write(tmp_path / "site.pem", pki.leaf.pem)
    write(tmp_path / "site.key", pki.leaf.key_pem, 0o600)
    write(tmp_path / "inters" / "inter.pem", pki.inter.pem)
    write(tmp_path / "root.pem", pki.root.pem)
    return write(tmp_path / "apache2.conf", (
        f"ServerRoot {tmp_path}\nListen 443\n<VirtualHost *:443>\n    ServerName example.test\n"
        "    SSLEngine on\n    SSLCertificateFile site.pem\n    SSLCertificateKeyFile site.key\n"
        "</VirtualHost>\n").encode())


def test_apache_version_check_advice_and_fix_agree(tmp_path, certlint):
    """What `check` advises is what `fix` does, on each side of 2.4.8; the form `apache2 -v`
    prints (`Apache/2.4.58 (Debian)`) is understood."""
    entry = leaf_only_vhost(tmp_path)
    fix_args = ("--offline", "--intermediates", tmp_path / "inters")
    for version, fullchain in (("2.4.7", False), ("2.4.8", True), ("Apache/2.4.58 (Debian)", True),
                               ("2.2.34", False)):
        _code, payload = certlint.json("--apache-version", version, "--ca-bundle",
                                       tmp_path / "root.pem", entry)
        message = " ".join(f["message"] for f in payload["findings"]
                           if f["rule"] == "apache-chain-file-missing")
        assert message, payload
        assert ("2.4.8" in message) and (("Either put the full chain" in message) == fullchain), (
            version, message)
        fixed = certlint("fix", "--apache-version", version, "--ca-bundle", tmp_path / "root.pem",
                         *fix_args, entry)
        assert fixed.exit_code == 1, fixed.output  # dry run: changes pending
        if fullchain:
            assert "+    SSLCertificateFile site.fullchain.pem" in fixed.stdout
        else:
            assert "+    SSLCertificateChainFile site.chain.pem" in fixed.stdout


def test_an_apache_version_that_picks_no_side_is_a_usage_error(tmp_path, certlint):
    entry = leaf_only_vhost(tmp_path)
    for command in ("check", "fix"):
        for version in ("2.4", "abc", "", "latest"):
            result = certlint(command, "--apache-version", version, entry)
            assert result.exit_code == 2, (command, version, result.output)
            assert "--apache-version" in result.output and "2.4.62" in result.output
            assert "Traceback" not in result.output
