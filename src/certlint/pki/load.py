"""Loading certificate, key, CRL and OCSP files, each once per run, with errors kept as data.

Every way a file can be wrong (missing, empty, DER where PEM is needed, PKCS#7, a private key in
the certificate slot, truncated PEM, blocks glued without a newline, garbage) becomes a message an
operator understands. Key material is never echoed: messages name the file and the kind of
problem, nothing of its content.
"""

from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from certlint import reads

MAX_PKI_FILE_BYTES = 32 * 1024 * 1024
PEM_MARKER = re.compile(rb"-----(BEGIN|END) ([A-Z0-9 ]+)-----")


class _PemBlocks:
    """`findall(data)` -> [(label, body)]: what the regex
    `-----BEGIN (L)-----\\r?\\n(.*?)-----END \\1-----` (DOTALL) finds, in linear time. That regex
    rescans the rest of the file from every unmatched BEGIN line: a file of 200,000 BEGIN lines
    took minutes."""

    def findall(self, data: bytes) -> list[tuple[bytes, bytes]]:
        markers = [(m.group(1) == b"BEGIN", m.group(2), m.start(), m.end())
                   for m in PEM_MARKER.finditer(data)]
        next_end: list[int | None] = [None] * len(markers)
        ahead: dict[bytes, int] = {}
        for i in range(len(markers) - 1, -1, -1):
            begin, label, _start, _end = markers[i]
            next_end[i] = ahead.get(label)
            if not begin:
                ahead[label] = i
        blocks, pos = [], 0
        for i, (begin, label, start, end) in enumerate(markers):
            if not begin or start < pos or next_end[i] is None:
                continue
            body = end + (2 if data.startswith(b"\r\n", end) else 1)
            if not data.startswith(b"\n", body - 1):
                continue  # the BEGIN line must end right after the marker
            j = next_end[i]
            blocks.append((label, data[body:markers[j][2]]))
            pos = markers[j][3]
        return blocks


PEM_BLOCK = _PemBlocks()
PEM_BEGIN = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----")
GLUED_BLOCKS = re.compile(rb"-----END [A-Z0-9 ]+----------BEGIN")
KEY_LABELS = (b"PRIVATE KEY", b"RSA PRIVATE KEY", b"EC PRIVATE KEY", b"DSA PRIVATE KEY",
              b"ENCRYPTED PRIVATE KEY")
CERT_LABELS = (b"CERTIFICATE", b"TRUSTED CERTIFICATE", b"X509 CERTIFICATE")
NO_START_LINE = ("nginx: PEM_read_bio_X509_AUX() failed ... no start line; "
                 "Apache: AH02561/AH02562 Failed to configure certificate")


def spki(public_key) -> bytes:
    """The DER SubjectPublicKeyInfo of a public key: what 'this key belongs to that cert' means."""
    return public_key.public_bytes(serialization.Encoding.DER,
                                   serialization.PublicFormat.SubjectPublicKeyInfo)


@dataclass
class CertFile:
    """The certificates of one file, in file order, or why there are none usable."""

    path: str
    certs: list[x509.Certificate] = field(default_factory=list)
    missing: str | None = None  # cannot be opened at all
    error: str | None = None  # opened, but not what the server can load
    has_private_key: bool = False  # a private key block sits in the same file
    # (block number, why): certificates OpenSSL loads but the cryptography library refuses
    # (e.g. a DER that spells out a default such as `critical FALSE`); left out of `certs`
    unreadable: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.missing and not self.error and bool(self.certs)


@dataclass
class KeyFile:
    """A private key file reduced to what certlint needs: the public half, never the secret."""

    path: str
    public: bytes | None = None  # SPKI DER of the matching public key
    description: str = ""  # e.g. "RSA 2048-bit"
    encrypted: bool = False
    passwords_tried: int = 0  # passphrases from ssl_password_file that did not open it
    costly: str | None = None  # why the passphrases were not tried (KDF iteration bomb)
    missing: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.public is not None


def read_file(path: str) -> tuple[bytes | None, str | None]:
    """Bytes of a PKI file, or a plain reason it cannot be read (noted for the result cache)."""
    data, problem = _read_file(path)
    reads.read(path, data, problem)
    return data, problem


