"""The wheel: it carries the rule documents (certlint/_rules) and the templates, and an
installed copy lists and explains every rule without the source checkout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile

import pytest

from tests.support.paths import REPO
from tests.support.venvs import offline_env

# No network in tests: pip builds with the installed hatchling and never asks an index.
OFFLINE_PIP = offline_env()
RULE_DOCS = sorted(f for f in os.listdir(os.path.join(REPO, "rules")) if f.endswith(".md"))
JA_DOCS = sorted(f for f in os.listdir(os.path.join(REPO, "rules", "ja")) if f.endswith(".md"))


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), REPO],
        capture_output=True, text=True, timeout=300, env=OFFLINE_PIP)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (name,) = [f for f in os.listdir(out) if f.endswith(".whl")]
    return str(out / name)


def test_wheel_carries_rule_docs_templates_and_the_command(wheel):
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        scripts = zf.read(entry_points).decode()
    missing = [f for f in RULE_DOCS if f"certlint/_rules/{f}" not in names]
    assert not missing, f"rule docs missing from the wheel: {missing}"
    assert JA_DOCS
    missing_ja = [f for f in JA_DOCS if f"certlint/_rules/ja/{f}" not in names]
    assert not missing_ja, f"Japanese rule docs missing from the wheel: {missing_ja}"
    assert "certlint/templates/remediation.md.j2" in names
    assert "certlint/cli.py" in names
    assert "certlint = certlint.cli:main" in scripts
    assert not any(n.startswith(("tests/", "fixtures/")) for n in names)


def test_installed_wheel_lists_and_explains_every_rule(wheel, tmp_path):
    """Installed into a fresh venv (dependencies from this interpreter's packages), run outside
    the checkout: `certlint rules` lists every document, `certlint explain` prints one."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip",
                    str(venv)], check=True, timeout=120)
    python = str(venv / "bin" / "python")
    env = offline_env()
    proc = subprocess.run([python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                           "--ignore-installed", wheel],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    certlint = str(venv / "bin" / "certlint")

    where = subprocess.run([python, "-c", "import certlint.docs as d; print(d._docs_dir())"],
                           cwd=tmp_path, env=env, capture_output=True, text=True, check=True)
    assert where.stdout.strip().startswith(str(venv)), where.stdout
    assert where.stdout.strip().endswith("_rules")

    listed = subprocess.run([certlint, "rules", "--format", "json"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    assert sorted(r["name"] + ".md" for r in json.loads(listed.stdout)) == RULE_DOCS

    explained = subprocess.run([certlint, "explain", "chain-incomplete"], cwd=tmp_path, env=env,
                               capture_output=True, text=True, timeout=60)
    assert explained.returncode == 0, explained.stderr
    assert "## How to fix on nginx" in explained.stdout

    japanese = subprocess.run([certlint, "explain", "chain-incomplete", "--lang", "ja"],
                              cwd=tmp_path, env=env, capture_output=True, timeout=60)
    assert japanese.returncode == 0, japanese.stderr
    out = japanese.stdout.decode("utf-8")
    assert "## nginx での対処" in out and "中間CA証明書" in out and "What it checks" not in out
    count = "import certlint.docs as d; print(len(d.load_docs('ja')))"
    loaded = subprocess.run([python, "-c", count],
                            cwd=tmp_path, env=env, capture_output=True, text=True, check=True)
    assert int(loaded.stdout) == len(JA_DOCS)
