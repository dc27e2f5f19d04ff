"""The step of the GitHub Action (action.yml) that runs certlint: inputs arrive as INPUT_*
variables, findings go to the log as annotations (or text/json), an optional SARIF file is
written for the upload step, and the exit code is passed on (and set as the `exit-code` output).

Run locally as the action runs it:
    INPUT_PATHS=etc/nginx/nginx.conf INPUT_ROOT=. python scripts/github_action.py
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys

FORMATS = ("github", "text", "json")


def command(fmt: str) -> list[str]:
    argv = [sys.executable, "-m", "certlint", "check", "--format", fmt]
    root = os.environ.get("INPUT_ROOT", "").strip()
    if root:
        argv += ["--root", root]
    argv += shlex.split(os.environ.get("INPUT_OPTIONS", ""))
    argv += os.environ.get("INPUT_PATHS", "").split()
    return argv


def set_output(name: str, value: str) -> None:
    target = os.environ.get("GITHUB_OUTPUT")
    if target:
        with open(target, "a", encoding="utf-8") as fh:
            fh.write(f"{name}={value}\n")


def main() -> int:
    fmt = os.environ.get("INPUT_FORMAT", "").strip() or "github"
    if fmt not in FORMATS:
        print(f"::error title=certlint action::format {fmt!r} is not one of "
              f"{', '.join(FORMATS)} (SARIF: set upload-sarif: true)", flush=True)
        set_output("exit-code", "2")
        return 2
    try:
        options = command(fmt)
    except ValueError as exc:  # an unclosed quote in `options`
        print(f"::error title=certlint action::options: {exc}", flush=True)
        set_output("exit-code", "2")
        return 2
    code = subprocess.run(options).returncode
    if os.environ.get("INPUT_UPLOAD_SARIF", "").strip().lower() == "true":
        sarif = os.environ.get("INPUT_SARIF_FILE", "").strip() or "certlint.sarif"
        with open(sarif, "wb") as fh:
            again = subprocess.run(command("sarif"), stdout=fh).returncode
        if again == 2:
            code = 2
    set_output("exit-code", str(code))
    return code


if __name__ == "__main__":
    sys.exit(main())
