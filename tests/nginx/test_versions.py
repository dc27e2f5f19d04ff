"""--nginx-version: directives whose meaning changed with the version (issue 11, class 15).

Where this machine's nginx can show it, the real `nginx -t` runs beside certlint with
`--nginx-version` set to the installed version: a deprecation warning certlint reports is the
one nginx prints, a directive certlint calls unknown is one nginx refuses. The later versions'
behaviour (`ssl on;` refused from 1.25.1, `listen ... http2` deprecated) is checked on
certlint's side only, from the nginx changelog.
"""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from tests.support import servers
from tests.support.paths import REPO

SERVER = "server {\n listen 127.0.0.1:%d%s;\n server_name example.test;\n%s}\n"


def local_version() -> str:
    proc = subprocess.run([servers.require("nginx"), "-v"], capture_output=True, text=True,
                          timeout=30)
    return re.search(r"nginx/(\d+\.\d+\.\d+)", proc.stderr + proc.stdout).group(1)


def vt(version: str) -> tuple[int, ...]:
    return tuple(map(int, version.split(".")))


def write(tmp_path, listen_extra: str = "", body: str = "") -> str:
    conf = tmp_path / "nginx.conf"
    conf.write_text(servers.nginx_conf(SERVER % (servers.free_port(), listen_extra, body),
                                       str(tmp_path)))
    return str(conf)


def config_errors(certlint, conf: str, version: str) -> list[dict]:
    _code, payload = certlint.json(conf, "--server", "nginx", "--nginx-version", version)
    return [f for f in payload["findings"] if f["rule"] == "config-error"]


def test_ssl_on_is_a_deprecation_warning_where_nginx_warns(tmp_path, certlint):
    version = local_version()
    conf = write(tmp_path, body=" ssl on;\n")
    result = servers.nginx_test(conf, state_dir=str(tmp_path))
    deprecated = 'the "ssl" directive is deprecated, use the "listen ... ssl" directive instead'
    (found,) = config_errors(certlint, conf, version)
    if vt(version) >= vt("1.25.1"):  # pragma: no cover - depends on the installed nginx
        assert not result.ok and found["severity"] == "error"
        return
    assert deprecated in result.output  # nginx -t prints it (and still succeeds, with a key)
    assert found["severity"] == "warning" and deprecated in found["message"]


@pytest.mark.parametrize("directive,since", [("http2 on;", "1.25.1"),
                                             ("ssl_certificate_cache max=10;", "1.27.4")])
def test_directive_newer_than_the_server_is_unknown(tmp_path, certlint, directive, since):
    version = local_version()
    if vt(version) >= vt(since):
        pytest.skip(f"the installed nginx {version} knows {directive}")
    conf = write(tmp_path, body=f" {directive}\n")
    name = directive.split()[0]
    result = servers.nginx_test(conf, state_dir=str(tmp_path))
    assert not result.ok and f'unknown directive "{name}"' in result.output
    (found,) = config_errors(certlint, conf, version)
    assert found["severity"] == "error" and f'unknown directive "{name}"' in found["message"]
    assert config_errors(certlint, conf, since) == []  # the version that has it


def test_listen_http2_is_quiet_where_nginx_is_quiet(tmp_path, certlint):
    version = local_version()
    conf = write(tmp_path, listen_extra=" http2")
    result = servers.nginx_test(conf, state_dir=str(tmp_path))
    assert result.ok and "deprecated" not in result.output
    if vt(version) < vt("1.25.1"):
        assert config_errors(certlint, conf, version) == []


def test_later_versions_refuse_ssl_on_and_deprecate_listen_http2(tmp_path, certlint):
    conf = write(tmp_path, listen_extra=" http2", body=" ssl on;\n")
    found = {f["severity"]: f["message"] for f in config_errors(certlint, conf, "1.25.1")}
    assert 'unknown directive "ssl"' in found["error"]
    assert 'the "listen ... http2" directive is deprecated' in found["warning"]
    assert config_errors(certlint, conf, "1.14.2") == []  # before 1.15.0: neither


def test_default_version_is_named_in_help(certlint):
    result = certlint("check", "--help")
    assert "--nginx-version" in result.stdout and "1.28.0" in result.stdout


def test_bad_version_is_a_usage_error(certlint, tmp_path):
    result = certlint("check", "--nginx-version", "1.2", write(tmp_path))
    assert result.exit_code == 2 and "is not an nginx version" in result.output


def test_stream_stapling_needs_1_27_2(tmp_path, certlint):
    """The stream module got OCSP stapling in 1.27.2 (http has had it since 1.3.7); this
    machine's nginx has no stream module to show it, so certlint's side only."""
    conf = tmp_path / "nginx.conf"
    conf.write_text("events {}\nstream {\n  server {\n    listen 127.0.0.1:9443 ssl;\n"
                    "    ssl_stapling on;\n  }\n}\nhttp {\n  server {\n"
                    "    ssl_stapling on;\n  }\n}\n")
    found = config_errors(certlint, str(conf), "1.26.3")
    assert [(f["line"], f["severity"]) for f in found] == [(5, "error")]
    assert 'unknown directive "ssl_stapling"' in found[0]["message"]
    assert config_errors(certlint, str(conf), "1.27.2") == []


PKI = os.path.join(REPO, "fixtures", "pki")


@pytest.mark.parametrize("verify,ca_directive,starts", [
    ("on", "ssl_trusted_certificate", False),
    ("optional", "ssl_trusted_certificate", False),
    ("optional_no_ca", "ssl_trusted_certificate", True),
    ("on", "ssl_client_certificate", True),
])
def test_client_verification_needs_the_ca_file_this_version_needs(tmp_path, certlint, verify,
                                                                  ca_directive, starts):
    version = local_version()
    body = (f" ssl_certificate {PKI}/fullchain.pem;\n ssl_certificate_key "
            f"{PKI}/demo-keys/leaf.key;\n ssl_verify_client {verify};\n"
            f" {ca_directive} {PKI}/root.pem;\n")
    conf = write(tmp_path, listen_extra=" ssl", body=body)
    result = servers.nginx_test(conf, state_dir=str(tmp_path))
    if vt(version) >= vt("1.27.2"):  # pragma: no cover - depends on the installed nginx
        starts = True
    assert result.ok == starts, result.output
    found = config_errors(certlint, conf, version)
    if starts:
        assert found == []
    else:
        assert "no ssl_client_certificate for ssl_verify_client" in result.output
        assert len(found) == 1 and found[0]["message"].startswith(
            "no ssl_client_certificate for ssl_verify_client")
        assert config_errors(certlint, conf, "1.27.2") == []  # trusted certificate suffices