def _read_file(path: str) -> tuple[bytes | None, str | None]:
    """Only regular files, at most MAX_PKI_FILE_BYTES, checked before reading (SECURITY.md
    promise 3)."""
    from certlint.safe_io import NotRegular, TooLarge, read_bounded

    try:
        return read_bounded(path, MAX_PKI_FILE_BYTES), None
    except NotRegular as exc:
        if exc.kind == "a directory":
            return None, "is a directory, not a file"
        return None, str(exc)
    except TooLarge as exc:
        size = f"is {exc.size} bytes" if exc.size is not None else "keeps growing"
        return None, f"{size}, too large for a certificate or key file"
    except FileNotFoundError:
        if os.path.islink(path):
            return None, "is a dangling symbolic link"
        return None, "does not exist"
    except OSError as exc:
        return None, f"cannot be read ({exc.strerror or exc.__class__.__name__})"


def _describe_non_pem(data: bytes) -> str:
    """Why a file without any PEM block is not a certificate, as precisely as we can say."""
    try:
        cert = x509.load_der_x509_certificate(data)
        return (f"is DER-encoded (binary) certificate {_subject(cert)}; the server needs PEM. "
                "Convert it: openssl x509 -inform der -in FILE -out FILE.pem")
    except ValueError:
        pass
    from cryptography.hazmat.primitives.serialization import pkcs7  # imports `email`: rare

    try:
        certs = pkcs7.load_der_pkcs7_certificates(data)
        return (f"is a DER PKCS#7 bundle of {len(certs)} certificate(s); the server needs PEM. "
                "Convert it: openssl pkcs7 -inform der -print_certs -in FILE -out FILE.pem")
    except ValueError:
        pass
    if _looks_like_der_key(data):
        return ("holds a DER-encoded private key, not a certificate: point the directive at the "
                "certificate file")
    if b"\0" in data[:4096] or _binary_ratio(data) > 0.3:
        return f"is binary data, not a PEM certificate ({NO_START_LINE})"
    return f"holds no 'BEGIN CERTIFICATE' block ({NO_START_LINE})"


def _looks_like_der_key(data: bytes) -> bool:
    try:
        serialization.load_der_private_key(data, None, unsafe_skip_rsa_key_validation=True)
        return True
    except TypeError:
        return True  # encrypted DER key
    except (ValueError, Exception):  # noqa: BLE001 - any parser refusal means "not a key"
        return False


def _binary_ratio(data: bytes) -> float:
    sample = data[:4096]
    if not sample:
        return 0.0
    text = sum(1 for b in sample if 32 <= b < 127 or b in (9, 10, 13))
    return 1 - text / len(sample)


def _subject(cert: x509.Certificate) -> str:
    return f"'{cert.subject.rfc4514_string() or '(empty subject)'}'"


def parse_cert_bytes(path: str, data: bytes) -> CertFile:
    result = CertFile(path)
    if not data.strip():
        result.error = ("is empty (the server refuses it: 'no start line' / "
                        "'does not exist or is empty')")
        return result
    if not PEM_BEGIN.search(data):
        result.error = _describe_non_pem(data)
        return result
    if GLUED_BLOCKS.search(data):
        result.error = ("has two PEM blocks glued together without a newline "
                        "('-----END CERTIFICATE----------BEGIN'); nginx fails with 'bad end line'. "
                        "Put a line break between the blocks")
        return result
    fast = _plain_certificates(data)
    if fast is not None:
        result.certs = fast
        return result
    blocks = PEM_BLOCK.findall(data)
    begun = len(PEM_BEGIN.findall(data))
    labels = [label for label, _ in blocks]
    result.has_private_key = any(label in KEY_LABELS for label in labels)
    try:
        for n, cert, why in _certificate_blocks(blocks):
            if cert is not None:
                result.certs.append(cert)
            else:
                result.unreadable.append((n, why))
    except _CorruptBlock as exc:
        result.error = (f"certificate block {exc.number} is corrupt (bad base64 or not a valid "
                        "certificate); the server fails to load the file")
        return result
    if begun > len(blocks):
        result.error = ("is truncated: a '-----BEGIN' line has no matching '-----END' line "
                        "(a partial copy or paste?)")
        return result
    if not result.certs:
        if b"PKCS7" in labels:
            result.error = ("is a PKCS#7 (.p7b) bundle, not PEM certificates; convert it: "
                            "openssl pkcs7 -print_certs -in FILE -out FILE.pem")
        elif result.has_private_key:
            result.error = ("holds a private key but no certificate: the certificate directive "
                            "names the key file")
        elif b"CERTIFICATE REQUEST" in labels or b"NEW CERTIFICATE REQUEST" in labels:
            result.error = ("holds a certificate signing request (CSR), not a certificate: "
                            "the CA's signed certificate goes here")
        else:
            kinds = ", ".join(sorted({label.decode() for label in labels})) or "none"
            result.error = f"holds no certificate (PEM blocks found: {kinds})"
    return result


