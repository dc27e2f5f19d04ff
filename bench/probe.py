"""Benchmark: `certlint probe` on loopback endpoints, next to sslyze on the same endpoints.

    python bench/probe.py                               # 200 endpoints over 4 nginx, and one alone
    python bench/probe.py --endpoints 200 --servers 4 --concurrency 32 --repeat 3
    python bench/probe.py --sslyze /tmp/sslyze-venv/bin/python   # sslyze's own venv

Each endpoint is a TLS port of one of several real nginx servers on 127.0.0.1, with its own EC
P-256 key and certificate (its own name, plus the IP address 127.0.0.1 the target names) from one
private CA (root -> intermediate), served with its intermediate. Every leaf carries an OCSP URL
and a CRL distribution point, the intermediate a CRL distribution point, all on a loopback
HTTP server: the OCSP responder answers with responses signed ahead of time by the CA (what
CDN-fronted responders serve), the CRLs are real CRLs. certlint does the whole job for every
endpoint: handshake, chain analysis and every rule, an OCSP request for the leaf, the CRLs of
leaf and intermediate (each CRL URL fetched once per run).

sslyze (not a dependency: install it in its own venv, `python -m venv /tmp/sslyze-venv &&
/tmp/sslyze-venv/bin/pip install sslyze`) runs its certificate scan only (`--certinfo` with the
same CA file); it contacts no OCSP responder and no CRL. Both are timed as users run them: a
fresh process, interpreter start-up included, best of `--repeat` runs; certlint in a venv as
pip users have it (user_venv.py), or this interpreter with `--system-python`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import ipaddress
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from user_venv import user_python

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
UTC = dt.timezone.utc
NOW = dt.datetime.now(UTC)
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


# -- PKI --------------------------------------------------------------------------------------

def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "certlint probe bench")])


def _pem(*certs) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def _crl_dp(url: str) -> x509.CRLDistributionPoints:
    return x509.CRLDistributionPoints([x509.DistributionPoint(
        [x509.UniformResourceIdentifier(url)], None, None, None)])


class Pki:
    """root -> intermediate -> one leaf per endpoint; OCSP answers signed ahead of time."""

    def __init__(self, http_port: int):
        base = f"http://127.0.0.1:{http_port}"
        self.root_key = ec.generate_private_key(ec.SECP256R1())
        self.inter_key = ec.generate_private_key(ec.SECP256R1())
        self.root = self._ca("Probe Bench Root", self.root_key, None, None)
        self.inter = self._ca("Probe Bench Intermediate", self.inter_key, self.root,
                              self.root_key, crl=f"{base}/root.crl")
        self.ocsp_url = f"{base}/ocsp"
        self.crl_url = f"{base}/inter.crl"
        self.crls = {"/root.crl": self._crl(self.root, self.root_key),
                     "/inter.crl": self._crl(self.inter, self.inter_key)}
        self.responses: dict[bytes, bytes] = {}  # DER OCSP request -> DER response

    def _ca(self, cn, key, issuer, issuer_key, crl=None):
        builder = (x509.CertificateBuilder().subject_name(_name(cn))
                   .issuer_name(issuer.subject if issuer else _name(cn))
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(NOW - dt.timedelta(days=30))
                   .not_valid_after(NOW + dt.timedelta(days=3650))
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
                   .add_extension(x509.KeyUsage(True, False, False, False, False, True, True,
                                                False, False), True))
        if crl:
            builder = builder.add_extension(_crl_dp(crl), False)
        return builder.sign(issuer_key or key, hashes.SHA256())

    def _crl(self, ca, key) -> bytes:
        return (x509.CertificateRevocationListBuilder().issuer_name(ca.subject)
                .last_update(NOW - dt.timedelta(hours=1))
                .next_update(NOW + dt.timedelta(days=7))
                .sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER))

    def leaf(self, n: int):
        key = ec.generate_private_key(ec.SECP256R1())
        names = [x509.DNSName(f"site{n}.bench.test"),
                 x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        cert = (x509.CertificateBuilder().subject_name(_name(f"site{n}.bench.test"))
                .issuer_name(self.inter.subject).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(NOW - dt.timedelta(days=1))
                .not_valid_after(NOW + dt.timedelta(days=90))
                .add_extension(x509.SubjectAlternativeName(names), False)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
                .add_extension(x509.AuthorityInformationAccess([x509.AccessDescription(
                    x509.oid.AuthorityInformationAccessOID.OCSP,
                    x509.UniformResourceIdentifier(self.ocsp_url))]), False)
                .add_extension(_crl_dp(self.crl_url), False)
                .sign(self.inter_key, hashes.SHA256()))
        request = (ocsp.OCSPRequestBuilder().add_certificate(cert, self.inter, hashes.SHA1())
                   .build().public_bytes(serialization.Encoding.DER))
        response = (ocsp.OCSPResponseBuilder().add_response(
            cert=cert, issuer=self.inter, algorithm=hashes.SHA1(),
            cert_status=ocsp.OCSPCertStatus.GOOD, this_update=NOW - dt.timedelta(hours=1),
            next_update=NOW + dt.timedelta(days=3), revocation_time=None,
            revocation_reason=None).responder_id(ocsp.OCSPResponderEncoding.HASH, self.inter)
            .sign(self.inter_key, hashes.SHA256()))
        self.responses[request] = response.public_bytes(serialization.Encoding.DER)
        return cert, key


# -- loopback servers ---------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LoopbackHttp:
    """An HTTP server on 127.0.0.1:`port`, answering from its own daemon thread."""

    def __init__(self, port: int, handler: type[BaseHTTPRequestHandler]):
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class CaServer(LoopbackHttp):
    """The CA's http endpoints: CRLs by path, OCSP answers by request body (POST)."""

    def __init__(self, port: int):
        self.pki: Pki | None = None
        self.hits = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def _send(self, status, body, ctype):
                owner.hits += 1
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):  # noqa: N802
                body = owner.pki.crls.get(self.path) if owner.pki else None
                if body is None:
                    self._send(404, b"not found", "text/plain")
                else:
                    self._send(200, body, "application/pkix-crl")

            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                request = self.rfile.read(min(length, 65536))
                body = owner.pki.responses.get(request) if owner.pki else None
                if body is None:
                    body = ocsp.OCSPResponseBuilder.build_unsuccessful(
                        ocsp.OCSPResponseStatus.UNAUTHORIZED).public_bytes(
                        serialization.Encoding.DER)
                self._send(200, body, "application/ocsp-response")

            def log_message(self, *args):
                pass

        super().__init__(port, Handler)


