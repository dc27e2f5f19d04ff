"""Run the real Apache httpd: does it accept a config (and really start), and serve it on
127.0.0.1 for `openssl s_client`.

`apache2 -t` does not load certificates and keys (mod_ssl checks them at startup, in
post-config), so "does Apache accept this config" is answered by starting it: `apache2 -X` on
free 127.0.0.1 ports, with PidFile, ErrorLog and DefaultRuntimeDir placed in a state folder.
The entry file is copied into the state folder with its `Listen` ports (and the matching
`<VirtualHost *:PORT>` ports) mapped to free ones; ServerRoot stays the config's own folder, so
relative paths (`../../pki/leaf.pem`) resolve as in the fixture. Debian's `envvars` beside the
entry file is honoured (as apache2ctl does), with its run, lock and log dirs moved to the state
folder.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time

from tests.support.servers import Result, free_port, read_log, require, terminate

LISTEN = re.compile(r"^(\s*Listen\s+)(?:(\S+):)?(\d+)(.*)$", re.I | re.M)
VHOST = re.compile(r"^(\s*<VirtualHost\s+)([^>]*)>", re.I | re.M)
MODULES = "/usr/lib/apache2/modules"
WILDCARDS = ("*", "0.0.0.0", "[::]")
TOKEN = re.compile(r"\S+")
# mapped port -> its Listen named one address (`Listen 127.0.0.1:443`), not a wildcard one
_EXPLICIT: dict[int, bool] = {}


def apache_binary() -> str:
    """apache2 (Debian) or httpd (elsewhere); skip locally / fail in CI when neither exists."""
    if shutil.which("apache2") or os.path.exists("/usr/sbin/apache2"):
        return require("apache2")
    if shutil.which("httpd") or os.path.exists("/usr/sbin/httpd"):
        return require("httpd")
    return require("apache2")


def remap_ports(text: str, mapping: dict[int, int]) -> str:
    """Listen lines on 127.0.0.1 with mapped ports; `<VirtualHost ...:PORT>` mapped alike.

    What httpd decides from the addresses is kept: a Listen on port 443 without a protocol
    gets its default one (`https`) spelled out, and a vhost `*:443` / `_default_:443` whose
    Listen was a wildcard one (`Listen 443`) becomes `127.0.0.1:PORT`, so that it still equals
    its Listen's address (httpd gives a vhost the protocol of the Listen with exactly its
    address); against `Listen 127.0.0.1:443` a `*:443` stays `*`, as unequal as before."""

    def listen(m: re.Match) -> str:
        port = int(m.group(3))
        mapping.setdefault(port, free_port())
        rest = m.group(4)
        words = rest.split()
        if port == 443 and not [w for w in words if not w.lower().startswith("options=")]:
            rest = " https" + rest
        _EXPLICIT[mapping[port]] = (m.group(2) or "*") not in WILDCARDS
        return f"{m.group(1)}127.0.0.1:{mapping[port]}{rest}"

    text = LISTEN.sub(listen, text)

    def address(addr: str) -> str:
        host, sep, port = addr.rpartition(":")
        if not sep or not port.isdigit() or int(port) not in mapping:
            return addr
        new = mapping[int(port)]
        if host.lower() in ("*", "_default_") and not _EXPLICIT.get(new, False):
            host = "127.0.0.1"
        return f"{host}:{new}"

    def vhost(m: re.Match) -> str:
        # token by token, keeping the whitespace (a `<VirtualHost \` continued line stays so)
        addresses = TOKEN.sub(lambda t: address(t.group(0)), m.group(2))
        return f"{m.group(1)}{addresses}>"

    return VHOST.sub(vhost, text)


def apache_env(entry: str, state: str) -> dict[str, str]:
    env = dict(os.environ)
    envvars = os.path.join(os.path.dirname(entry), "envvars")
    if os.path.isfile(envvars):
        from certlint.parsers.apache import read_envvars

        env.update(read_envvars(envvars))
        env.update(APACHE_RUN_DIR=state, APACHE_LOCK_DIR=state, APACHE_LOG_DIR=state,
                   APACHE_PID_FILE=os.path.join(state, "apache2.pid"))
    return env


class ApacheServer:
    """A real Apache (`-X`, one process) serving `entry` on free 127.0.0.1 ports.

    `ports` maps each port the config listens on to the free port really used; pass it in when
    Listen lines live in included files that the caller has already rewritten with
    `remap_ports` (a copied Debian tree's ports.conf).
    """

    def __init__(self, entry: str, state_dir: str, server_root: str | None = None,
                 ports: dict[int, int] | None = None, defines: tuple[str, ...] = ()):
        self.entry = os.path.abspath(entry)
        self.defines = [arg for name in defines for arg in ("-D", name)]  # apache2 -D NAME
        self.state = os.path.abspath(state_dir)
        self.server_root = server_root or os.path.dirname(self.entry)
        self.ports: dict[int, int] = ports if ports is not None else {}
        self.proc: subprocess.Popen | None = None
        self.error_log = os.path.join(self.state, "apache-error.log")
        os.makedirs(self.state, exist_ok=True)
        with open(self.entry, encoding="utf-8", errors="replace") as fh:
            text = fh.read()
        self.conf = os.path.join(self.state, "certlint-" + os.path.basename(self.entry))
        with open(self.conf, "w", encoding="utf-8") as fh:
            fh.write(remap_ports(text, self.ports))

    def args(self, *extra: str) -> list[str]:
        s = self.state
        return [apache_binary(), *extra, *self.defines, "-d", self.server_root, "-f", self.conf,
                "-c", f"PidFile {s}/apache2.pid", "-c", f"ErrorLog {self.error_log}",
                "-c", f"DefaultRuntimeDir {s}"]

    def syntax(self) -> Result:
        proc = subprocess.run(self.args("-t"), capture_output=True, text=True, timeout=60,
                              stdin=subprocess.DEVNULL, env=apache_env(self.entry, self.state))
        return Result(proc.returncode == 0, proc.stdout + proc.stderr)

    def start(self, timeout: float = 15.0) -> Result:
        """Start in the foreground; ok once every mapped port answers a request."""
        # output to a file, not a pipe: a big config's warnings would fill a pipe nobody reads
        # yet, and httpd would block on it before it ever opens its ports
        self.output_file = open(os.path.join(self.state, "apache-stdout.log"), "w+b")
        self.proc = subprocess.Popen(
            self.args("-X"), stdout=self.output_file, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
            env=apache_env(self.entry, self.state))
        deadline = time.monotonic() + timeout
        pending = set(self.ports.values())
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return Result(False, self.stop())
            for port in list(pending):
                if _open(port):
                    pending.discard(port)
            if not pending:
                return Result(True, self.log())
            time.sleep(0.05)
        return Result(False, "apache did not open its ports in time\n" + self.stop())

    def port(self, configured: int = 443) -> int:
        return self.ports[configured]

    def log(self) -> str:
        return read_log(self.error_log)

    def stop(self) -> str:
        if self.proc is None:
            return self.log()
        terminate(self.proc, group=True)
        self.output_file.seek(0)
        out = self.output_file.read().decode(errors="replace")
        self.output_file.close()
        self.proc = None
        return out + self.log()

    def __enter__(self) -> ApacheServer:
        result = self.start()
        if not result.ok:
            raise RuntimeError(f"apache did not start: {result.output}")
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _open(port: int) -> bool:
    """Apache answers on the port. A bare connect is not enough: httpd binds its listeners
    before mod_ssl loads certificates (post-config), so a config that is about to fail with
    AH02565 already accepts TCP connections into the backlog. Only a served request (an HTTP
    response, or mod_ssl's 400 for plain HTTP on a TLS port) proves the server is up."""
    import socket

    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.settimeout(2.0)
            sock.sendall(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
            return bool(sock.recv(1))
    except OSError:
        return False


def apache_test(entry: str, state_dir: str, server_root: str | None = None) -> Result:
    """Does the real Apache accept this config and start (certificates and keys loaded)?"""
    server = ApacheServer(entry, state_dir, server_root)
    syntax = server.syntax()
    if not syntax.ok:
        return syntax
    started = server.start()
    output = started.output if not started.ok else server.stop()
    server.stop()
    return Result(started.ok, syntax.output + output)


def modules(*names: str) -> str:
    """LoadModule lines for a standalone test config (mpm_event, authz_core, ssl, ... )."""
    lines = []
    for name in names:
        ident = "mpm_event_module" if name == "mpm_event" else f"{name}_module"
        lines.append(f"LoadModule {ident} {MODULES}/mod_{name}.so")
    return "\n".join(lines) + "\n"


def debian_copy(tmp_path, ssl: bool):
    """/etc/apache2 as apt installs it, copied to tmp_path/apache2 with default-ssl enabled
    (a2ensite) and mod_ssl enabled or not (a2enmod); the copy's folder. Missing /etc/apache2
    fails the test in CI (.ci/run installs apache2) and skips it elsewhere."""
    import pytest

    if not os.path.exists("/etc/apache2/sites-available/default-ssl.conf"):
        if os.environ.get("CI"):
            pytest.fail("/etc/apache2 missing: .ci/run must install apache2")
        pytest.skip("no Debian /etc/apache2")
    tree = tmp_path / "apache2"
    shutil.copytree("/etc/apache2", tree, symlinks=True)
    site = tree / "sites-enabled" / "default-ssl.conf"
    if not site.exists():
        os.symlink("../sites-available/default-ssl.conf", site)
    for name in ("ssl.load", "ssl.conf", "socache_shmcb.load"):
        link = tree / "mods-enabled" / name
        if link.is_symlink() and not ssl:
            link.unlink()
        elif ssl and not link.exists():
            os.symlink(f"../mods-available/{name}", link)
    return tree
