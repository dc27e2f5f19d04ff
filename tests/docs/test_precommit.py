"""The pre-commit hook (.pre-commit-hooks.yaml): checks the configured entry points whenever a
config or certificate file changes, and reports findings in files the entry point includes."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

from tests.support.paths import REPO
from tests.support.venvs import offline_env

PKI = os.path.join(REPO, "fixtures", "pki")
GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.test",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.test"}


def hook() -> dict:
    yaml = pytest.importorskip("yaml")
    with open(os.path.join(REPO, ".pre-commit-hooks.yaml"), encoding="utf-8") as fh:
        (entry,) = yaml.safe_load(fh)
    return entry


def test_hook_runs_certlint_check_on_entry_points():
    h = hook()
    assert h["id"] == "certlint"
    assert h["entry"] == "certlint check"
    assert h["language"] == "python"
    assert h["pass_filenames"] is False  # the entry points come from .certlint.toml or `args`
    assert "args" not in h
    assert h["require_serial"] is True
    files = re.compile(h["files"])
    for path in ("etc/nginx/nginx.conf", "etc/apache2/sites-enabled/default-ssl",
                 "etc/nginx/sites-available/example", "etc/nginx/conf.d/site",
                 "certs/fullchain.pem", "ssl/example.crt", "ssl/private/example.key"):
        assert files.search(path), path
    for path in ("README.md", "src/app.py", "docs/nginx.md"):
        assert not files.search(path), path


def readme_snippet() -> str:
    """The `.pre-commit-config.yaml` block of the README's pre-commit section."""
    with open(os.path.join(REPO, "README.md"), encoding="utf-8") as fh:
        text = fh.read()
    m = re.search(r"```yaml\n(# \.pre-commit-config\.yaml.*?)```", text, re.S)
    assert m, "the README's pre-commit snippet"
    return m.group(1)


def git(cwd, *args):
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                   env={**os.environ, **GIT_ENV})


def pre_commit() -> list[str]:
    try:
        import pre_commit  # noqa: F401
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("pre-commit is not installed; it is in certlint's [test] extras")
        pytest.skip("pre-commit not installed")
    if shutil.which("git") is None:
        pytest.skip("git not installed")
    return [sys.executable, "-m", "pre_commit"]


def test_real_pre_commit_reports_a_finding_in_an_included_file(tmp_path):
    """pre-commit installs certlint from a hook repository holding this checkout's manifest and
    package, and the hook reports the leaf-only certificate of an included site file."""
    cmd = pre_commit()
    hook_repo = tmp_path / "hook-repo"
    hook_repo.mkdir()
    for name in ("src", "rules"):
        shutil.copytree(os.path.join(REPO, name), hook_repo / name,
                        ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml"):
        shutil.copy(os.path.join(REPO, name), hook_repo / name)
    git(hook_repo, "init", "-q", "-b", "main")
    git(hook_repo, "add", "-A")
    git(hook_repo, "commit", "-qm", "hook")
    rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=hook_repo, capture_output=True,
                         text=True, check=True).stdout.strip()

    infra = tmp_path / "infra"
    (infra / "etc" / "nginx" / "sites-enabled").mkdir(parents=True)
    (infra / "certs").mkdir()
    shutil.copy(os.path.join(PKI, "leaf.pem"), infra / "certs" / "site.pem")
    shutil.copy(os.path.join(PKI, "root.pem"), infra / "certs" / "root.pem")
    (infra / "etc" / "nginx" / "nginx.conf").write_text(
        "events {}\nhttp {\n    include /etc/nginx/sites-enabled/*;\n}\n")
    (infra / "etc" / "nginx" / "sites-enabled" / "example").write_text(
        "server {\n    listen 443 ssl;\n    server_name example.test;\n"
        "    ssl_certificate /certs/site.pem;\n"
        f"    ssl_certificate_key {PKI}/demo-keys/leaf.key;\n}}\n")
    # the hook needs no args: the entry point, root and trust come from .certlint.toml
    # the README's snippet as written, with this test's hook repository for the GitHub URL
    snippet = readme_snippet().replace("https://github.com/certlint/certlint", str(hook_repo))
    assert "rev: main" in snippet
    (infra / ".pre-commit-config.yaml").write_text(snippet)
    (infra / ".certlint.toml").write_text(
        'paths = ["etc/nginx/nginx.conf"]\nroot = "."\nca-bundle = ["certs/root.pem"]\n')
    (infra / "NOTES.txt").write_text("not a config\n")
    git(infra, "init", "-q")
    git(infra, "add", "-A")
    # No network in tests: the hook's virtualenv sees the packages this test runs with
    # (certlint's dependencies and the hatchling build backend) and pip may not use an index.
    env = offline_env(PRE_COMMIT_HOME=str(tmp_path / "pre-commit-home"))

    # only an unrelated file changed: the hook does not run
    proc = subprocess.run([*cmd, "run", "--files", "NOTES.txt"], cwd=infra, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Skipped" in proc.stdout

    # the site file changed: the hook checks the entry point and reports the included file
    proc = subprocess.run([*cmd, "run", "--files", "etc/nginx/sites-enabled/example"],
                          cwd=infra, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert re.search(r"etc/nginx/sites-enabled/example:4:\d+: chain-incomplete", proc.stdout)

    # `pre-commit try-repo`, as the README suggests before adding the hook, runs the same hook
    proc = subprocess.run([*cmd, "try-repo", str(hook_repo), "certlint", "--rev", rev,
                           "--files", "etc/nginx/sites-enabled/example"], cwd=infra, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "chain-incomplete" in proc.stdout
