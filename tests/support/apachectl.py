"""A real Apache httpd run the way an operator runs it on Debian: a configuration folder with its
own `envvars`, the server started in the foreground (`apache2 -D FOREGROUND`, as systemd and
containers start it) and then driven by the operator's own commands, `apachectl configtest`
and `apachectl graceful`, through `APACHE_CONFDIR`.

Everything the server writes (pid file, runtime dir, locks, logs) lives in the state folder,
and it listens only on 127.0.0.1 on a free port, so it never meets the packaged apache2 or
another test. Sites go in `sites-enabled/`, as on Debian; a test writes them with `site()`.
"""

from __future__ import annotations

import os
import re
import subprocess
import time

from tests.support.apache import MODULES, _open, apache_binary
from tests.support.servers import free_port, read_log, require, terminate

RESUMED = "AH00489"  # "... configured -- resuming normal operations": a (re)start finished


class ApachectlServer:
    """Apache serving `sites-enabled/*.conf` of its own folder on 127.0.0.1:`port`."""

    def __init__(self, state_dir: str, port: int | None = None):
        self.state = os.path.abspath(state_dir)
        self.port = port or free_port()
        self.confdir = os.path.join(self.state, "apache2")
        self.error_log = os.path.join(self.state, "log", "error.log")
        self.proc: subprocess.Popen | None = None
        for sub in ("apache2/sites-enabled", "run/socks", "lock", "log"):
            os.makedirs(os.path.join(self.state, sub), exist_ok=True)
        self.env_vars = {
            "APACHE_RUN_DIR": os.path.join(self.state, "run"),
            "APACHE_PID_FILE": os.path.join(self.state, "run", "apache2.pid"),
            "APACHE_LOCK_DIR": os.path.join(self.state, "lock"),
            "APACHE_LOG_DIR": os.path.join(self.state, "log"),
        }
        with open(os.path.join(self.confdir, "envvars"), "w", encoding="utf-8") as fh:
            fh.writelines(f"export {k}={v}\n" for k, v in self.env_vars.items())
        # as root, the children switch to an unprivileged user (as Debian's apache2.conf does);
        # keys are read by the parent before that, as on a real server
        user = "User nobody\nGroup nogroup\n" if os.geteuid() == 0 else ""
        with open(os.path.join(self.confdir, "apache2.conf"), "w", encoding="utf-8") as fh:
            fh.write(
                f"{user}PidFile ${{APACHE_PID_FILE}}\nDefaultRuntimeDir ${{APACHE_RUN_DIR}}\n"
                f"Mutex file:${{APACHE_LOCK_DIR}} default\n"
                f"ErrorLog ${{APACHE_LOG_DIR}}/error.log\nServerName localhost\n"
                f"LoadModule mpm_event_module {MODULES}/mod_mpm_event.so\n"
                f"LoadModule authz_core_module {MODULES}/mod_authz_core.so\n"
                f"LoadModule ssl_module {MODULES}/mod_ssl.so\n"
                f"Listen 127.0.0.1:{self.port} https\n"
                f"IncludeOptional sites-enabled/*.conf\n")

    def site(self, name: str, text: str) -> str:
        path = os.path.join(self.confdir, "sites-enabled", name)
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text)
        return path

    def environ(self) -> dict[str, str]:
        """What `apachectl` needs to find this server: its folder, and /usr/sbin on PATH."""
        sbin = os.path.dirname(require("apachectl"))
        return {**os.environ, "APACHE_CONFDIR": self.confdir,
                "PATH": f"{sbin}:{os.environ.get('PATH', '/usr/bin:/bin')}"}

    def start(self, timeout: float = 15.0) -> ApachectlServer:
        self.proc = subprocess.Popen(
            [apache_binary(), "-d", self.confdir, "-D", "FOREGROUND"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
            start_new_session=True, env={**os.environ, **self.env_vars})
        if not self._wait(lambda: _open(self.port), timeout):
            log = self.stop()
            raise RuntimeError(f"apache did not start on {self.port}:\n{log}")
        return self

    def run(self, commands: str, timeout: float = 60.0) -> subprocess.CompletedProcess:
        """Shell commands as the operator types them (`apachectl configtest && ...`). After a
        graceful restart, waits until the new generation serves."""
        restarts = self.log().count(RESUMED)
        proc = subprocess.run(["sh", "-c", commands], capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL, env=self.environ())
        if proc.returncode == 0 and re.search(r"\b(graceful|restart)\b", commands):
            if not self._wait(lambda: self.log().count(RESUMED) > restarts
                              and _open(self.port), 15.0):
                raise RuntimeError(f"apache did not come back after {commands!r}:\n"
                                   + self.log())
        return proc

    def log(self) -> str:
        return read_log(self.error_log)

    def stop(self) -> str:
        if self.proc is not None:
            terminate(self.proc, group=True)
            self.proc = None
        return self.log()

    def _wait(self, ready, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                return False
            if ready():
                return True
            time.sleep(0.05)
        return False

    def __enter__(self) -> ApachectlServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
