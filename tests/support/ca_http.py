"""A loopback HTTP server playing the CA's AIA endpoint, counting every request it gets.

    with CaHttp() as ca:
        url = ca.serve("/inter.crt", cert_der(inter.cert))
        ...
        assert ca.count("/inter.crt") == 1

Paths not served answer 404. `redirect(path, location)` answers 302 to `location`. A POST (an
OCSP request) is answered like a GET of its path; `posted` keeps the bodies.
"""

from __future__ import annotations

import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, pkcs7


def p7c(*certs: x509.Certificate) -> bytes:
    """A DER PKCS#7 certs-only bundle (what `.p7c` URLs serve)."""
    return pkcs7.serialize_certificates(list(certs), Encoding.DER)


class CaHttp:
    """Serves fixed bodies on 127.0.0.1:<free port>; `requests` counts hits per path."""

    def __init__(self, tls: tuple[str, str] | None = None):
        """`tls=(certfile, keyfile)` serves https instead of http."""
        self.scheme = "https" if tls else "http"
        self.routes: dict[str, tuple[int, bytes, dict[str, str]]] = {}
        self.requests: Counter[str] = Counter()
        self.delays: dict[str, float] = {}  # path -> seconds to wait before answering
        self.trickle: dict[str, float] = {}  # path -> seconds between 16-byte pieces
        self.posted: list[tuple[str, bytes]] = []  # (path, body) of every POST
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server API
                with owner._lock:
                    owner.requests[self.path] += 1
                status, body, headers = owner.routes.get(
                    self.path, (404, b"not found", {"Content-Type": "text/plain"}))
                delay = owner.delays.get(self.path)
                if delay:
                    owner._stopping.wait(delay)
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                pause = owner.trickle.get(self.path)
                if not pause:
                    self.wfile.write(body)
                    return
                for i in range(0, len(body), 16):  # a CA (or attacker) answering drop by drop
                    if owner._stopping.wait(pause):
                        return
                    self.wfile.write(body[i:i + 16])
                    self.wfile.flush()

            def do_POST(self):  # noqa: N802 - an OCSP responder's POST: answered as a GET
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(min(length, 65536))
                with owner._lock:
                    owner.posted.append((self.path, body))
                self.do_GET()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls:
            import ssl

            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,),
                                        daemon=True)

    def url(self, path: str) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}{path}"

    def serve(self, path: str, body: bytes, content_type: str = "application/pkix-cert",
              status: int = 200) -> str:
        self.routes[path] = (status, body, {"Content-Type": content_type})
        return self.url(path)

    def redirect(self, path: str, location: str) -> str:
        self.routes[path] = (302, b"", {"Location": location})
        return self.url(path)

    def count(self, path: str | None = None) -> int:
        with self._lock:
            return self.requests[path] if path else sum(self.requests.values())

    def start(self) -> CaHttp:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> CaHttp:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class PublishedCA:
    """root -> intermediate(s) whose certificates `http` publishes for AIA.

    `levels=2` gives root -> upper -> lower: the leaf's caIssuers points at `path` (lower),
    lower's own caIssuers at `path-up1` (upper). `fmt` is "der", "pem" or "p7c" (a PKCS#7
    bundle that also holds the root, so the fetcher must pick the real issuer).
    """

    def __init__(self, http: CaHttp, fmt: str = "der", levels: int = 1, path: str = "/inter.crt",
                 root_cn: str = "Fix Test Root"):
        from tests.support.pki import CA

        self.http = http
        self.root = CA(root_cn)
        self.inters = []
        parent = self.root
        for n in range(levels):
            from_bottom = levels - 1 - n
            aia = [http.url(f"{path}-up{from_bottom + 1}")] if n > 0 else None
            ca = parent.intermediate(f"{root_cn} Intermediate {n + 1}", ca_issuers=aia)
            where = path if from_bottom == 0 else f"{path}-up{from_bottom}"
            self._publish(where, ca, fmt)
            self.inters.append(ca)
            parent = ca
        self.lowest = self.inters[-1]
        self.url = http.url(path)

    def _publish(self, path: str, ca, fmt: str) -> str:
        from tests.support.pki import cert_der, cert_pem

        body = {"der": lambda: cert_der(ca.cert), "pem": lambda: cert_pem(ca.cert),
                "p7c": lambda: p7c(self.root.cert, ca.cert)}[fmt]()
        return self.http.serve(path, body)

    def leaf(self, *names: str, urls: list[str] | None = None):
        return self.lowest.leaf(*names, ca_issuers=urls or [self.url])

    def issuing_path(self) -> list:
        """The intermediates' certificates from the lowest up (what a fixed chain holds)."""
        return [ca.cert for ca in reversed(self.inters)]
