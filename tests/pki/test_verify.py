"""Signature checks for every issuer key type the fast path handles, and the fallbacks."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import hashes

from certlint.pki.verify import _verify, is_self_signed, issued_by
from tests.support.pki import CA


@pytest.mark.parametrize("kind", ["ec", "rsa"])
@pytest.mark.parametrize("hash_alg", [hashes.SHA256(), hashes.SHA384(), hashes.SHA512()])
def test_issuer_key_types_and_hashes(kind, hash_alg):
    root = CA(f"certlint {kind} Root", key_kind=kind)
    inter = root.intermediate(f"certlint {kind} Intermediate", key_kind=kind)
    leaf = inter.leaf("example.test", hash_alg=hash_alg)
    impostor = root.intermediate(f"certlint {kind} Intermediate", key_kind=kind)  # same name
    assert issued_by(leaf.cert, inter.cert)
    assert not issued_by(leaf.cert, impostor.cert)
    assert issued_by(inter.cert, root.cert) and is_self_signed(root.cert)
    assert not is_self_signed(inter.cert)


def test_key_type_that_does_not_fit_the_signature():
    ec_ca, rsa_ca = CA("certlint Mixed", key_kind="ec"), CA("certlint Mixed", key_kind="rsa")
    leaf = ec_ca.leaf("example.test")
    assert not _verify(leaf.cert, rsa_ca.cert)  # same name, RSA key, ECDSA signature
