"""Chain-like files beside a certificate file (certbot's chain.pem/fullchain.pem, a CA's
`NAME.ca-bundle`, `intermediate.crt`): where `certlint fix` looks for a missing intermediate
before the network, and so what counts as "at hand" when `check` says whether fix can help."""

from __future__ import annotations

import os

from cryptography import x509

from certlint.pki.load import PkiStore
from certlint.pki.verify import issued_by

SIBLING_HINTS = ("chain", "bundle", "intermediate")
SIBLING_EXTS = (".pem", ".crt", ".cer", ".ca-bundle", ".bundle")
MAX_SIBLINGS = 20


def sibling_files(path: str, store: PkiStore | None = None) -> list[str]:
    """Chain-like files beside `path`, in name order (`store`: list each folder once a run;
    a fleet keeps a thousand certificates in one folder)."""
    folder = os.path.dirname(path)
    names = store.chain_like_names(folder or ".") if store is not None else _entries(folder or ".")
    found = []
    for name in names:
        low = name.lower()
        if not low.endswith(SIBLING_EXTS) or not any(k in low for k in SIBLING_HINTS):
            continue
        full = os.path.join(folder, name)
        if full != path and os.path.isfile(full):
            found.append(full)
        if len(found) >= MAX_SIBLINGS:
            break
    return found


def _entries(folder: str) -> list[str]:
    try:
        return sorted(os.listdir(folder))
    except OSError:
        return []


def chain_like(names: list[str]) -> list[str]:
    """The names that look like chain files (chain.pem, NAME.ca-bundle, intermediate.crt)."""
    return [name for name in names if name.lower().endswith(SIBLING_EXTS)
            and any(k in name.lower() for k in SIBLING_HINTS)]


def issuer_beside(path: str, child: x509.Certificate,
                  store: PkiStore) -> tuple[x509.Certificate, str] | None:
    """The certificate that issued `child`, from a chain-like file beside `path`, and that
    file."""
    for full in sibling_files(path, store):
        loaded = store.cert_file(full)
        if not loaded.ok:
            continue
        for cert in loaded.certs:
            if issued_by(child, cert):
                return cert, full
    return None
