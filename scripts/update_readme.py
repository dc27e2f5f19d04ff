#!/usr/bin/env python3
"""Regenerate the generated parts of README.md from this checkout.

- the rule table between `<!-- rules:start -->` and `<!-- rules:end -->`
  (`certlint rules --format markdown`, i.e. the documents in rules/);
- the bundled example's output between `<!-- example:start -->` and `<!-- example:end -->`
  (what `./examples/run` prints, with the checkout path shown as /home/you/certlint).

Run it after adding or changing a rule (or a rule's message): `python scripts/update_readme.py`.
`--check` changes nothing and exits 1 when README.md is out of date.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(REPO, "README.md")
SHOWN_REPO = "/home/you/certlint"
EXAMPLE_ARGS = ["check", "examples/nginx/nginx.conf", "--ca-bundle", "fixtures/pki/root.pem"]


def certlint(*args: str) -> subprocess.CompletedProcess:
    """This checkout's certlint (its src/ first), run from the repository root."""
    env = dict(os.environ, PYTHONPATH=os.path.join(REPO, "src"), NO_COLOR="1")
    return subprocess.run([sys.executable, "-m", "certlint", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)


def rules_table() -> str:
    result = certlint("rules", "--format", "markdown")
    if result.returncode != 0:
        raise SystemExit(f"certlint rules failed: {result.stderr.strip()}")
    return result.stdout.strip() + "\n"


def example_output() -> str:
    """The text `./examples/run` prints on a fresh checkout at /home/you/certlint."""
    result = certlint(*EXAMPLE_ARGS)
    if result.returncode not in (0, 1):
        raise SystemExit(f"certlint check on the example failed: {result.stderr.strip()}")
    shown = result.stdout.replace(REPO + os.sep, SHOWN_REPO + "/")
    return ("$ ./examples/run\n"
            f"certlint example: creating {SHOWN_REPO}/.venv\n"
            f"certlint example: installing certlint from {SHOWN_REPO}\n"
            f"certlint example: certlint {' '.join(EXAMPLE_ARGS)}\n"
            f"{shown.rstrip()}\n"
            f"$ echo $?\n{result.returncode}\n")


def block(text: str, name: str) -> re.Match:
    match = re.search(rf"(<!-- {name}:start -->\n)(.*?)(<!-- {name}:end -->)", text, re.S)
    if match is None:
        raise SystemExit(f"README.md lacks the <!-- {name}:start --> / <!-- {name}:end --> markers")
    return match


def replace(text: str, name: str, content: str) -> str:
    m = block(text, name)
    return text[:m.start(2)] + content + text[m.end(2):]


def render(text: str) -> str:
    text = replace(text, "rules", rules_table())
    return replace(text, "example", "```console\n" + example_output() + "```\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if README.md is stale")
    args = parser.parse_args(argv)
    with open(README, encoding="utf-8") as fh:
        old = fh.read()
    new = render(old)
    if args.check:
        if new != old:
            print("README.md is out of date: run `python scripts/update_readme.py`")
            return 1
        return 0
    if new != old:
        with open(README, "w", encoding="utf-8") as fh:
            fh.write(new)
        print("README.md updated")
    else:
        print("README.md already up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