def fleet_ports(count: int) -> list[int]:
    """Ports below the kernel's ephemeral range (outgoing connections of other programs take
    ports from that range between our check and nginx's bind), each checked bindable."""
    import random

    ports: list[int] = []
    candidates = list(range(20000, 30000))
    random.shuffle(candidates)
    for port in candidates:
        try:
            with socket.socket() as s:
                s.bind(("127.0.0.1", port))
        except OSError:
            continue
        ports.append(port)
        if len(ports) == count:
            return ports
    raise RuntimeError("not enough free ports in 20000-29999")


def nginx_fleet(folder: str, pki: Pki, endpoints: int, servers: int) -> tuple[list, list[int]]:
    """`servers` nginx processes sharing `endpoints` TLS ports; returns (processes, ports)."""
    ports = fleet_ports(endpoints)
    write = _writer(folder)
    write("root.pem", _pem(pki.root))
    procs = []
    for s in range(servers):
        blocks = []
        prefix = os.path.join(folder, f"nginx{s}")
        os.makedirs(prefix, exist_ok=True)
        for n in range(s, endpoints, servers):
            cert, key = pki.leaf(n)
            write(f"nginx{s}/site{n}.pem", _pem(cert, pki.inter))
            write(f"nginx{s}/site{n}.key", key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption()))
            blocks.append(f"  server {{\n    listen 127.0.0.1:{ports[n]} ssl;\n"
                          f"    server_name site{n}.bench.test;\n"
                          f"    ssl_certificate site{n}.pem;\n"
                          f"    ssl_certificate_key site{n}.key;\n  }}\n")
        conf = (f"worker_processes 1;\nerror_log {prefix}/error.log;\npid {prefix}/nginx.pid;\n"
                "events { worker_connections 1024; }\nhttp {\n  access_log off;\n"
                + "".join(f"  {d}_temp_path {prefix}/tmp_{d};\n"
                          for d in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
                + "".join(blocks) + "}\n")
        write(f"nginx{s}/nginx.conf", conf.encode())
        procs.append(subprocess.Popen(
            [NGINX, "-p", prefix, "-c", os.path.join(prefix, "nginx.conf"),
             "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True))
    deadline = time.monotonic() + 20
    for port in ports:
        alive(procs)
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"nginx did not listen on {port}") from None
                time.sleep(0.05)
    return procs, ports


def _writer(folder):
    def write(rel: str, data: bytes) -> str:
        path = os.path.join(folder, rel)
        with open(path, "wb") as fh:
            fh.write(data)
        return path
    return write


# -- timing -----------------------------------------------------------------------------------

def alive(procs) -> None:
    for proc in procs:
        if proc.poll() is not None:
            raise RuntimeError(f"an nginx of the fleet exited ({proc.returncode}): see its "
                               "error.log; the figures would be wrong")


def timed(cmd: list[str], repeat: int, env: dict | None = None, procs=()) -> tuple[float, str]:
    best, out = float("inf"), ""
    for _ in range(repeat):
        alive(procs)
        started = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
        best = min(best, time.perf_counter() - started)
        out = proc.stdout
        if proc.returncode not in (0, 1):
            raise RuntimeError(f"{cmd[:4]}... exited {proc.returncode}: {proc.stderr[-2000:]}")
    return best, out


PYTHON = sys.executable  # main(): a venv as users have it (user_venv.py), or --system-python


def certlint_cmd(targets: str, root: str, concurrency: int, single: str | None) -> list[str]:
    cmd = [PYTHON, "-m", "certlint", "probe", "--format", "json", "--ca-bundle", root,
           "--aia-private", "--concurrency", str(concurrency)]
    return cmd + ([single] if single else ["--targets-file", targets])


def sslyze_cmd(python: str, targets: str, root: str, single: str | None) -> list[str]:
    cmd = [python, "-m", "sslyze", "--certinfo", "--certinfo_ca_file", root, "--quiet",
           "--json_out", os.path.join(os.path.dirname(targets), "sslyze.json")]
    return cmd + ([single] if single else ["--targets_in", targets])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--endpoints", type=int, default=200)
    parser.add_argument("--servers", type=int, default=4, help="nginx processes")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sslyze", default="/tmp/sslyze-venv/bin/python",
                        help="the Python of a venv with sslyze installed ('' to skip)")
    parser.add_argument("--system-python", action="store_true",
                        help="time certlint on this interpreter itself, not in a venv over it")
    args = parser.parse_args()
    global PYTHON
    PYTHON, pythonpath = user_python(system=args.system_python)
    env = dict(os.environ, PYTHONPATH=pythonpath)
    env.pop("CI", None)
    env["CERTLINT_CACHE_DIR"] = tempfile.mkdtemp(prefix="probe-bench-cache-")
    folder = tempfile.mkdtemp(prefix="probe-bench-")
    http_port = free_port()
    ca = CaServer(http_port)
    procs = []
    try:
        ca.pki = pki = Pki(http_port)
        procs, ports = nginx_fleet(folder, pki, args.endpoints, args.servers)
        root = os.path.join(folder, "root.pem")
        targets = os.path.join(folder, "targets.txt")
        with open(targets, "w") as fh:
            fh.writelines(f"127.0.0.1:{p}\n" for p in ports)
        single = f"127.0.0.1:{ports[0]}"
        rows = []
        for label, one in ((f"{args.endpoints} endpoints", None), ("1 endpoint", single)):
            before = ca.hits
            seconds, out = timed(certlint_cmd(targets, root, args.concurrency, one),
                                 args.repeat, env, procs)
            report = json.loads(out)
            asked = (ca.hits - before) // args.repeat
            rules = sorted({f["rule"] for f in report["findings"]})
            rows.append((label, "certlint probe (OCSP + CRL)", seconds,
                         f"{len(report['findings'])} findings {rules}, {asked} OCSP/CRL "
                         "requests"))
            seconds, _out = timed(certlint_cmd(targets, root, args.concurrency, one)
                                  + ["--offline"], args.repeat, env, procs)
            rows.append((label, "certlint probe --offline (no OCSP/CRL)", seconds,
                         "what was served only"))
            if args.sslyze and os.path.exists(args.sslyze):
                seconds, _out = timed(sslyze_cmd(args.sslyze, targets, root, one), args.repeat,
                                      procs=procs)
                with open(os.path.join(folder, "sslyze.json")) as fh:
                    scans = json.load(fh).get("server_scan_results", [])
                ok = sum(1 for s in scans if s.get("scan_status") == "COMPLETED")
                rows.append((label, "sslyze --certinfo", seconds, f"{ok} scans completed"))
        alive(procs)
        print(f"| endpoints | tool | seconds (best of {args.repeat}) | notes |")
        print("|---|---|---:|---|")
        for label, tool, seconds, note in rows:
            print(f"| {label} | {tool} | {seconds:.2f} | {note} |")
    except RuntimeError as exc:
        print(f"probe bench: {exc}", file=sys.stderr)
        for n in range(args.servers):
            log = os.path.join(folder, f"nginx{n}", "error.log")
            if os.path.exists(log):
                with open(log, errors="replace") as fh:
                    print(fh.read()[-1500:], file=sys.stderr)
        return 1
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        ca.stop()
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(env["CERTLINT_CACHE_DIR"], ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
