"""What certlint prints cannot be steered by the input: no secrets from its environment, no lines
of foreign files, no forged lines or terminal escapes (SECURITY.md promises 4, 5 and 6).

Every run is a separate process under the 10 s / 1 GB bar (tests/support/bounded.py).
"""

from __future__ import annotations

import json
import os
import re
import subprocess

import pytest

from tests.support.apache import ApacheServer, apache_binary, apache_env, modules
from tests.support.bounded import certlint
from tests.support.paths import REPO
from tests.support.pki import StandardPKI, cert_pem, write

PKI = os.path.join(REPO, "fixtures", "pki")
SECRET = "Hunter2SecretTokenValue"
FORGED = "\x1b[2J\x1b]0;pwned\x07\n::error file=README.md,line=1::forged\r\n\u202egnp.exe"


# -- promise 4: the environment never flows into output ----------------------------------------

def apache_tree(tmp_path, vhost_lines: str, extra: str = "") -> str:
    conf = tmp_path / "apache2.conf"
    conf.write_text(modules("mpm_event", "authz_core", "ssl") + "ServerName localhost\n"
                    "Listen 443\n" + extra + "<VirtualHost *:443>\n    ServerName example.test\n"
                    + vhost_lines + "    SSLEngine on\n"
                    f"    SSLCertificateFile {PKI}/fullchain.pem\n"
                    f"    SSLCertificateKeyFile {PKI}/demo-keys/leaf.key\n</VirtualHost>\n")
    return str(conf)


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "github", "remediation"])
def test_serveralias_of_a_ci_secret_never_prints_it(tmp_path, fmt):
    """SECURITY.md promise 4: `ServerAlias ${CI_SECRET}` stays literal in every format, even
    lower-cased (which log masking would miss)."""
    conf = apache_tree(tmp_path, "    ServerAlias ${CI_SECRET}\n")
    env = dict(os.environ, CI_SECRET=SECRET)

    result = certlint("check", "--server", "apache", "--ca-bundle", f"{PKI}/root.pem",
                      "--format", fmt, conf, env=env)

    assert result.code == 0  # AH00111 is a warning
    assert SECRET.lower() not in result.output.lower()
    # Apache's AH00111 warning names the variable (Markdown escapes the `_`)
    assert re.search(r"CI\\?_SECRET", result.output)


def test_envvars_cannot_copy_the_environment_either(tmp_path):
    """SECURITY.md promise 4: Debian's envvars (from the pull request too) expands `$VAR` from
    earlier envvars lines and --env only, never from certlint's environment."""
    (tmp_path / "envvars").write_text("export LEAK=$CI_SECRET\nexport NAME=site-${CI_SECRET}\n")
    conf = apache_tree(tmp_path, "    ServerAlias ${LEAK}x.test ${NAME}.test\n")

    result = certlint("check", "--server", "apache", "--ca-bundle", f"{PKI}/root.pem", conf,
                      env=dict(os.environ, CI_SECRET=SECRET))

    assert SECRET.lower() not in result.output.lower()
    assert "site-.test" in result.output  # what the shell makes of an unset variable


def test_env_option_is_the_way_to_give_httpds_environment(tmp_path):
    """--env NAME=VALUE stands for httpd's environment: the certificate path expands, the site
    is clean, and the real apache2 started with that environment agrees."""
    conf = apache_tree(tmp_path, "")
    text = open(conf).read().replace(f"{PKI}/fullchain.pem", "${CERT_DIR}/fullchain.pem")
    write(conf, text.encode())

    without = certlint("check", "--server", "apache", "--ca-bundle", f"{PKI}/root.pem", conf,
                       env=dict(os.environ, CERT_DIR=PKI))
    given = certlint("check", "--server", "apache", "--ca-bundle", f"{PKI}/root.pem",
                     "--env", f"CERT_DIR={PKI}", conf)

    assert without.code == 1 and "AH00111" in without.out and "cert-file-missing" in without.out
    assert "--env NAME=VALUE" in without.out
    missing = [line for line in without.out.splitlines() if " cert-file-missing " in line]
    assert len(missing) == 1 and "if httpd's environment sets it, pass --env" in missing[0]
    assert given.code == 0, given.output
    apache_binary()
    server = ApacheServer(conf, str(tmp_path / "state"))
    for cert_dir, ok in ((PKI, True), (None, False)):
        env = apache_env(conf, server.state)
        if cert_dir:
            env["CERT_DIR"] = cert_dir
        real = subprocess.run(server.args("-t"), capture_output=True, text=True, timeout=60,
                              env=env, stdin=subprocess.DEVNULL)
        assert (real.returncode == 0) == ok, real.stdout + real.stderr


