"""Shared fixtures: a fresh test PKI per test and the certlint CLI runner."""

from __future__ import annotations

import json
import os
import sys

import pytest
from click.testing import CliRunner

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "src"))  # this checkout's code, not another install
# every test (and every certlint it starts) checks for real; tests of the result cache turn it
# back on with their own cache folder
os.environ["CERTLINT_NO_CACHE"] = "1"

from certlint.cli import cli  # noqa: E402
from tests.support.pki import StandardPKI  # noqa: E402


@pytest.fixture
def pki() -> StandardPKI:
    return StandardPKI.make("example.test", "www.example.test")


class Certlint:
    """Runs the real CLI in-process and parses what a user would see."""

    def __init__(self):
        self.runner = CliRunner()
        self.env: dict[str, str | None] = {}

    def __call__(self, *args: str):
        result = self.runner.invoke(cli, [str(a) for a in args], catch_exceptions=False,
                                    env=self.env or None)
        return result

    def workstation(self) -> None:
        """Run as on a workstation: without the CI variable, whose default refuses loopback
        and private AIA/OCSP/CRL hosts (tests of those fetches use loopback servers)."""
        self.env["CI"] = None

    def json(self, *args: str) -> tuple[int, dict]:
        result = self("check", "--format", "json", *args)
        assert result.exit_code in (0, 1), result.output
        return result.exit_code, json.loads(result.stdout)


@pytest.fixture
def certlint() -> Certlint:
    return Certlint()
