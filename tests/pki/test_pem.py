"""The linear PEM block finder returns exactly what the classic backtracking regex returns."""

from __future__ import annotations

import random
import re

from certlint.pki.load import PEM_BLOCK
from tests.support.paths import TESTS

CLASSIC = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----\r?\n(.*?)-----END \1-----", re.S)
ATOMS = [b"-----BEGIN CERTIFICATE-----", b"-----END CERTIFICATE-----",
         b"-----BEGIN PRIVATE KEY-----", b"-----END PRIVATE KEY-----", b"-----BEGIN X509 CRL-----",
         b"-----END X509 CRL-----", b"\n", b"\r\n", b"MIIB", b" ", b"-----", b"x", b"\r"]


def test_same_blocks_as_the_classic_regex():
    rng = random.Random(2026)
    for _ in range(20000):
        data = b"".join(rng.choice(ATOMS) for _ in range(rng.randint(0, 16)))
        assert PEM_BLOCK.findall(data) == CLASSIC.findall(data), data


def test_real_bundle():
    import os

    here = TESTS
    with open(os.path.join(os.path.dirname(here), "fixtures", "pki", "leaf-and-key.pem"),
              "rb") as fh:
        data = fh.read()
    assert [label for label, _ in PEM_BLOCK.findall(data)] == [b"CERTIFICATE", b"PRIVATE KEY"]
    assert PEM_BLOCK.findall(data) == CLASSIC.findall(data)
