"""The trust store: certifi's roots plus any `--ca-bundle` files, indexed by subject."""

from __future__ import annotations

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
        self._keys: set[tuple[bytes, bytes]] = set()
        self.errors: list[str] = []
        self.notes: list[str] = []  # certificates skipped, not a reason to stop

    def _load(self) -> dict[bytes, list[x509.Certificate]]:
        if self._by_subject is not None:
            return self._by_subject
        self._by_subject = {}
        paths = []
        if self._use_certifi:
            import certifi

            paths.append(certifi.where())
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
        by_subject = self._load()
        subject = subject_der(cert)
        by_subject.setdefault(subject, []).append(cert)
        self._keys.add((subject, cert_spki(cert)))

    def issuers_of(self, cert: x509.Certificate) -> list[x509.Certificate]:
        """Anchors whose key really signed `cert`."""
        candidates = self._load().get(issuer_der(cert), [])
        return [a for a in candidates if issued_by(cert, a)]

    def contains(self, cert: x509.Certificate) -> bool:
        """Is this certificate (same subject and key) itself a trust anchor?"""
        self._load()
        return (subject_der(cert), cert_spki(cert)) in self._keys