def openssl_reads_what_cryptography_refuses(der: bytes, exc: Exception) -> str | None:
    """When OpenSSL (which the servers use) loads a certificate that the cryptography library
    refuses, why cryptography refuses it (its parse error's kind); None when OpenSSL refuses
    it too, or the bytes are no DER at all."""
    if not der:
        return None
    try:
        from OpenSSL import crypto

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            crypto.load_certificate(crypto.FILETYPE_ASN1, der)
    except ImportError:
        return None
    except Exception:  # noqa: BLE001 - OpenSSL refuses it as well: really corrupt
        return None
    kind = re.search(r"kind: (\w+)", str(exc))
    return kind.group(1) if kind else "not strict DER"


def certs_openssl_would_load(data: bytes) -> tuple[list[x509.Certificate], list[int]]:
    """The PEM certificates of a bundle that certlint can read, and the numbers of those it
    skips because only OpenSSL reads them (a CA bundle nginx loads must not stop the run)."""
    certs, skipped = [], []
    for n, cert, _why in _certificate_blocks(PEM_BLOCK.findall(data)):
        if cert is not None:
            certs.append(cert)
        else:
            skipped.append(n)
    return certs, skipped


class _CorruptBlock(ValueError):
    """A certificate block neither cryptography nor OpenSSL reads."""

    def __init__(self, number: int):
        super().__init__(f"certificate block {number} is corrupt")
        self.number = number


def _certificate_blocks(blocks):
    """(block number, certificate, None) for each PEM certificate block, or (number, None, why)
    for one that only OpenSSL reads; raises _CorruptBlock for one that nothing reads."""
    for n, (label, body) in enumerate(blocks, 1):
        if label not in CERT_LABELS:
            continue
        der = b""
        try:
            der = _b64(body)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                cert = x509.load_der_x509_certificate(der)
        except ValueError as exc:
            why = openssl_reads_what_cryptography_refuses(der, exc)
            if why is None:
                raise _CorruptBlock(n) from exc
            yield n, None, why
            continue
        yield n, cert, None


def _plain_certificates(data: bytes) -> list[x509.Certificate] | None:
    """The common case in one call: nothing but well-formed CERTIFICATE blocks. None sends the
    file through the block-by-block reading that explains what is wrong."""
    begun = data.count(b"-----BEGIN ")
    if begun == 0 or begun != data.count(b"-----BEGIN CERTIFICATE-----") \
            or begun != data.count(b"-----END CERTIFICATE-----"):
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            certs = x509.load_pem_x509_certificates(data)
    except ValueError:
        return None
    return certs if len(certs) == begun else None


def _b64(body: bytes) -> bytes:
    import base64
    import binascii

    lines = [ln for ln in body.splitlines() if ln.strip() and b":" not in ln]
    try:
        return base64.b64decode(b"".join(ln.strip() for ln in lines), validate=True)
    except binascii.Error as exc:
        raise ValueError("bad base64") from exc


def read_passwords(data: bytes) -> tuple[bytes, ...]:
    """Passphrases of an nginx `ssl_password_file`: one a line, trailing blanks ignored."""
    return tuple(line.rstrip(b" \t\r") for line in data.split(b"\n") if line.rstrip(b" \t\r"))


