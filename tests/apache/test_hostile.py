"""Hostile Apache inputs: certlint answers with clean findings (file:line), within seconds,
never a traceback or a hang. Where it matters, the real apache2 agrees that the config is bad.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from tests.support.apache import ApacheServer, apache_binary, modules
from tests.support.paths import REPO

ROOT = REPO
PKI = os.path.join(ROOT, "fixtures", "pki")
VHOST = (f"<VirtualHost *:443>\n    ServerName example.test\n    SSLEngine on\n"
         f"    SSLCertificateFile {PKI}/fullchain.pem\n"
         f"    SSLCertificateKeyFile {PKI}/demo-keys/leaf.key\n</VirtualHost>\n")
HEADER = modules("mpm_event", "authz_core", "ssl") + "ServerName localhost\nListen 443\n"


def run(path: str, *args: str, timeout: float = 20.0) -> tuple[int, str, str, float]:
    """certlint as a user runs it: a subprocess, with a wall-clock budget."""
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "src"))
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "certlint", "check", "--server", "apache",
                           "--format", "text", "--ca-bundle", os.path.join(PKI, "root.pem"),
                           path, *args], capture_output=True, text=True, timeout=timeout,
                          env=env)
    elapsed = time.monotonic() - start
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    return proc.returncode, proc.stdout, proc.stderr, elapsed


def config_errors(out: str) -> list[str]:
    return [line for line in out.splitlines() if " config-error " in line]


def test_unclosed_virtualhost_is_reported_at_its_opening_line(tmp_path):
    conf = tmp_path / "apache2.conf"
    conf.write_text(HEADER + VHOST.replace("</VirtualHost>\n", ""))
    code, out, _err, elapsed = run(str(conf))
    assert code == 1
    errors = config_errors(out)
    assert len(errors) == 1 and f"{conf}:6:" in errors[0] and "was not closed" in errors[0]
    assert elapsed < 10
    apache_binary()
    assert not ApacheServer(str(conf), str(tmp_path / "state")).syntax().ok


def test_mismatched_and_stray_closing_tags(tmp_path):
    conf = tmp_path / "apache2.conf"
    conf.write_text(HEADER + "<VirtualHost *:443>\n</Directory>\n</VirtualHost>\n"
                    "</IfModule>\n")
    code, out, _err, _elapsed = run(str(conf))
    errors = config_errors(out)
    assert any(":7:" in e and "Expected </VirtualHost> but saw </Directory>" in e
               for e in errors), out
    assert any(":9:" in e and "without matching" in e for e in errors), out
    assert code == 1


def test_unclosed_inactive_section_and_unclosed_macro(tmp_path):
    conf = tmp_path / "apache2.conf"
    conf.write_text(HEADER + "<IfModule mod_nothing.c>\n  <VirtualHost *:443>\n"
                    "<Macro Open $x>\n  ServerName $x\n")
    code, out, _err, elapsed = run(str(conf))
    errors = config_errors(out)
    assert any(":6:" in e and "<IfModule> was not closed" in e for e in errors), out
    assert code == 1 and elapsed < 10


@pytest.mark.parametrize("layout", ["pair", "self", "glob", "directory"])
def test_include_loops_end_quickly_with_a_finding(layout, tmp_path):
    conf = tmp_path / "apache2.conf"
    if layout == "pair":
        (tmp_path / "a.conf").write_text("Include b.conf\n")
        (tmp_path / "b.conf").write_text("# loops back\nInclude a.conf\n")
        conf.write_text(HEADER + "Include a.conf\n" + VHOST)
    elif layout == "self":
        conf.write_text(HEADER + "Include apache2.conf\n" + VHOST)
    elif layout == "glob":
        conf.write_text(HEADER + "IncludeOptional *.conf\n" + VHOST)
    else:
        (tmp_path / "conf.d").mkdir()
        (tmp_path / "conf.d" / "loop.conf").write_text("Include conf.d\n")
        conf.write_text(HEADER + "Include conf.d\n" + VHOST)
    code, out, _err, elapsed = run(str(conf))
    errors = config_errors(out)
    assert errors and all("loop" in e or "recursion" in e for e in errors), out
    assert code == 1 and elapsed < 10
    assert "1 TLS site" in out or "example.test" in out or len(errors) >= 1


def test_undefined_variable_is_a_config_error_and_the_literal_path_is_missing(tmp_path):
    conf = tmp_path / "apache2.conf"
    conf.write_text(HEADER + VHOST.replace(f"{PKI}/fullchain.pem",
                                           "${CERTLINT_NO_SUCH_VAR}/fullchain.pem"))
    code, out, _err, _elapsed = run(str(conf))
    assert code == 1
    errors = config_errors(out)
    assert len(errors) == 1 and f"{conf}:9:" in errors[0]
    assert "AH00111: Config variable ${CERTLINT_NO_SUCH_VAR} is not defined" in errors[0]
    assert any(" cert-file-missing " in line and ":9:" in line for line in out.splitlines())
    # the real server agrees: it keeps the literal text and cannot open that file
    apache_binary()
    result = ApacheServer(str(conf), str(tmp_path / "state")).syntax()
    assert not result.ok
    assert "does not exist or is empty" in result.output


def test_binary_files(tmp_path):
    blob = tmp_path / "blob.bin"
    blob.write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 40)
    code, _out, err, elapsed = run(str(blob))
    assert code == 2 and "binary file" in err and elapsed < 10

    conf = tmp_path / "apache2.conf"
    conf.write_text(HEADER + "Include blob.bin\n" + VHOST)
    code, out, _err, _elapsed = run(str(conf))
    errors = config_errors(out)
    assert len(errors) == 1 and f"{conf}:6:" in errors[0] and "binary file" in errors[0]
    assert code == 1

    code, _out, err, _elapsed = run("/dev/zero")
    assert code == 2 and "not a regular file" in err


def test_device_include_does_not_hang(tmp_path):
    conf = tmp_path / "apache2.conf"
    conf.write_text(HEADER + "Include /dev/zero\n" + VHOST)
    code, out, _err, elapsed = run(str(conf))
    assert code == 1 and "not a regular file" in out and elapsed < 10


def test_macro_site_and_macro_abuse(tmp_path):
    conf = tmp_path / "apache2.conf"
    conf.write_text(
        HEADER + "<Macro Site $host $cert>\n<VirtualHost *:443>\n  ServerName $host\n"
        "  SSLEngine on\n  SSLCertificateFile $cert\n"
        f"  SSLCertificateKeyFile {PKI}/demo-keys/leaf.key\n</VirtualHost>\n</Macro>\n"
        f"Use Site example.test {PKI}/fullchain.pem\n"
        f"Use Site www.example.test {PKI}/leaf.pem\n"
        "Use Site too-few-args\nUse Nobody here\n"
        "<Macro Loop>\nUse Loop\n</Macro>\nUse Loop\n")
    code, out, _err, elapsed = run(str(conf))
    lines = out.splitlines()
    assert any(" apache-chain-file-missing " in line and ":10:" in line
               and "[www.example.test:443]" in line for line in lines), out
    errors = config_errors(out)
    assert any(":16:" in e and "takes 2 arguments, 1 given" in e for e in errors), out
    assert any(":17:" in e and "macro 'Nobody' is not defined" in e for e in errors), out
    assert any(":19:" in e and "recursive use of macro" in e for e in errors), out
    assert code == 1 and elapsed < 10


def test_macro_bomb_and_deep_nesting_stop_in_seconds(tmp_path):
    bomb = ["<Macro L0>", "ServerAlias x", "</Macro>"]
    for i in range(1, 40):
        bomb += [f"<Macro L{i}>", f"Use L{i - 1}", f"Use L{i - 1}", "</Macro>"]
    conf = tmp_path / "apache2.conf"
    conf.write_text(HEADER + "\n".join(bomb) + "\nUse L39\n" + VHOST)
    code, out, _err, elapsed = run(str(conf))
    assert "certlint stops reading here" in out and code == 1 and elapsed < 15

    deep = tmp_path / "deep.conf"
    deep.write_text(HEADER + "<IfModule ssl_module>\n" * 5000 + VHOST
                    + "</IfModule>\n" * 5000)
    code, out, _err, elapsed = run(str(deep))
    assert "nested more than" in out and code == 1 and elapsed < 10


def test_garbage_text_lines_do_not_crash(tmp_path):
    conf = tmp_path / "apache2.conf"
    conf.write_bytes(HEADER.encode() + b"\xff\xfe odd \xc3\x28 bytes\n<\n<>\n\"unterminated\n"
                     b"SSLCertificateFile\nDefine\nInclude\n<IfVersion>\n</IfVersion>\n"
                     b"<IfVersion ~ [>\n</IfVersion>\n" + VHOST.encode() + b"trailing \\")
    code, out, _err, elapsed = run(str(conf))
    assert code == 1 and elapsed < 10
    assert "example.test:443" in out or "TLS site" in out or config_errors(out)
