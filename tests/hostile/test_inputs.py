"""Hostile inputs: each ends in a clean finding or a one-line error, never a traceback or a hang.

certlint runs as a real subprocess with a timeout, so a hang fails the test instead of stalling
the suite. "Clean" means: exit code 1 (findings) or 2 (the entry point is unusable), no
"Traceback" anywhere, and for exit 2 a single `certlint: ...` line on stderr.
"""

from __future__ import annotations

import builtins
import os
import subprocess
import sys
import time

import pytest

from tests.support.paths import REPO, TESTS

HERE = TESTS

PKI = os.path.join(REPO, "fixtures", "pki")
LEAF = os.path.join(PKI, "leaf.pem")
KEY = os.path.join(PKI, "demo-keys", "leaf.key")
LIMIT = 15.0  # seconds; each case takes well under one


def run(*args: str, timeout: float = LIMIT) -> tuple[int, str, str, float]:
    env = dict(os.environ, PYTHONPATH=os.path.join(REPO, "src"))
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "certlint", "check", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, env=env,
                          stdin=subprocess.DEVNULL)
    return proc.returncode, proc.stdout, proc.stderr, time.monotonic() - start


def clean(code: int, out: str, err: str, expect_code: int) -> None:
    assert "Traceback" not in out + err, out + err
    assert code == expect_code, out + err
    if code == 2:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("certlint: "), err


def tls_server(cert: str = LEAF, key: str = KEY) -> str:
    return (f"server {{ listen 443 ssl; server_name example.test; ssl_certificate {cert}; "
            f"ssl_certificate_key {key}; }}\n")


def conf(tmp_path, body: str, name: str = "nginx.conf") -> str:
    path = tmp_path / name
    path.write_text("events {}\nhttp {\n" + body + "}\n")
    return str(path)


def test_binary_config_is_a_one_line_error(tmp_path):
    path = tmp_path / "nginx.conf"
    path.write_bytes(b"events {}\n\x00\x01\x02\xff\xfe binary")
    code, out, err, _ = run(path)
    clean(code, out, err, 2)
    assert "binary file" in err


def test_binary_include_is_a_finding_at_the_file(tmp_path):
    (tmp_path / "blob.conf").write_bytes(os.urandom(4096) + b"\x00")
    code, out, err, _ = run(conf(tmp_path, "include blob.conf;\n" + tls_server()))
    clean(code, out, err, 1)
    assert "blob.conf:1:1: config-error binary file" in out


def test_empty_entry_point_is_a_one_line_error(tmp_path):
    path = tmp_path / "nginx.conf"
    path.write_text("\n\n")
    code, out, err, _ = run(path)
    clean(code, out, err, 2)
    assert "empty" in err


def test_empty_include_is_fine(tmp_path):
    (tmp_path / "empty.conf").write_text("")
    code, out, err, _ = run(conf(tmp_path, "include empty.conf;\n"))
    clean(code, out, err, 0)


@pytest.mark.parametrize("layout", ["self", "pair"])
def test_include_loop_is_reported_once_with_its_line(tmp_path, layout):
    if layout == "self":
        (tmp_path / "a.conf").write_text("server_tokens off;\ninclude a.conf;\n")
    else:
        (tmp_path / "a.conf").write_text("include b.conf;\n")
        (tmp_path / "b.conf").write_text("\ninclude a.conf;\n")
    code, out, err, elapsed = run(conf(tmp_path, "include a.conf;\n"))
    clean(code, out, err, 1)
    assert out.count("include loop") == 1, out
    assert ("a.conf:2:1:" if layout == "self" else "b.conf:2:1:") in out
    assert elapsed < LIMIT


def test_symlink_loop_is_reported_not_followed(tmp_path):
    (tmp_path / "x").symlink_to("y")
    (tmp_path / "y").symlink_to("x")
    (tmp_path / "certs").symlink_to(tmp_path / "certs")  # a directory link to itself
    code, out, err, _ = run(conf(tmp_path, "include x;\ninclude certs/*.conf;\n"
                                 + tls_server(cert=str(tmp_path / "y"))))
    clean(code, out, err, 1)
    assert "symbolic link that cannot be followed" in out
    assert "cert-file-missing" in out and "Too many levels of symbolic links" in out


