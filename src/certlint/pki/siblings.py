"""Chain-like files beside a certificate file (certbot's chain.pem/fullchain.pem, a CA's
`NAME.ca-bundle`, `intermediate.crt`): where `certlint fix` looks for a missing intermediate
before the network, and so what counts as "at hand" when `check` says whether fix can help."""

from __future__ import annotations

import os
from collections.abc import Iterator

from cryptography import x509

from certlint.pki.load import PkiStore
from certlint.pki.verify import issued_by

SIBLING_HINTS = ("chain", "bundle", "intermediate")
SIBLING_EXTS = (".pem", ".crt", ".cer", ".ca-bundle", ".bundle")
MAX_SIBLINGS = 20


def sibling_files(path: str, store: PkiStore | None = None) -> list[str]:
    """The chain-like files in the folder of `path` (not `path` itself), at most
    MAX_SIBLINGS, in file-name order (`store`: each folder is listed once a run)."""
    folder = os.path.dirname(path)
    found = []
    for name in (store or PkiStore()).listing(folder or ".", keep=chain_like):
        full = os.path.join(folder, name)
        if full != path and os.path.isfile(full):
            found.append(full)
        if len(found) >= MAX_SIBLINGS:
            break
    return found


def chain_like(names: list[str]) -> list[str]:
    """The names that look like chain files (chain.pem, NAME.ca-bundle, intermediate.crt)."""
    return [name for name in names if name.lower().endswith(SIBLING_EXTS)
            and any(k in name.lower() for k in SIBLING_HINTS)]


def certs_beside(path: str, store: PkiStore) -> Iterator[tuple[x509.Certificate, str]]:
    """The certificates of the chain-like files beside `path` (files that do not load are
    passed over), each with its file, in file-name order."""
    for full in sibling_files(path, store):
        loaded = store.cert_file(full)
        if loaded.ok:
            for cert in loaded.certs:
                yield cert, full


def issuer_beside(path: str, child: x509.Certificate,
                  store: PkiStore) -> tuple[x509.Certificate, str] | None:
    """The certificate that issued `child`, from a chain-like file beside `path`, and that
    file."""
    for cert, full in certs_beside(path, store):
        if issued_by(child, cert):
            return cert, full
    return None