def test_env_option_refuses_what_is_no_assignment(tmp_path):
    conf = apache_tree(tmp_path, "")
    result = certlint("check", "--env", "NOEQUALS", conf)
    assert result.code == 2 and "NAME=VALUE" in result.err


# -- promise 5: foreign files are not echoed -----------------------------------------------------

CREDENTIALS = """<?xml version="1.0" encoding="UTF-8"?>
<settings>
  <servers>
    <server>
      <id>deploy</id>
      <password>{secret}</password>
      <privateKey>/home/ci/.ssh/id_rsa {secret}</privateKey>
    </server>
  </servers>
  <token value="{secret}"/>
  aws_secret_access_key = {secret}
  {secret} {secret}
</settings>
"""


@pytest.mark.parametrize("server", ["apache", "nginx"])
def test_included_xml_credentials_are_not_echoed(tmp_path, server):
    """SECURITY.md promise 5: an Include of an XML file with credentials gives config-errors that
    name sections and directives, never the lines that hold the secret."""
    (tmp_path / "settings.xml").write_text(CREDENTIALS.format(secret=SECRET))
    if server == "apache":
        conf = apache_tree(tmp_path, "", extra=f"Include {tmp_path}/settings.xml\n")
    else:
        conf = write(tmp_path / "nginx.conf",
                     f"events {{}}\nhttp {{\ninclude {tmp_path}/settings.xml;\n}}\n".encode())

    result = certlint("check", "--server", server, "--ca-bundle", f"{PKI}/root.pem", conf)

    assert result.code == 1
    assert " config-error " in result.out
    assert SECRET not in result.output
    assert "/home/ci/.ssh" not in result.output


def test_long_garbage_lines_are_cut_to_a_short_excerpt(tmp_path):
    """SECURITY.md promise 5: a garbage word in a directive's place is quoted shortened; a file
    of junk stops being reported after 20 problems."""
    junk = "\n".join(f"</{SECRET * 5}{n}>" for n in range(200)) + "\n"
    (tmp_path / "junk.conf").write_text(f"SSLEngine {SECRET * 5}\n" + junk)
    conf = apache_tree(tmp_path, "", extra=f"Include {tmp_path}/junk.conf\n")

    result = certlint("check", "--server", "apache", conf)

    errors = [line for line in result.out.splitlines() if " config-error " in line]
    assert SECRET * 2 not in result.output
    assert 2 <= len(errors) <= 22, errors
    assert "reports no more of them" in errors[-1] or any("no more" in e for e in errors)


# -- promise 6: output cannot be forged ----------------------------------------------------------

def forged_tree(tmp_path) -> tuple[str, str]:
    """An nginx site whose quoted server_name and whose certificate's CN and SAN carry terminal
    escapes, a newline with a fake GitHub workflow command, and a bidirectional override."""
    pki = StandardPKI.make("\x1b[2J\n::error file=README.md::f.test")  # CN: 64 at most
    cert = write(tmp_path / "site.pem", cert_pem(pki.leaf.cert, pki.inter.cert))
    key = write(tmp_path / "site.key", pki.leaf.key_pem, 0o600)
    root = write(tmp_path / "root.pem", pki.root.pem)
    name = "x" + FORGED.replace('"', "") + "[link](http://evil.test)<img src=x>|`"
    conf = write(tmp_path / "nginx.conf", (
        "events {}\nhttp {\n    server {\n        listen 443 ssl;\n"
        f'        server_name "{name}";\n        ssl_certificate {cert};\n'
        f"        ssl_certificate_key {key};\n    }}\n}}\n").encode())
    return conf, root


def no_control_characters(text: str, crlf: bool = False) -> None:
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text, repr(text)
    assert "\r" not in (text.replace("\r\n", "") if crlf else text)


def test_text_output_shows_control_characters_escaped_on_one_line(tmp_path):
    """SECURITY.md promise 6 (text): one line per finding, control characters made visible."""
    conf, root = forged_tree(tmp_path)

    result = certlint("check", "--ca-bundle", root, conf)

    assert result.code == 1
    no_control_characters(result.output)
    lines = result.out.splitlines()
    assert not any(line.startswith("::") for line in lines)
    findings = [line for line in lines if line.startswith(conf)]
    assert len(findings) == len(lines) - 1  # every line but the summary is one finding
    assert any("hostname-mismatch" in line and "\\x1b[2J" in line and "\\n::error" in line
               for line in findings)


