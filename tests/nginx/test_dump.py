"""`nginx -T` output as an entry point: findings point at the original files and lines.

The dump comes from the real nginx, so its `# configuration file PATH:` markers are what users
paste from a server they cannot otherwise reach.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.support import servers
from tests.support.paths import REPO

FIXTURES = os.path.join(REPO, "fixtures")
ROOT = os.path.join(FIXTURES, "pki", "root.pem")


def nginx_dump(case_dir: str, state_dir: str) -> str:
    nginx = servers.require("nginx")
    proc = subprocess.run(
        [nginx, "-T", "-p", case_dir, "-c", os.path.join(case_dir, "nginx.conf"),
         "-e", os.path.join(state_dir, "error.log"), "-g", f"pid {state_dir}/nginx.pid;"],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    assert "# configuration file " in proc.stdout
    return proc.stdout


def findings(certlint, path: str) -> list[tuple]:
    _code, payload = certlint.json(path, "--server", "nginx", "--ca-bundle", ROOT)
    return sorted((f["rule"], f["path"], f["line"], f["site"]) for f in payload["findings"])


@pytest.mark.parametrize("case", ["shared-snippet", "inherit-http", "cert-path-dynamic",
                                  "suppressed", "complete"])
def test_dump_gives_the_same_findings_as_the_tree(case, tmp_path, certlint):
    case_dir = os.path.join(FIXTURES, "nginx", case)
    dump = tmp_path / "nginx-T.txt"
    dump.write_text(nginx_dump(case_dir, str(tmp_path)))
    assert findings(certlint, str(dump)) == findings(certlint, os.path.join(case_dir,
                                                                           "nginx.conf"))


def test_dump_snippet_findings_point_into_the_snippet(tmp_path, certlint):
    case_dir = os.path.join(FIXTURES, "nginx", "shared-snippet")
    dump = tmp_path / "dump.txt"
    dump.write_text(nginx_dump(case_dir, str(tmp_path)))
    got = findings(certlint, str(dump))
    snippet = os.path.join(case_dir, "snippets", "tls.conf")
    assert [(rule, path, line) for rule, path, line, _site in got] == \
        [("chain-incomplete", snippet, 1)] * 3
    assert not any(p.startswith(str(tmp_path)) for _r, p, _l, _s in got)


def test_dump_piped_on_stdin(tmp_path):
    """`ssh web1 nginx -T | certlint check -`: the dump read from standard input."""
    import sys

    case_dir = os.path.join(FIXTURES, "nginx", "shared-snippet")
    dump = nginx_dump(case_dir, str(tmp_path))
    env = dict(os.environ, PYTHONPATH=os.path.join(os.path.dirname(FIXTURES), "src"))
    proc = subprocess.run([sys.executable, "-m", "certlint", "check", "--ca-bundle", ROOT, "-"],
                          input=dump, capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    snippet = os.path.join(case_dir, "snippets", "tls.conf")
    assert proc.stdout.count(f"{snippet}:1:1: chain-incomplete") == 3, proc.stdout
    empty = subprocess.run([sys.executable, "-m", "certlint", "check", "-"], input="",
                           capture_output=True, text=True, timeout=60, env=env)
    assert empty.returncode == 2 and "nothing on standard input" in empty.stderr


def test_nginx_messages_mixed_into_the_dump_are_ignored(tmp_path, certlint):
    """`nginx -T 2>&1`: nginx's own lines ('syntax is ok', '[warn] ...') can land inside the
    dump; they are not config, and the lines around them keep their numbers."""
    case_dir = os.path.join(FIXTURES, "nginx", "leaf-only")
    dump = nginx_dump(case_dir, str(tmp_path)).split("\n")
    at = dump.index("http {") + 1
    mixed = dump[:at] + ['nginx: [warn] "ssl_stapling" ignored, issuer certificate not found',
                         f"nginx: configuration file {case_dir}/nginx.conf test is successful",
                         ] + dump[at:]
    (tmp_path / "mixed.txt").write_text("\n".join(mixed))
    assert findings(certlint, str(tmp_path / "mixed.txt")) == findings(
        certlint, os.path.join(case_dir, "nginx.conf"))