def parse_key_bytes(path: str, data: bytes, passwords: tuple[bytes, ...] = ()) -> KeyFile:
    result = KeyFile(path)
    if not data.strip():
        result.error = "is empty: no private key in it"
        return result
    blocks = PEM_BLOCK.findall(data)
    key_blocks = [(label, body) for label, body in blocks if label in KEY_LABELS]
    if not key_blocks:
        if PEM_BEGIN.search(data):
            labels = {label for label, _ in blocks}
            if labels & set(CERT_LABELS):
                result.error = ("holds a certificate but no private key: the key directive names "
                                "the certificate file")
            else:
                result.error = "holds no PEM private key block (or it is truncated)"
            return result
        if _looks_like_der_key(data):
            result.error = ("is a DER-encoded (binary) private key; nginx and Apache need PEM: "
                            "openssl pkey -inform der -in FILE -out FILE.pem")
        else:
            result.error = "is not a PEM private key (no 'BEGIN ... PRIVATE KEY' line)"
        return result
    label, body = key_blocks[0]
    pem = b"-----BEGIN " + label + b"-----\n" + body + b"-----END " + label + b"-----\n"
    encrypted = label == b"ENCRYPTED PRIVATE KEY" or b"ENCRYPTED" in body.split(b"\n\n")[0][:200]
    key = None
    if encrypted and passwords and label == b"ENCRYPTED PRIVATE KEY":
        refusal = _kdf_refusal(body, passwords)
        if refusal is not None:
            result.encrypted, result.costly = True, refusal
            return result
    if encrypted:
        key = _decrypt(pem, passwords)
        if key is None:
            result.encrypted = True
            result.passwords_tried = len(passwords)
            return result
    try:
        key = key or serialization.load_pem_private_key(
            pem, None, unsafe_skip_rsa_key_validation=True)
    except TypeError:
        result.encrypted = True
        return result
    except Exception:  # noqa: BLE001 - never echo the library's view of key bytes
        result.error = "holds a private key block that cannot be decoded (corrupt or unsupported)"
        return result
    result.public = spki(key.public_key())
    result.description = describe_key(key.public_key())
    return result


# An encrypted PKCS#8 key costs its KDF's iteration count per passphrase tried; a hostile key
# asks for 2^31 (SECURITY.md promise 10). OpenSSL writes 2,048 by default, careful users up to
# about a million: beyond that, or beyond this much work over all passphrases, certlint does
# not try (nginx would spend the same time at every start and reload).
MAX_KDF_ITERATIONS = 1_000_000
MAX_KDF_WORK = 4_000_000  # iterations x passphrases, per key