def test_huge_config_finishes_in_seconds(tmp_path):
    servers = "".join(
        f"server {{ listen 80; server_name s{i}.example.test; location / {{ return 200; }} }}\n"
        for i in range(10000))
    code, out, err, elapsed = run(conf(tmp_path, servers + tls_server()))
    clean(code, out, err, 1)
    assert "chain-incomplete" in out
    assert elapsed < 10, elapsed


def test_oversized_config_is_refused_without_reading_it(tmp_path):
    path = tmp_path / "nginx.conf"
    with open(path, "wb") as fh:
        fh.truncate(200 * 1024 * 1024)  # sparse: costs no disk
    code, out, err, elapsed = run(path)
    clean(code, out, err, 2)
    assert "larger than" in err and elapsed < 5


def test_certificate_file_with_thousands_of_certificates(tmp_path):
    leaf, inter, other = (open(os.path.join(PKI, n)).read()
                          for n in ("leaf.pem", "inter.pem", "other-inter.pem"))
    bundle = tmp_path / "bundle.pem"
    bundle.write_text(leaf + inter + (other + inter) * 2500)
    code, out, err, elapsed = run(conf(tmp_path, tls_server(cert=str(bundle))),
                                  "--ca-bundle", os.path.join(PKI, "root.pem"))
    clean(code, out, err, 0)  # only a warning
    assert out.count("chain-unrelated-cert") == 1, out  # one summary, not 5000 lines
    assert "5000 of its 5002 certificates" in out
    assert elapsed < 10, elapsed


def test_crlf_config_parses_like_lf(tmp_path):
    text = "events {}\nhttp {\n" + tls_server() + "}\n"
    (tmp_path / "nginx.conf").write_bytes(text.replace("\n", "\r\n").encode())
    code, out, err, _ = run(tmp_path / "nginx.conf")
    clean(code, out, err, 1)
    column = text.splitlines()[2].index("ssl_certificate ") + 1  # the directive's own column
    assert f"nginx.conf:3:{column}: chain-incomplete" in out


def test_bom_is_reported_as_nginx_would_fail(tmp_path):
    (tmp_path / "nginx.conf").write_bytes(b"\xef\xbb\xbfevents {}\nhttp {\n"
                                          + tls_server().encode() + b"}\n")
    code, out, err, _ = run(tmp_path / "nginx.conf")
    clean(code, out, err, 1)
    assert "byte order mark" in out
    assert "chain-incomplete" in out  # the rest of the file is still checked


def test_fifo_and_devices_are_not_read(tmp_path):
    os.mkfifo(tmp_path / "pipe.conf")
    os.mkfifo(tmp_path / "pipe.pem")
    code, out, err, _ = run(conf(tmp_path, "include pipe.conf;\n"
                                 + tls_server(cert=str(tmp_path / "pipe.pem"))
                                 + tls_server(cert="/dev/zero")))
    clean(code, out, err, 1)
    assert "named pipe" in out and "character device" in out
    code, out, err, _ = run(tmp_path / "pipe.conf")
    clean(code, out, err, 2)


def test_directory_where_a_file_belongs(tmp_path):
    (tmp_path / "dir.conf").mkdir()
    (tmp_path / "cert.pem").mkdir()
    code, out, err, _ = run(conf(tmp_path, "include dir.conf;\n"
                                 + tls_server(cert=str(tmp_path / "cert.pem"))))
    clean(code, out, err, 1)
    assert "Is a directory" in out and "is a directory, not a file" in out
    code, out, err, _ = run(tmp_path / "dir.conf")  # a folder with no nginx.conf in it
    clean(code, out, err, 2)
    code, out, err, _ = run(tmp_path)  # the folder holding nginx.conf stands for it
    clean(code, out, err, 1)
    assert "is a directory, not a file" in out