def test_github_annotations_cannot_be_forged(tmp_path):
    """SECURITY.md promise 6 (GitHub workflow commands): each finding is exactly one command
    line; the newline-and-`::error` in a name arrives as %0A data."""
    conf, root = forged_tree(tmp_path)
    as_json = json.loads(certlint("check", "--ca-bundle", root, "--format", "json", conf).out)

    result = certlint("check", "--ca-bundle", root, "--format", "github", conf)

    lines = result.out.splitlines()
    assert len(lines) == len(as_json["findings"]) > 0
    assert all(re.match(r"::(error|warning|notice) file=[^:]*,line=\d+,col=\d+,title=[\w-]+::",
                        line) for line in lines), lines
    no_control_characters(result.output)


def test_json_and_sarif_round_trip_the_exact_values(tmp_path):
    """SECURITY.md promise 6 (JSON, SARIF): valid documents; JSON keeps the value exactly (it is
    data), SARIF's message text shows control characters escaped (viewers print it)."""
    conf, root = forged_tree(tmp_path)

    as_json = certlint("check", "--ca-bundle", root, "--format", "json", conf)
    sarif = certlint("check", "--ca-bundle", root, "--format", "sarif", conf)

    payload = json.loads(as_json.out)
    assert any("\x1b[2J" in f["site"] for f in payload["findings"])
    no_control_characters(as_json.out)  # ensure_ascii: escapes, not raw bytes, in the file
    messages = [r["message"]["text"] for r in json.loads(sarif.out)["runs"][0]["results"]]
    assert messages and not any("\x1b" in m or "\n" in m for m in messages)


def test_markdown_document_renders_values_as_text(tmp_path):
    """SECURITY.md promise 6 (Markdown): no link, image, HTML or table break from a value."""
    conf, root = forged_tree(tmp_path)

    result = certlint("check", "--ca-bundle", root, "--format", "remediation", conf)

    no_control_characters(result.out)
    assert "evil.test" in result.out  # the value is there, as text
    prose = markdown_prose(result.out)
    assert "](http://evil.test)" not in prose
    assert not re.search(r"(?<!\\)<img", prose)


def markdown_prose(doc: str) -> str:
    """The document without its code blocks and code spans (CommonMark: a span closes at the
    next backtick run of the same length), where Markdown and HTML are inert."""
    doc = re.sub(r"^(`{3,})[^\n]*\n.*?^\1[ \t]*$", "", doc, flags=re.M | re.S)
    out, i = [], 0
    while i < len(doc):
        if doc[i] == "`":
            run = re.match(r"`+", doc[i:]).group(0)
            end = re.compile(r"(?<!`)" + run + r"(?!`)").search(doc, i + len(run))
            if end:
                i = end.end()
                continue
        out.append(doc[i])
        i += 1
    return "".join(out)


def test_fix_notes_and_diff_show_control_characters_escaped(tmp_path):
    """SECURITY.md promise 6 (fix): the dry-run diff and the notes on stderr escape values too,
    while --patch keeps the exact bytes (git applies them)."""
    tree = tmp_path / "tree"
    tree.mkdir()
    cert = write(tree / "site.pem", open(f"{PKI}/wrong-order.pem", "rb").read())
    conf = write(tree / "nginx.conf", (
        "events {}\nhttp {\n    server {\n        listen 443 ssl;\n"
        f'        server_name "a{FORGED.replace(chr(34), "")}";\n'
        f"        ssl_certificate {cert};\n"
        f"        ssl_certificate_key {PKI}/demo-keys/leaf.key;\n    }}\n}}\n").encode())

    result = certlint("fix", "--offline", "--ca-bundle", f"{PKI}/root.pem", conf, cwd=str(tree))
    patched = certlint("fix", "--offline", "--ca-bundle", f"{PKI}/root.pem", "--patch",
                       str(tmp_path / "fix.patch"), conf, cwd=str(tree))

    assert result.code == 1 and "+        ssl_certificate" in result.out
    no_control_characters(result.output, crlf=True)  # the config line's own CRLF ending
    assert "\\x1b[2J" in result.output
    # exit 1: the forged server_name is no name of the certificate (hostname-mismatch stays)
    assert patched.code in (0, 1) and (tmp_path / "fix.patch").is_file(), patched.output
    no_control_characters(patched.output)
