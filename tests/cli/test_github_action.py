"""The GitHub Action (issue 12, item 7): `action.yml` at the top level is a composite action with
inputs paths, root, options and format; its check step is run here as a runner would run it (the
step's own `run` line and `env`, with `${{ inputs.* }}` filled in), over a checked-out tree with a
leaf-only site."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from tests.support.paths import REPO
from tests.support.pki import StandardPKI, cert_pem, write


def action() -> dict:
    yaml = pytest.importorskip("yaml")
    with open(os.path.join(REPO, "action.yml"), encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def run_step(step: dict, inputs: dict[str, str], cwd, tmp_path) -> subprocess.CompletedProcess:
    """One composite step as the runner runs it: `${{ inputs.X }}` replaced by the input's
    value (or its default), the step's env exported, bash running its `run` line."""
    spec = action()["inputs"]
    values = {name: inputs.get(name, str(spec[name].get("default", ""))) for name in spec}
    # the runner's python3 has certlint from the install step; here, this interpreter with
    # PYTHONPATH on this checkout
    values["python"] = sys.executable

    def fill(text: str) -> str:
        return re.sub(r"\$\{\{\s*inputs\.([\w-]+)\s*\}\}", lambda m: values[m[1]], text)

    env = {**os.environ, "GITHUB_ACTION_PATH": REPO,
           "GITHUB_OUTPUT": str(tmp_path / "github-output"),
           "PYTHONPATH": os.path.join(REPO, "src")}
    env.update({k: fill(str(v)) for k, v in step.get("env", {}).items()})
    assert step["shell"] == "bash"
    return subprocess.run(["bash", "-e", "-c", fill(step["run"])], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def check_step() -> dict:
    (step,) = [s for s in action()["runs"]["steps"] if s.get("id") == "check"]
    return step


@pytest.fixture
def infra(tmp_path):
    pki = StandardPKI.make("example.test")
    etc = tmp_path / "infra" / "etc" / "nginx"
    write(etc / "certs" / "site.pem", cert_pem(pki.leaf.cert))  # leaf only
    write(etc / "certs" / "site.key", pki.leaf.key_pem, 0o600)
    write(tmp_path / "infra" / "pki" / "root.pem", pki.root.pem)
    write(etc / "sites" / "site.conf", b"server {\n    listen 443 ssl;\n"
          b"    server_name example.test;\n    ssl_certificate /etc/nginx/certs/site.pem;\n"
          b"    ssl_certificate_key /etc/nginx/certs/site.key;\n}\n")
    write(etc / "nginx.conf", b"events {}\nhttp {\n    include /etc/nginx/sites/*.conf;\n}\n")
    return tmp_path / "infra"


def test_action_is_composite_with_the_documented_inputs():
    spec = action()
    assert spec["runs"]["using"] == "composite"
    assert {"paths", "root", "options", "format", "upload-sarif"} <= set(spec["inputs"])
    assert spec["inputs"]["format"]["default"] == "github"
    install = spec["runs"]["steps"][0]
    assert 'pip install' in install["run"] and '"$GITHUB_ACTION_PATH"' in install["run"]
    upload = spec["runs"]["steps"][-1]
    assert upload["uses"].startswith("github/codeql-action/upload-sarif@")
    assert "inputs.upload-sarif == 'true'" in upload["if"]


def test_check_step_annotates_the_included_file_and_fails(infra, tmp_path):
    proc = run_step(check_step(), {"paths": "etc/nginx/nginx.conf", "root": ".",
                                   "options": "--ca-bundle pki/root.pem"}, infra, tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert re.search(r"^::error file=etc/nginx/sites/site\.conf,line=4,col=\d+,"
                     r"title=chain-incomplete::", proc.stdout, re.M), proc.stdout
    assert (tmp_path / "github-output").read_text() == "exit-code=1\n"


def test_check_step_writes_sarif_for_the_upload_step(infra, tmp_path):
    proc = run_step(check_step(), {"paths": "etc/nginx/nginx.conf", "root": ".",
                                   "options": "--ca-bundle pki/root.pem",
                                   "upload-sarif": "true", "sarif-file": "out.sarif"},
                    infra, tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    sarif = json.loads((infra / "out.sarif").read_text())
    assert sarif["version"] == "2.1.0"
    assert [r["ruleId"] for r in sarif["runs"][0]["results"]] == ["chain-incomplete"]


def test_check_step_takes_paths_from_the_config_file_and_passes_a_clean_tree(infra, tmp_path):
    pki = StandardPKI.make("example.test")
    write(infra / "etc/nginx/certs/site.pem", pki.fullchain())
    write(infra / "etc/nginx/certs/site.key", pki.leaf.key_pem, 0o600)
    write(infra / "pki/root.pem", pki.root.pem)
    write(infra / ".certlint.toml", b'paths = ["etc/nginx/nginx.conf"]\nroot = "."\n'
                                    b'ca-bundle = ["pki/root.pem"]\n')
    proc = run_step(check_step(), {}, infra, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "::error" not in proc.stdout
    assert (tmp_path / "github-output").read_text() == "exit-code=0\n"


def test_a_format_the_action_does_not_write_is_an_error_annotation(infra, tmp_path):
    proc = run_step(check_step(), {"format": "sarif", "paths": "etc/nginx/nginx.conf"}, infra,
                    tmp_path)
    assert proc.returncode == 2
    assert proc.stdout.startswith("::error title=certlint action::format 'sarif'")