def _der(data: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, start of value, end of value) of the DER element at `pos` (ValueError if bad)."""
    if pos + 2 > len(data):
        raise ValueError("short")
    tag, length, pos = data[pos], data[pos + 1], pos + 2
    if length & 0x80:
        count = length & 0x7F
        if not 0 < count <= 4 or pos + count > len(data):
            raise ValueError("bad length")
        length, pos = int.from_bytes(data[pos:pos + count], "big"), pos + count
    if pos + length > len(data):
        raise ValueError("truncated")
    return tag, pos, pos + length


def _children(data: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    out, pos = [], start
    while pos < end and len(out) < 16:
        tag, s, e = _der(data, pos)
        out.append((tag, s, e))
        pos = e
    return out


PBES2, PBKDF2 = "1.2.840.113549.1.5.13", "1.2.840.113549.1.5.12"


def _oid(data: bytes) -> str:
    first = data[0]
    parts, value = [first // 40 if first < 80 else 2, first % 40 if first < 80 else first - 80], 0
    for byte in data[1:]:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            parts.append(value)
            value = 0
    return ".".join(map(str, parts))


def kdf_iterations(der: bytes) -> int | None:
    """The iteration count an EncryptedPrivateKeyInfo asks for (PBES2 with PBKDF2, PBES1 and
    PKCS#12 PBE), read from the ASN.1 before any decryption; None when not found."""
    try:
        tag, s, e = _der(der, 0)
        alg = _children(der, s, e)[0]  # AlgorithmIdentifier
        oid_el, params = _children(der, alg[1], alg[2])[:2]
        oid = _oid(der[oid_el[1]:oid_el[2]])
        if oid == PBES2:
            kdf = _children(der, params[1], params[2])[0]
            kdf_oid, kdf_params = _children(der, kdf[1], kdf[2])[:2]
            if _oid(der[kdf_oid[1]:kdf_oid[2]]) != PBKDF2:
                return None  # scrypt: OpenSSL's own memory cap (32 MiB) bounds it
            params = kdf_params
        fields = _children(der, params[1], params[2])  # salt, iterations, ...
        if len(fields) >= 2 and fields[1][0] == 0x02:
            return int.from_bytes(der[fields[1][1]:fields[1][2]], "big")
    except (ValueError, IndexError):
        return None
    return None


def _kdf_refusal(pem_body: bytes, passwords: tuple[bytes, ...]) -> str | None:
    """Why the passphrases are not tried on this key (too many KDF iterations), or None."""
    try:
        der = _b64(pem_body)
    except ValueError:
        return None
    iterations = kdf_iterations(der)
    if iterations is None:
        return None
    if iterations > MAX_KDF_ITERATIONS or iterations * len(passwords) > MAX_KDF_WORK:
        return (f"the key is encrypted with {iterations:,} PBKDF2 iterations; certlint does not "
                f"try the {len(passwords)} passphrase(s) of ssl_password_file on it (above "
                f"{MAX_KDF_ITERATIONS:,} iterations, or {MAX_KDF_WORK:,} in all): nginx would "
                "spend as long deriving keys at every start and reload. Re-encrypt it "
                "(openssl pkcs8 -topk8 -iter 100000) or store it unencrypted with tight "
                "permissions")
    return None


def _decrypt(pem: bytes, passwords: tuple[bytes, ...]):
    """The key opened with the first passphrase that works (nginx tries them in order)."""
    for password in passwords:
        try:
            return serialization.load_pem_private_key(pem, password,
                                                      unsafe_skip_rsa_key_validation=True)
        except Exception:  # noqa: BLE001,S112 - a wrong passphrase; try the next one
            continue
    return None


def describe_key(public_key) -> str:
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa

    if isinstance(public_key, rsa.RSAPublicKey):
        return f"RSA {public_key.key_size}-bit"
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return f"EC {public_key.curve.name} ({public_key.key_size}-bit)"
    if isinstance(public_key, dsa.DSAPublicKey):
        return f"DSA {public_key.key_size}-bit"
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        return "Ed25519"
    if isinstance(public_key, ed448.Ed448PublicKey):
        return "Ed448"
    return public_key.__class__.__name__


class PkiStore:
    """Loads each certificate or key file once per run, however many sites name it."""

    def __init__(self):
        self._certs: dict[str, CertFile] = {}
        self._keys: dict[object, KeyFile] = {}  # path, or (path, passphrases)
        self._raw: dict[str, tuple[bytes | None, str | None]] = {}
        # one object per distinct certificate (the intermediate of a thousand sites is one):
        # the identity caches of certlint.pki.verify then work across files
        self._interned: dict[x509.Certificate, x509.Certificate] = {}
        self._abspaths: dict[str, str] = {}
        self._folders: dict[tuple, list[str]] = {}  # (folder, keep) -> names

    def listing(self, folder: str, keep=None) -> list[str]:
        """The names in a folder, sorted and narrowed by `keep` (names -> names), worked out
        once a run (a fleet keeps a thousand certificates in one folder); none when it cannot
        be listed."""
        names = self._folders.get((folder, keep))
        if names is None:
            try:
                names = sorted(os.listdir(folder))
            except OSError:
                names = []
            names = self._folders[(folder, keep)] = keep(names) if keep else names
        return names

    def _abs(self, path: str) -> str:
        """os.path.abspath, memoised: rules ask for the same files many times per site."""
        absolute = self._abspaths.get(path)
        if absolute is None:
            absolute = self._abspaths[path] = os.path.abspath(path)
        return absolute

    def raw(self, path: str) -> tuple[bytes | None, str | None]:
        key = self._abs(path)
        if key not in self._raw:
            self._raw[key] = read_file(key)
        return self._raw[key]

    def cert_file(self, path: str) -> CertFile:
        key = self._abs(path)
        if key not in self._certs:
            data, problem = self.raw(key)
            loaded = (CertFile(path, missing=problem) if data is None
                      else parse_cert_bytes(path, data))
            loaded.certs = [self._interned.setdefault(c, c) for c in loaded.certs]
            reads.certificates(loaded.certs)
            self._certs[key] = loaded
        return self._certs[key]

    def key_file(self, path: str, passwords: tuple[bytes, ...] = ()) -> KeyFile:
        key = self._abs(path)
        cache = (key, passwords) if passwords else key
        if cache not in self._keys:
            data, problem = self.raw(key)
            self._keys[cache] = (KeyFile(path, missing=problem) if data is None
                                 else parse_key_bytes(path, data, passwords))
        return self._keys[cache]

    def passwords(self, path: str | None) -> tuple[bytes, ...]:
        """The passphrases of a password file (none when it cannot be read)."""
        if path is None:
            return ()
        data, _problem = self.raw(path)
        return read_passwords(data) if data else ()
