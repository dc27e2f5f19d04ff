"""The bundled example (examples/nginx) produces the findings the README documents, the real
nginx sees only one of them, and `examples/run` sets certlint up and runs it in one command."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

from tests.support import servers
from tests.support.paths import REPO
from tests.support.venvs import offline_env

EXAMPLE = os.path.join(REPO, "examples", "nginx")
CONF = os.path.join(EXAMPLE, "nginx.conf")
ROOT_CA = os.path.join(REPO, "fixtures", "pki", "root.pem")
README = os.path.join(REPO, "README.md")

# what the example is built to show: (file, line of the directive to change, rule)
EXPECTED = {
    ("examples/nginx/sites/shop.conf", 6, "chain-incomplete"),
    ("examples/nginx/sites/blog.conf", 5, "cert-expired"),
    ("examples/nginx/sites/api.conf", 5, "chain-wrong-order"),
    ("examples/nginx/sites/www.conf", 4, "hostname-mismatch"),
}
LINE = re.compile(r"^/home/you/certlint/(\S+?):(\d+):\d+: ([a-z0-9-]+) ", re.M)


def found(payload: dict) -> set[tuple[str, int, str]]:
    return {(os.path.relpath(f["path"], REPO), f["line"], f["rule"])
            for f in payload["findings"]}


def readme_example() -> str:
    with open(README, encoding="utf-8") as fh:
        text = fh.read()
    m = re.search(r"<!-- example:start -->\n(.*?)<!-- example:end -->", text, re.S)
    assert m, "README.md lacks the <!-- example:start --> / <!-- example:end --> block"
    return m.group(1)


def test_example_reports_the_four_documented_problems(certlint):
    code, payload = certlint.json(CONF, "--ca-bundle", ROOT_CA)
    assert code == 1
    assert found(payload) == EXPECTED
    assert payload["summary"] == {"error": 4, "warning": 0, "info": 0}
    fixable = {f["rule"] for f in payload["findings"] if f["fixable"]}
    assert fixable == {"chain-incomplete", "chain-wrong-order"}


def test_readme_shows_the_example_output(certlint):
    block = readme_example()
    shown = {(path, int(line), rule) for path, line, rule in LINE.findall(block)}
    stale = "README.md's example output is stale: run `python scripts/update_readme.py`"
    assert shown == EXPECTED, stale
    result = certlint("check", CONF, "--ca-bundle", ROOT_CA)
    summary = result.stdout.strip().splitlines()[-2:]
    assert "\n".join(summary) in block, stale
    assert "$ ./examples/run\n" in block and block.rstrip().endswith("```")
    # every line as certlint prints it today (columns and messages too)
    shown = result.stdout.replace(REPO + os.sep, "/home/you/certlint/").rstrip()
    assert shown in block, stale


def test_real_nginx_sees_only_the_wrong_order(tmp_path):
    """nginx -t refuses the tree only for api.conf; without it nginx accepts the other three."""
    nginx_state = tmp_path / "state"
    nginx_state.mkdir()
    result = servers.nginx_test(CONF, state_dir=str(nginx_state))
    assert not result.ok
    assert "key values mismatch" in result.output
    # the same tree without api.conf, with its relative certificate paths intact
    copy = tmp_path / "examples" / "nginx"
    shutil.copytree(EXAMPLE, copy)
    os.symlink(os.path.join(REPO, "fixtures"), tmp_path / "fixtures")
    os.remove(copy / "sites" / "api.conf")
    result = servers.nginx_test(str(copy / "nginx.conf"), state_dir=str(nginx_state))
    assert result.ok, result.output


def test_examples_run_sets_up_a_venv_and_checks_the_example(tmp_path):
    """`./examples/run` from a checkout: a fresh venv, certlint installed into it, the check.

    The venv sees this interpreter's packages so the dependencies are not downloaded again.
    """
    venv = tmp_path / "venv"
    env = offline_env(CERTLINT_VENV=str(venv), PYTHON=sys.executable)
    proc = subprocess.run([os.path.join(REPO, "examples", "run"), "--format", "json"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr
    assert "certlint example: installing certlint from" in proc.stderr
    assert (venv / "bin" / "certlint").exists()
    assert found(json.loads(proc.stdout)) == EXPECTED
