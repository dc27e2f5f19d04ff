"""A loopback OCSP responder for the test PKI: `openssl ocsp -index ... -port PORT`.

The CA's certificates go into an OpenSSL `index.txt` (V = good, R = revoked); the responder
signs with the CA key itself (`-rsigner` = the CA), as small CAs do, or with a delegated OCSP
signing certificate (`delegated_signer`), as most public CAs do. `sigopts` are passed on as
`-rsigopt` (`["rsa_padding_mode:pss"]`: RSA-PSS signatures with an RSA signer).
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID

from tests.support.pki import CA, Issued, cert_pem, key_pem, name, new_key, write
from tests.support.servers import read_log, require, terminate


def index_line(cert: x509.Certificate, revoked: bool = False) -> str:
    expiry = cert.not_valid_after_utc.strftime("%y%m%d%H%M%SZ")
    serial = f"{cert.serial_number:X}"
    if len(serial) % 2:
        serial = "0" + serial
    subject = "/" + "/".join(
        f"{a.rfc4514_attribute_name}={a.value}" for a in reversed(list(cert.subject)))
    status, when = ("R", dt.datetime.now(dt.timezone.utc).strftime("%y%m%d%H%M%SZ")) \
        if revoked else ("V", "")
    return f"{status}\t{expiry}\t{when}\t{serial}\tunknown\t{subject}\n"


def delegated_signer(ca: CA, cn: str = "OCSP Responder", key_kind: str = "ec") -> Issued:
    """A delegated OCSP signing certificate issued by `ca` (EKU id-kp-OCSPSigning), as most
    public CAs use instead of signing responses with the CA key itself; `key_kind="rsa"` for
    a responder that signs with RSA (PKCS#1 v1.5, or RSA-PSS through `sigopts`)."""
    key = new_key(key_kind)
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(name(cn)).issuer_name(ca.subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.OCSP_SIGNING]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()),
                       critical=False)
        .sign(ca.key, hashes.SHA256()))
    return Issued(cert, key, ca)


class OcspResponder:
    """`openssl ocsp` answering for `ca` on `port` (every address; `host` is where to probe),
    knowing `good` and `revoked` certs."""

    def __init__(self, ca: CA, workdir: str, port: int, host: str = "127.0.0.1",
                 good: list[x509.Certificate] = (), revoked: list[x509.Certificate] = (),
                 signer: Issued | None = None, sigopts: list[str] = ()):
        self.ca, self.dir, self.port, self.host = ca, workdir, port, host
        self.signer = signer
        self.sigopts = list(sigopts)
        self.good, self.revoked = list(good), list(revoked)
        self.proc: subprocess.Popen | None = None
        self.log = os.path.join(workdir, "ocsp.log")

    def start(self, timeout: float = 10.0) -> OcspResponder:
        openssl = require("openssl")
        os.makedirs(self.dir, exist_ok=True)
        index = os.path.join(self.dir, "index.txt")
        with open(index, "w") as fh:
            fh.writelines([index_line(c) for c in self.good]
                          + [index_line(c, True) for c in self.revoked])
        with open(index + ".attr", "w") as fh:
            fh.write("unique_subject = no\n")  # several certificates for one name
        ca_pem = write(os.path.join(self.dir, "ocsp-ca.pem"), cert_pem(self.ca.cert))
        signer_cert = self.signer.cert if self.signer else self.ca.cert
        signer_key = self.signer.key if self.signer else self.ca.key
        rsigner = write(os.path.join(self.dir, "ocsp-signer.pem"), cert_pem(signer_cert))
        rkey = write(os.path.join(self.dir, "ocsp-signer.key"), key_pem(signer_key), 0o600)
        self._log = open(self.log, "wb")
        self.proc = subprocess.Popen(
            [openssl, "ocsp", "-index", index, "-port", str(self.port),
             "-rsigner", rsigner, "-rkey", rkey, "-CA", ca_pem, "-ndays", "1"]
            + [arg for opt in self.sigopts for arg in ("-rsigopt", opt)],
            stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"openssl ocsp exited: {self.output()}")
            # no probe connection: a bare connect-and-close wedges `openssl ocsp` (3.0)
            if "waiting for OCSP client connections" in self.output():
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("OCSP responder did not start")

    def output(self) -> str:
        return read_log(self.log)

    def stop(self) -> None:
        terminate(self.proc, timeout=5)
        self.proc = None
        if getattr(self, "_log", None):
            self._log.close()

    def __enter__(self) -> OcspResponder:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class Forward:
    """Relay TCP from `listen` (host, port) to `target` (host, port), one thread per connection.

    `openssl ocsp -port` binds every address; the relay puts the responder on one loopback
    address only, so a test can model "the responder's name now resolves somewhere else".
    """

    def __init__(self, listen: tuple[str, int], target: tuple[str, int]):
        self.listen, self.target = listen, target
        self.sock: socket.socket | None = None
        self.connections = 0

    def start(self) -> Forward:
        import threading

        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(self.listen)
        self.sock.listen(16)
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def _accept(self) -> None:
        import threading

        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._pipe, args=(client,), daemon=True).start()

    def _pipe(self, client: socket.socket) -> None:
        import selectors

        try:
            upstream = socket.create_connection(self.target, timeout=10)
        except OSError:
            client.close()
            return
        sel = selectors.DefaultSelector()
        sel.register(client, selectors.EVENT_READ, upstream)
        sel.register(upstream, selectors.EVENT_READ, client)
        open_ends = 2
        try:
            while open_ends:
                events = sel.select(timeout=15)
                if not events:
                    break
                for key, _ in events:
                    data = key.fileobj.recv(65536)
                    if data:
                        key.data.sendall(data)
                        continue
                    sel.unregister(key.fileobj)  # half-close: pass the EOF on, keep reading
                    key.data.shutdown(socket.SHUT_WR)
                    open_ends -= 1
        except OSError:
            pass
        finally:
            sel.close()
            client.close()
            upstream.close()

    def stop(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def __enter__(self) -> Forward:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