@pytest.mark.parametrize("text,message,line", [
    # nginx -t: unexpected end of file, expecting "}" in nginx.conf:5 (the line after the last)
    ("events {}\nhttp {\n  server {\n    listen 443 ssl;\n", 'expecting "}"', 5),
    ("events {}\nhttp {\n}\n}\n", 'unexpected "}"', 4),
    ('events {}\nhttp {\n  server_name "unterminated;\n}\n', "unexpected end of file", None),
])
def test_unbalanced_braces_and_quotes(tmp_path, text, message, line):
    (tmp_path / "nginx.conf").write_text(text)
    code, out, err, _ = run(tmp_path / "nginx.conf")
    clean(code, out, err, 1)
    assert f"nginx.conf:{line or ''}" in out and "config-error" in out and message in out, out


def test_missing_include_is_a_finding_and_an_empty_glob_is_not(tmp_path):
    code, out, err, _ = run(conf(tmp_path, "include nowhere/*.conf;\ninclude missing.conf;\n"))
    clean(code, out, err, 1)
    assert out.count("config-error") == 1 and "nginx.conf:4:1:" in out
    assert "include file not found: 'missing.conf'" in out


def test_lua_blocks_with_braces_in_strings(tmp_path):
    lua = """
        location / {
            content_by_lua_block {
                local s = "}" .. '{' -- braces in strings } and comments {
                ngx.say(s .. "}}" .. [[ } { ]]) --[==[ } ]==]
            }
        }
        access_by_lua_block { ngx.var.x = "{" }
"""
    server = tls_server().replace("; }\n", ";" + lua + "}\n")
    code, out, err, _ = run(conf(tmp_path, server))
    clean(code, out, err, 1)
    assert "chain-incomplete" in out and "config-error" not in out, out


def test_unreadable_files(tmp_path, monkeypatch, certlint):
    """Permission denied on an include and on a certificate. Tests may run as root (who reads
    anything), so the denial is real when not root and simulated at open() when root."""
    secret_conf, secret_pem = tmp_path / "secret.conf", tmp_path / "secret.pem"
    secret_conf.write_text("server_tokens off;\n")
    secret_pem.write_text(open(LEAF).read())
    entry = conf(tmp_path, "include secret.conf;\n" + tls_server(cert=str(secret_pem)))
    if os.geteuid() != 0:
        secret_conf.chmod(0)
        secret_pem.chmod(0)
    else:
        real_open = builtins.open
        denied = {str(secret_conf), str(secret_pem)}

        def guarded(file, *args, **kwargs):
            if os.fspath(file) in denied:
                raise PermissionError(13, "Permission denied", os.fspath(file))
            return real_open(file, *args, **kwargs)

        real_os_open = os.open

        def guarded_os_open(file, *args, **kwargs):  # certlint reads tree files with os.open
            if os.fspath(file) in denied:
                raise PermissionError(13, "Permission denied", os.fspath(file))
            return real_os_open(file, *args, **kwargs)

        monkeypatch.setattr(builtins, "open", guarded)
        monkeypatch.setattr(os, "open", guarded_os_open)
    result = certlint("check", entry)
    assert result.exit_code == 1, result.output
    assert "secret.conf:1:1: config-error cannot read config file: Permission denied" \
        in result.output
    assert "cert-file-missing" in result.output and "Permission denied" in result.output
    entry_denied = tmp_path / "nginx.conf"
    if os.geteuid() == 0:
        monkeypatch.setattr(builtins, "open", lambda *a, **k: (_ for _ in ()).throw(
            PermissionError(13, "Permission denied")))
        denied.add(str(entry_denied))
    else:
        entry_denied.chmod(0)
    result = certlint("check", str(entry_denied))
    monkeypatch.undo()
    assert result.exit_code == 2 and "Permission denied" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("lua", [False, True])
