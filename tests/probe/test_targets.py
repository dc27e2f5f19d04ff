"""The TARGET forms of `certlint probe` (NAME, NAME:PORT, https://NAME[:PORT][/path],
[IPv6]:PORT, --connect HOST[:PORT], --targets-file with comments and '-'): parsed as documented,
and anything else a usage error (exit 2) naming the target, never a traceback."""

from __future__ import annotations

import pytest

from certlint.probe.targets import TargetError, parse_connect, parse_target, read_targets_file


@pytest.mark.parametrize("text,name,port", [
    ("example.com", "example.com", 443),
    ("Example.COM.", "example.com", 443),
    ("example.com:8443", "example.com", 8443),
    ("https://example.com", "example.com", 443),
    ("https://example.com:8443/login?next=/#top", "example.com", 8443),
    ("HTTPS://user:secret@example.com/path", "example.com", 443),
    ("[2001:db8::1]:8443", "2001:db8::1", 8443),
    ("[::1]", "::1", 443),
    ("2001:db8::1", "2001:db8::1", 443),
    ("127.0.0.1:4443", "127.0.0.1", 4443),
])
def test_target_forms(text, name, port):
    target = parse_target(text)
    assert (target.name, target.port, target.given) == (name, port, text)


@pytest.mark.parametrize("text", ["", "http://example.com", "example.com:0",
                                  "example.com:65536", "example.com:https", "[2001:db8::1",
                                  "[example.com]:443", "exa mple.com", "bad_$name.com",
                                  "ftp://example.com", "a\nb"])
def test_bad_targets_are_usage_errors(text):
    with pytest.raises(TargetError):
        parse_target(text)


def test_connect_forms():
    assert parse_connect("127.0.0.1") == ("127.0.0.1", None)
    assert parse_connect("[::1]:8443") == ("::1", 8443)
    assert parse_connect("lb.internal:443") == ("lb.internal", 443)


def test_targets_file_comments_and_blank_lines():
    lines = ["# production", "", "example.com   # the shop", "  api.example.com:8443", "#x"]
    assert read_targets_file(lines) == ["example.com", "api.example.com:8443"]


def test_cli_usage_errors(certlint, tmp_path):
    result = certlint("probe", "http://example.com")
    assert result.exit_code == 2 and "only https://" in result.output
    result = certlint("probe")
    assert result.exit_code == 2 and "no target" in result.output
    result = certlint("probe", "a.test", "b.test", "--connect", "127.0.0.1")
    assert result.exit_code == 2 and "--connect" in result.output
    result = certlint("probe", "--targets-file", str(tmp_path / "missing.txt"))
    assert result.exit_code == 2 and "does not exist" in result.output
    assert "Traceback" not in result.output


def test_targets_from_standard_input_unreachable_port(certlint):
    """`--targets-file -`: one target a line from standard input; a closed port is an
    endpoint-unreachable finding (exit 1), not an abort."""
    from certlint.cli import cli
    from tests.support.servers import free_port

    port = free_port()
    result = certlint.runner.invoke(cli, ["probe", "--offline", "--targets-file", "-",
                                          "--format", "json"],
                                    input=f"# list\n127.0.0.1:{port}\n")
    assert result.exit_code == 1, result.output
    assert '"endpoint-unreachable"' in result.output
    assert f'"site": "127.0.0.1:{port}"' in result.output


def test_silent_server_times_out_as_endpoint_unreachable(certlint):
    """A port that accepts TCP and never answers the client hello: `--timeout` bounds connect +
    handshake, and the target is endpoint-unreachable (exit 1), not a hang."""
    import socket
    import time

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        port = listener.getsockname()[1]
        started = time.monotonic()
        result = certlint("probe", "--offline", "--timeout", "0.5", "--format", "json",
                          f"silent.test:{port}", "--connect", "127.0.0.1")
        elapsed = time.monotonic() - started
    assert result.exit_code == 1, result.output
    assert '"endpoint-unreachable"' in result.output and "within the timeout" in result.output
    assert f'"site": "silent.test:{port}"' in result.output
    assert elapsed < 5


def test_ignore_and_fail_on_as_for_check(certlint, tmp_path, pki):
    from tests.support.pki import cert_pem, write

    root = write(tmp_path / "root.pem", pki.root.pem)
    leaf_only = write(tmp_path / "leaf.pem", pki.leaf.pem)
    result = certlint("probe", "--pem-file", leaf_only, "--ca-bundle", root,
                      "--ignore", "chain-incomplete", "example.test")
    assert result.exit_code == 0 and "All good" in result.output
    upper = pki.root.intermediate("Upper")
    lower = upper.intermediate("Lower")
    leaf = lower.leaf("example.test")
    swapped = write(tmp_path / "swapped.pem", cert_pem(leaf.cert, upper.cert, lower.cert))
    assert certlint("probe", "--pem-file", swapped, "--ca-bundle", root,
                    "example.test").exit_code == 0  # a warning
    assert certlint("probe", "--pem-file", swapped, "--ca-bundle", root, "--fail-on",
                    "warning", "example.test").exit_code == 1
