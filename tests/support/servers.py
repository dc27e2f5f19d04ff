"""Run the real programs: `nginx -t`, a real nginx on 127.0.0.1, `openssl s_client`/`verify`.

Tests use these to prove what certlint claims. In CI (env CI set) a missing binary is a failure,
not a skip: `require()` decides.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass

import pytest

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"


def require(binary: str) -> str:
    """The binary's path; skip locally when absent, fail in CI where it must be installed."""
    path = shutil.which(binary) or (f"/usr/sbin/{binary}" if os.path.exists(
        f"/usr/sbin/{binary}") else None)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{binary} is not installed; .ci/run must install it")
        pytest.skip(f"{binary} not installed")
    return path


# Below Linux's ephemeral range (32768-60999): an outgoing connection cannot take a port from
# here between free_port() and the server's bind, as it can take one the kernel hands out.
PORT_RANGE = (20000, 32000)
_handed_out: set[int] = set()


def free_port() -> int:
    """A loopback port that nothing uses over TCP or UDP (a test DNS server binds both), never
    the same twice in one test run."""
    for _ in range(500):
        port = random.randrange(*PORT_RANGE)
        if port in _handed_out or not _bindable(port):
            continue
        _handed_out.add(port)
        return port
    with socket.socket() as s:  # the range is crowded: the kernel's choice
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _bindable(port: int) -> bool:
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        with socket.socket(socket.AF_INET, kind) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def wait_port(port: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def read_log(path: str) -> str:
    """A server's log file as text ('' while it does not exist)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read()
    except OSError:
        return ""


def terminate(proc: subprocess.Popen | None, group: bool = False, timeout: float = 10) -> None:
    """Stop a test server: SIGTERM (to its process group when `group`), SIGKILL after
    `timeout` seconds, then reap it."""
    if proc is None or proc.poll() is not None:
        return
    if group:
        os.killpg(proc.pid, signal.SIGTERM)
    else:
        proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        if group:
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
        proc.wait()


@dataclass
class Result:
    ok: bool
    output: str


def nginx_test(conf: str, prefix: str | None = None, state_dir: str | None = None) -> Result:
    """`nginx -t` on a config file: does the real nginx accept it (certificates loaded)?

    Logs and the pid file go to `state_dir` (default: the prefix), so fixture trees stay clean.
    """
    nginx = require("nginx")
    conf = os.path.abspath(conf)
    prefix = prefix or os.path.dirname(conf)
    state = state_dir or prefix
    errlog = os.path.join(state, "nginx-test-error.log")
    proc = subprocess.run(
        [nginx, "-t", "-q", "-p", prefix, "-c", conf, "-e", errlog,
         "-g", f"pid {state}/nginx-test.pid;"],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
        start_new_session=True)  # no controlling tty: an encrypted key fails, never prompts
    return Result(proc.returncode == 0, proc.stdout + proc.stderr)


class NginxServer:
    """A real nginx serving `conf` in the foreground; stop() or use as a context manager."""

    def __init__(self, conf: str, port: int | None = None, prefix: str | None = None):
        self.conf = os.path.abspath(conf)
        self.prefix = prefix or os.path.dirname(self.conf)
        self.port = port
        self.proc: subprocess.Popen | None = None
        self.error_log = os.path.join(self.prefix, ".nginx-error.log")

    def start(self, timeout: float = 10.0) -> NginxServer:
        nginx = require("nginx")
        self.proc = subprocess.Popen(
            [nginx, "-p", self.prefix, "-c", self.conf, "-e", self.error_log,
             "-g", f"daemon off; pid {self.prefix}/.nginx.pid;"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)
        if self.port and not wait_port(self.port, timeout):
            out = self.stop()
            raise RuntimeError(f"nginx did not start on {self.port}: {out}")
        return self

    def reload(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGHUP)
        time.sleep(1.0)

    def log(self) -> str:
        return read_log(self.error_log)

    def stop(self) -> str:
        if self.proc is None:
            return ""
        terminate(self.proc, group=True)
        out = self.proc.stdout.read().decode(errors="replace") if self.proc.stdout else ""
        self.proc = None
        return out + self.log()

    def __enter__(self) -> NginxServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def s_client(port: int, servername: str, cafile: str, extra: list[str] | None = None,
             timeout: float = 20.0) -> Result:
    """`openssl s_client -verify_return_error` against 127.0.0.1:port, trusting only `cafile`."""
    openssl = require("openssl")
    cmd = [openssl, "s_client", "-connect", f"127.0.0.1:{port}", "-servername", servername,
           "-CAfile", cafile, "-verify_return_error", "-verify_hostname", servername]
    cmd += extra or []
    proc = subprocess.run(cmd, input="", capture_output=True, text=True, timeout=timeout)
    out = proc.stdout + proc.stderr
    return Result(proc.returncode == 0 and "Verify return code: 0 (ok)" in out, out)


def openssl_verify(cafile: str, cert: str, untrusted: str | None = None) -> Result:
    openssl = require("openssl")
    cmd = [openssl, "verify", "-CAfile", cafile]
    if untrusted:
        cmd += ["-untrusted", untrusted]
    cmd.append(cert)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    return Result(proc.returncode == 0, proc.stdout + proc.stderr)


def nginx_conf(servers: str, prefix: str, http_extra: str = "") -> str:
    """A complete, runnable nginx.conf around some `server { }` blocks (temp paths in prefix)."""
    return f"""worker_processes 1;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/tmp_body;
    proxy_temp_path {prefix}/tmp_proxy;
    fastcgi_temp_path {prefix}/tmp_fastcgi;
    uwsgi_temp_path {prefix}/tmp_uwsgi;
    scgi_temp_path {prefix}/tmp_scgi;
{http_extra}
{servers}
}}
"""