def test_absurdly_deep_nesting_is_an_error_not_a_crash(tmp_path, lua):
    depth = 5000
    head = "content_by_lua_block { ngx.say(1) }\n" if lua else ""  # crossplane's path too
    text = ("events {}\nhttp {\n" + head + "location / {\n" * depth + "}\n" * depth + "}\n")
    (tmp_path / "nginx.conf").write_text(text)
    code, out, err, elapsed = run(tmp_path / "nginx.conf")
    clean(code, out, err, 1)
    assert "nested more than 100 levels" in out and "internal error" not in out + err
    assert elapsed < 10


def test_control_characters_in_a_path_stay_on_one_output_line(tmp_path):
    text = ('events {}\nhttp {\n server {\n  listen 443 ssl;\n'
            '  ssl_certificate "/nonexistent/a\nb\x1b[31m.pem";\n'
            f'  ssl_certificate_key {KEY};\n }}\n}}\n')
    (tmp_path / "nginx.conf").write_text(text)
    code, out, err, _ = run(tmp_path / "nginx.conf")
    clean(code, out, err, 1)
    lines = out.strip().splitlines()
    assert len(lines) == 2 and "cert-file-missing" in lines[0], out  # finding + summary
    assert "\x1b" not in out and "a\\nb" in lines[0]


@pytest.mark.parametrize("label", ["CERTIFICATE", "PRIVATE KEY"])
def test_pem_file_of_unmatched_begin_lines_is_read_in_linear_time(tmp_path, label):
    """200,000 BEGIN lines and no END: a backtracking PEM regex rescans the file from every
    one of them (minutes); certlint answers in well under a second or two."""
    bad = tmp_path / "bad.pem"
    bad.write_text(f"-----BEGIN {label}-----\nAAAA\n" * 200000)
    cert, key = (str(bad), KEY) if label == "CERTIFICATE" else (
        os.path.join(PKI, "fullchain.pem"), str(bad))
    code, out, err, elapsed = run(conf(tmp_path, tls_server(cert=cert, key=key)))
    clean(code, out, err, 1)
    assert "cert-file-unparseable" in out and elapsed < 8, (elapsed, out)


def test_lua_body_of_unterminated_long_comments_is_linear(tmp_path):
    lua = "content_by_lua_block {\n" + "--[[ never closed\n" * 30000 + "}\n"
    code, out, err, elapsed = run(conf(tmp_path, lua + tls_server()))
    assert "Traceback" not in out + err and code in (1, 2), out + err
    assert elapsed < 10, elapsed


@pytest.mark.parametrize("snippet_lines", [1, 20000])
def test_include_explosion_is_cut_off(tmp_path, snippet_lines):
    """Nine files that each include the next ten times: 10^9 inclusions (nginx itself would
    grind through them). certlint stops at a limit and says so."""
    for i in range(9):
        (tmp_path / f"f{i}.conf").write_text(f"include f{i + 1}.conf;\n" * 10)
    (tmp_path / "f9.conf").write_text("add_header X y;\n" * snippet_lines)
    code, out, err, elapsed = run(conf(tmp_path, "include f0.conf;\n"))
    clean(code, out, err, 1)
    assert "include explosion" in out and out.count("config-error") == 1, out
    assert elapsed < 10, elapsed


def test_ca_bundle_that_is_a_fifo_is_a_usage_error(tmp_path):
    os.mkfifo(tmp_path / "ca.pem")
    code, out, err, elapsed = run(conf(tmp_path, tls_server()), "--ca-bundle",
                                  tmp_path / "ca.pem")
    clean(code, out, err, 2)
    assert "named pipe" in err and elapsed < 5


def test_ca_bundle_named_as_the_certificate(tmp_path):
    """ssl_certificate pointing at the system CA bundle: said plainly, quickly, in few lines."""
    import certifi

    code, out, err, elapsed = run(conf(tmp_path, tls_server(cert=certifi.where())))
    clean(code, out, err, 1)
    assert "names a CA bundle" in out and out.count("chain-unrelated-cert") == 1, out
    assert elapsed < 5
