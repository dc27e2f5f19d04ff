"""The trust store: certifi's roots plus any `--ca-bundle` files, indexed by subject."""

from __future__ import annotations

import os
import warnings

from cryptography import x509

from certlint.pki.load import certs_openssl_would_load, read_file
from certlint.pki.verify import cert_spki, issued_by, issuer_der, subject_der


class TrustStore:
    """Trust anchors, loaded lazily (most runs that find nothing wrong still need them once)."""

    def __init__(self, bundles: list[str] | None = None, use_certifi: bool = True):
        self._bundles = list(bundles or [])
        self._use_certifi = use_certifi
        self._by_subject: dict[bytes, list[x509.Certificate]] | None = None
        self.errors: list[str] = []
        self.notes: list[str] = []  # certificates skipped, not a reason to stop

    def _load(self) -> dict[bytes, list[x509.Certificate]]:
        if self._by_subject is not None:
            return self._by_subject
        self._by_subject = {}
        paths = []
        if self._use_certifi:
            paths.append(certifi_bundle())
        paths.extend(self._bundles)
        for path in paths:
            data, problem = read_file(path)  # a regular file, size-capped (never a FIFO)
            if data is None:
                self.errors.append(f"--ca-bundle {path}: the file {problem}")
                continue
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    certs = x509.load_pem_x509_certificates(data)
            except (OSError, ValueError) as exc:
                try:  # OpenSSL may still load some blocks cryptography refuses: skip those
                    certs, skipped = certs_openssl_would_load(data)
                except ValueError:
                    certs, skipped = [], []
                if not certs:
                    self.errors.append(f"--ca-bundle {path}: cannot load ({exc})")
                    continue
                self.notes.extend(f"--ca-bundle {path}: certlint cannot read certificate {n} "
                                  "(OpenSSL loads it, the cryptography library refuses its "
                                  "encoding); it is skipped" for n in skipped)
            for cert in certs:
                self.add(cert)
        return self._by_subject

    def warm(self) -> None:
        """Load the bundles now (before forked workers share this store, so that each does not
        load them again and problems with them are seen by the parent)."""
        self._load()

    def add(self, cert: x509.Certificate) -> None:
        self._load().setdefault(subject_der(cert), []).append(cert)

    def issuers_of(self, cert: x509.Certificate) -> list[x509.Certificate]:
        """Anchors whose key really signed `cert`."""
        candidates = self._load().get(issuer_der(cert), [])
        return [a for a in candidates if issued_by(cert, a)]

    def contains(self, cert: x509.Certificate) -> bool:
        """Is this certificate (same subject and key) itself a trust anchor?"""
        same_name = self._load().get(subject_der(cert))
        if not same_name:
            return False
        key = cert_spki(cert)
        return any(cert_spki(anchor) == key for anchor in same_name)


def certifi_bundle() -> str:
    """certifi's cacert.pem. Found beside the package without importing it where it is a plain
    file (importing certifi loads importlib.resources: a tenth of a small run's start-up)."""
    from importlib.util import find_spec

    spec = find_spec("certifi")
    if spec is not None and spec.origin:
        path = os.path.join(os.path.dirname(spec.origin), "cacert.pem")
        if os.path.isfile(path):
            return path
    import certifi

    return certifi.where()
