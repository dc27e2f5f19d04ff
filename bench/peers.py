"""Benchmark: what certlint and its peers catch, side by side, on the operator mistakes certlint
exists for, and how long each takes.

    python bench/peers.py                                  # every tool that is installed
    python bench/peers.py --gixy '' --testssl '' --sslyze ''   # only certlint, nginx, openssl

Each case is a real nginx config tree (nginx.conf, certificate, key) from one private CA
(root -> intermediate 1 -> intermediate 2 -> leaf, EC P-256) on a site `www.peers.test`:

- leaf-only: the certificate file holds the leaf alone (intermediates missing)
- wrong-order: leaf, then the intermediates in the wrong order
- expired: the leaf expired ten days ago
- name-mismatch: the certificate is for `other.peers.test`
- key-mismatch: the key is not the certificate's (nginx refuses to start)
- leaf-not-first: the intermediates before the leaf (nginx refuses to start)
- stapling-no-resolver: `ssl_stapling on`, the OCSP URL names a host (`localhost`), no `resolver`
- correct: a correct site (anything reported there is a false alarm)

Config tools read the tree: `certlint check`, `nginx -t`, gixy-ng. Live tools talk to a real
nginx started on 127.0.0.1 with that tree: `openssl s_client -verify_return_error`,
testssl.sh (`-S`, certificate and server defaults only), sslyze (`--certinfo`). The OCSP
responder is a loopback HTTP server. Every tool gets the private root as an extra trusted CA.
The peers are benchmark tools, never certlint dependencies: gixy-ng and sslyze in venvs of their
own, testssl.sh from Debian (bench/README.md). A tool that is not installed is skipped with a
note. Times are wall seconds of one fresh process per case (certlint in a venv as pip users
have it, user_venv.py).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID
from probe import LoopbackHttp, fleet_ports, free_port
from user_venv import user_python

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"
UTC = dt.timezone.utc
NOW = dt.datetime.now(UTC)
HOST = "www.peers.test"

# (case, what is planted): the kind a tool must report for the case to count as caught
CASES = [
    ("leaf-only", "chain", "leaf only, intermediates missing"),
    ("wrong-order", "order", "intermediates in the wrong order"),
    ("expired", "expired", "leaf expired 10 days ago"),
    ("name-mismatch", "name", "certificate for other.peers.test"),
    ("key-mismatch", "key", "key of another certificate"),
    ("leaf-not-first", "first", "intermediates before the leaf (cat chain.pem cert.pem)"),
    ("stapling-no-resolver", "stapling", "ssl_stapling on, OCSP host by name, no resolver"),
    ("correct", None, "nothing wrong"),
]

# certlint rule -> kind (chain-wrong-order: an error when the leaf is not first)
CERTLINT_KINDS = {"chain-incomplete": "chain", "chain-wrong-order": "order",
                  "cert-expired": "expired", "hostname-mismatch": "name",
                  "key-mismatch": "key", "stapling-no-resolver": "stapling"}
# gixy-ng plugin -> kind (its only certificate-adjacent checks)
GIXY_KINDS = {"ssl_stapling_without_resolver": "stapling", "missing_resolver": "stapling",
              "ssl_stapling_letsencrypt": "stapling"}


# -- PKI --------------------------------------------------------------------------------------

def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "certlint peers bench")])


def _pem(*certs) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def _key_pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


class Pki:
    """root -> inter1 -> inter2 -> leaves; an OCSP answer for any leaf asked about."""

    def __init__(self):
        self.root_key = ec.generate_private_key(ec.SECP256R1())
        self.root = self._ca("Peers Bench Root", self.root_key, None, None)
        self.inter1_key = ec.generate_private_key(ec.SECP256R1())
        self.inter1 = self._ca("Peers Bench Intermediate 1", self.inter1_key, self.root,
                               self.root_key)
        self.inter2_key = ec.generate_private_key(ec.SECP256R1())
        self.inter2 = self._ca("Peers Bench Intermediate 2", self.inter2_key, self.inter1,
                               self.inter1_key)
        self.leaves: dict[int, x509.Certificate] = {}

    def _ca(self, cn, key, issuer, issuer_key):
        return (x509.CertificateBuilder().subject_name(_name(cn))
                .issuer_name(issuer.subject if issuer else _name(cn))
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(NOW - dt.timedelta(days=30))
                .not_valid_after(NOW + dt.timedelta(days=3650))
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
                .add_extension(x509.KeyUsage(True, False, False, False, False, True, True,
                                             False, False), True)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                               False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                    (issuer_key or key).public_key()), False)
                .sign(issuer_key or key, hashes.SHA256()))

    def leaf(self, name: str = HOST, expired: bool = False, ocsp_url: str | None = None):
        key = ec.generate_private_key(ec.SECP256R1())
        start, end = ((NOW - dt.timedelta(days=100), NOW - dt.timedelta(days=10)) if expired
                      else (NOW - dt.timedelta(days=1), NOW + dt.timedelta(days=90)))
        builder = (x509.CertificateBuilder().subject_name(_name(name))
                   .issuer_name(self.inter2.subject).public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(start).not_valid_after(end)
                   .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), False)
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
                   .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                                  False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                       self.inter2_key.public_key()), False))
        if ocsp_url:
            builder = builder.add_extension(x509.AuthorityInformationAccess([
                x509.AccessDescription(AuthorityInformationAccessOID.OCSP,
                                       x509.UniformResourceIdentifier(ocsp_url))]), False)
        cert = builder.sign(self.inter2_key, hashes.SHA256())
        self.leaves[cert.serial_number] = cert
        return cert, key

    def ocsp_answer(self, request_der: bytes) -> bytes:
        try:
            serial = ocsp.load_der_ocsp_request(request_der).serial_number
        except ValueError:
            serial = None
        cert = self.leaves.get(serial)
        if cert is None:
            return ocsp.OCSPResponseBuilder.build_unsuccessful(
                ocsp.OCSPResponseStatus.UNAUTHORIZED).public_bytes(serialization.Encoding.DER)
        return (ocsp.OCSPResponseBuilder().add_response(
            cert=cert, issuer=self.inter2, algorithm=hashes.SHA1(),
            cert_status=ocsp.OCSPCertStatus.GOOD, this_update=NOW - dt.timedelta(hours=1),
            next_update=NOW + dt.timedelta(days=3), revocation_time=None,
            revocation_reason=None).responder_id(ocsp.OCSPResponderEncoding.HASH, self.inter2)
            .sign(self.inter2_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER))


class OcspServer(LoopbackHttp):
    """The CA's OCSP responder on 127.0.0.1 (POST and GET)."""

    def __init__(self, pki: Pki, port: int):
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def _answer(self, request: bytes):
                body = pki.ocsp_answer(request)
                self.send_response(200)
                self.send_header("Content-Type", "application/ocsp-response")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                self._answer(self.rfile.read(min(length, 65536)))

            def do_GET(self):  # noqa: N802
                import base64
                import urllib.parse

                tail = urllib.parse.unquote(self.path.rsplit("/", 1)[-1])
                try:
                    self._answer(base64.b64decode(tail))
                except ValueError:
                    self._answer(b"")

            def log_message(self, *args):
                pass

        super().__init__(port, Handler)


# -- cases ------------------------------------------------------------------------------------

class Case:
    def __init__(self, name: str, kind: str | None, what: str, folder: str, port: int):
        self.name, self.kind, self.what = name, kind, what
        self.folder, self.port = folder, port
        self.conf = os.path.join(folder, "nginx.conf")


def build_cases(base: str, pki: Pki, ocsp_port: int, only: list[str] | None) -> list[Case]:
    chosen = [c for c in CASES if not only or c[0] in only]
    ports = fleet_ports(len(chosen))
    cases = []
    for (name, kind, what), port in zip(chosen, ports, strict=True):
        folder = os.path.join(base, name)
        os.makedirs(folder)
        case = Case(name, kind, what, folder, port)
        extra = ""
        cert, key = pki.leaf(name="other.peers.test" if name == "name-mismatch" else HOST,
                             expired=name == "expired",
                             ocsp_url=(f"http://localhost:{ocsp_port}/ocsp"
                                       if name == "stapling-no-resolver"
                                       else f"http://127.0.0.1:{ocsp_port}/ocsp"))
        served = {"leaf-only": [cert], "wrong-order": [cert, pki.inter1, pki.inter2],
                  "leaf-not-first": [pki.inter2, pki.inter1, cert]}.get(
            name, [cert, pki.inter2, pki.inter1])
        if name == "key-mismatch":
            key = ec.generate_private_key(ec.SECP256R1())
        if name == "stapling-no-resolver":
            extra = "    ssl_stapling on;\n"
        _write(folder, "site.pem", _pem(*served))
        _write(folder, "site.key", _key_pem(key))
        conf = (f"worker_processes 1;\nerror_log {folder}/error.log;\npid {folder}/nginx.pid;\n"
                "events { worker_connections 64; }\nhttp {\n  access_log off;\n"
                + "".join(f"  {d}_temp_path {folder}/tmp_{d};\n"
                          for d in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
                + f"  server {{\n    listen 127.0.0.1:{port} ssl;\n"
                f"    server_name {HOST};\n"
                "    ssl_certificate site.pem;\n    ssl_certificate_key site.key;\n"
                f"{extra}  }}\n}}\n")
        _write(folder, "nginx.conf", conf.encode())
        cases.append(case)
    return cases


def _write(folder: str, rel: str, data: bytes) -> None:
    with open(os.path.join(folder, rel), "wb") as fh:
        fh.write(data)


def start_nginx(case: Case):
    """A real nginx serving the case on 127.0.0.1; (process, None) or (None, why it refused)."""
    proc = subprocess.Popen([NGINX, "-p", case.folder, "-c", case.conf, "-e",
                             os.path.join(case.folder, "error.log"), "-g", "daemon off;"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode(errors="replace")
            return None, _first(err, "[emerg]") or err.strip()[-200:]
        try:
            socket.create_connection(("127.0.0.1", case.port), timeout=1).close()
            return proc, None
        except OSError:
            time.sleep(0.05)
    stop_nginx(proc)
    return None, "did not listen"


def stop_nginx(proc) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _first(text: str, marker: str) -> str | None:
    for line in text.splitlines():
        if marker in line:
            return line.split(marker, 1)[1].strip()
    return None


def _run(cmd: list[str], env=None, timeout: float = 300):
    """(wall seconds, completed process) of one fresh process."""
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout,
                          stdin=subprocess.DEVNULL)
    return time.perf_counter() - started, proc


class PeerError(Exception):
    """A peer tool failed on a case: its cell says so, the other tools go on."""


def peer(func, *args):
    try:
        return func(*args)
    except (PeerError, subprocess.TimeoutExpired) as exc:
        return f"error: {exc}".replace("|", "/")


# -- tools: each returns (seconds, {kind: evidence}, [other things reported]) -----------------

def run_certlint(case: Case, root: str, python: str, env: dict):
    seconds, proc = _run([python, "-m", "certlint", "check", "--format", "json", "--no-cache",
                          "--server", "nginx", "--ca-bundle", root, case.conf], env)
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"certlint exited {proc.returncode}: {proc.stderr[-1500:]}")
    found, other = {}, []
    for f in json.loads(proc.stdout)["findings"]:
        kind = CERTLINT_KINDS.get(f["rule"])
        if kind:
            found.setdefault(kind, f["rule"])
            if f["rule"] == "chain-wrong-order" and f["severity"] == "error":
                found.setdefault("first", f["rule"])
        else:
            other.append(f["rule"])
    return seconds, found, other


def run_certlint_probe(case: Case, root: str, python: str, env: dict):
    seconds, proc = _run([python, "-m", "certlint", "probe", "--format", "json", "--ca-bundle",
                          root, "--aia-private", "--connect", f"127.0.0.1:{case.port}",
                          f"{HOST}:{case.port}"], env)
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"certlint probe exited {proc.returncode}: {proc.stderr[-1500:]}")
    found, other = {}, []
    for f in json.loads(proc.stdout)["findings"]:
        kind = CERTLINT_KINDS.get(f["rule"]) or (
            "stapling-none" if f["rule"] == "staple-missing" else None)
        if kind:
            found.setdefault(kind, f["rule"])
        else:
            other.append(f["rule"])
    if "stapling-none" not in found and "staple-invalid" not in other:
        found["stapled"] = "staple checked"
    return seconds, found, other


def run_nginx_t(case: Case):
    seconds, proc = _run([NGINX, "-t", "-q", "-p", case.folder, "-c", case.conf, "-e",
                          os.path.join(case.folder, "error.log")])
    found, other = {}, []
    if proc.returncode != 0:
        msg = _first(proc.stderr, "[emerg]") or proc.stderr.strip()[-200:]
        if "key values mismatch" in msg:
            found["key"] = "[emerg] SSL_CTX_use_PrivateKey() failed: key values mismatch"
            found["first"] = found["key"] + " (the first certificate is taken as the leaf)"
        else:
            other.append("[emerg] " + _short(msg))
    for line in proc.stderr.splitlines():
        if "[warn]" in line:
            msg = line.split("[warn]", 1)[1].strip()
            if "stapling" in msg:
                found.setdefault("stapling", "[warn] " + _short(msg))
            else:
                other.append("[warn] " + _short(msg))
    return seconds, found, other


def _short(msg: str) -> str:
    msg = re.sub(r'"/[^"]*/', '"', msg)          # paths: file name only
    msg = re.sub(r"\s*\(SSL: error:.*", "", msg)  # OpenSSL's error stack
    return msg.split(" in /")[0][:90]


def run_gixy(case: Case, gixy: str):
    seconds, proc = _run([gixy, "-f", "json", case.conf])
    try:
        issues = json.loads(proc.stdout or "[]")
    except ValueError:
        raise PeerError(f"gixy-ng printed no JSON: {proc.stderr.strip()[-200:]}") from None
    found, other = {}, []
    for issue in issues:
        plugin = issue.get("plugin", "?")
        kind = GIXY_KINDS.get(plugin)
        if kind:
            found.setdefault(kind, plugin)
        else:
            other.append(plugin)
    return seconds, found, other


def run_openssl(case: Case, root: str):
    seconds, proc = _run([OPENSSL, "s_client", "-connect", f"127.0.0.1:{case.port}",
                          "-servername", HOST, "-verify_return_error", "-CAfile", root,
                          "-verify_hostname", HOST, "-status"], timeout=60)
    found, other = {}, []
    text = proc.stdout + proc.stderr
    error = re.search(r"verify error:num=\d+:(.*)", text)
    if error:
        msg = error.group(1).strip()
        kind = ("chain" if "issuer certificate" in msg else "expired" if "expired" in msg
                else "name" if "hostname mismatch" in msg else None)
        (found.__setitem__(kind, msg) if kind else other.append(msg))
    elif proc.returncode != 0:
        other.append("handshake failed")
    if "OCSP response: no response sent" in text:
        found.setdefault("stapling-none", "no staple sent")
    elif "OCSP Response Status: successful" in text:
        found["stapled"] = "OCSP Response Status: successful"
    return seconds, found, other


def run_testssl(case: Case, root: str, testssl: str):
    out = os.path.join(case.folder, "testssl.json")
    seconds, proc = _run([testssl, "--quiet", "--color", "0", "--warnings", "off",
                          "--nodns", "none", "--ip", "127.0.0.1", "--add-ca", root,
                          "--jsonfile", out, "-S", f"https://{HOST}:{case.port}"], timeout=600)
    found, other = {}, []
    try:
        with open(out) as fh:
            items = json.load(fh)
    except (OSError, ValueError):
        raise PeerError(f"testssl.sh wrote no JSON: {proc.stdout.strip()[-200:]}") from None
    for item in items:
        ident, finding, severity = item.get("id", ""), item.get("finding", ""), item.get(
            "severity", "")
        if ident.startswith("cert_chain_of_trust") and "passed" not in finding:
            kind = "chain" if "incomplete" in finding or "issuer" in finding else (
                "expired" if "expired" in finding else None)
            (found.setdefault(kind, f"{ident}: {finding}") if kind
             else other.append(f"{ident}: {finding}"))
        elif ident.startswith("cert_expirationStatus") and "expired" in finding:
            found.setdefault("expired", f"{ident}: {finding}")
        elif ident.startswith("cert_trust") and severity not in ("OK", "INFO"):
            found.setdefault("name", f"{ident}: {finding}")
        elif ident.startswith("OCSP_stapling") and "not offered" in finding:
            found.setdefault("stapling-none", f"{ident}: {finding}")
        elif ident.startswith("OCSP_stapling") and finding.startswith("offered"):
            found.setdefault("stapled", f"{ident}: {finding}")
        elif ident.startswith(("cert_", "intermediate_cert")) and severity in (
                "CRITICAL", "HIGH", "MEDIUM"):
            other.append(f"{ident}: {finding}")
    return seconds, found, other


def run_sslyze(case: Case, root: str, python: str):
    out = os.path.join(case.folder, "sslyze.json")
    seconds, proc = _run([python, "-m", "sslyze", "--certinfo", "--certinfo_ca_file", root,
                          "--quiet", "--json_out", out, f"{HOST}:{case.port}{{127.0.0.1}}"])
    found, other = {}, []
    try:
        with open(out) as fh:
            scan = json.load(fh)["server_scan_results"][0]
        deployments = scan["scan_result"]["certificate_info"]["result"][
            "certificate_deployments"]
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        raise PeerError(f"sslyze gave no certificate result: {proc.stdout.strip()[-200:]}") \
            from None
    for dep in deployments:
        for result in dep.get("path_validation_results", []):
            if "Supplied CA file" not in (result.get("trust_store") or {}).get("name", ""):
                continue
            if result.get("verified_certificate_chain") is None:
                msg = (result.get("validation_error") or "not trusted").replace(
                    "validation failed: ", "").split(" (encountered")[0]
                kind = ("expired" if "expired" in msg or "not valid at" in msg
                        else "name" if "match" in msg else "chain")
                found.setdefault(kind, f"path validation: {_short(msg)}")
        if dep.get("leaf_certificate_subject_matches_hostname") is False:
            found.setdefault("name", "leaf_certificate_subject_matches_hostname: false")
        if dep.get("received_chain_has_valid_order") is False:
            found.setdefault("order", "received_chain_has_valid_order: false")
        if dep.get("ocsp_response") is None:
            found.setdefault("stapling-none", "no ocsp_response")
        else:
            found.setdefault("stapled", "ocsp_response")
    return seconds, found, other


INFO_KINDS = {"stapling-none", "stapled"}  # what was (not) stapled: facts, not findings


def prime_staple(case: Case) -> None:
    """nginx fetches its OCSP staple after the first handshake: ask until it is served (10 s
    at most), so the live tools see what clients see once the server has warmed up."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        _s, proc = _run([OPENSSL, "s_client", "-connect", f"127.0.0.1:{case.port}",
                         "-servername", HOST, "-status"], timeout=30)
        if "OCSP Response Status: successful" in proc.stdout:
            return
        time.sleep(0.3)


# -- the table ----------------------------------------------------------------------------------

def cell(case: Case, result, common: frozenset = frozenset(), live: bool = False) -> str:
    """The table cell; `common`: what the tool reports on every tree (shown once, below)."""
    if isinstance(result, str):
        return result
    _seconds, found, other = result
    other = [o for o in dict.fromkeys(other) if o not in common]
    if case.kind is None:
        alarms = [v for k, v in found.items() if k not in INFO_KINDS] + other
        info = f" (info: {found['stapling-none']})" if "stapling-none" in found else ""
        return "clean" + info if not alarms else "reports: " + "; ".join(alarms)
    if case.kind in found:
        return f"yes ({found[case.kind]})"
    if case.kind == "stapling":
        if "stapling-none" in found:
            return f"partly: {found['stapling-none']}, cause not visible"
        if live and "stapled" in found and not other:
            return "no (staple served)"
    wrong = [v for k, v in found.items() if k not in INFO_KINDS] + other
    return "no" + (f" (reports: {'; '.join(wrong)})" if wrong else "")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gixy", default="/tmp/gixy-venv/bin/gixy",
                        help="gixy-ng's executable ('' to skip)")
    parser.add_argument("--testssl", default=shutil.which("testssl") or "",
                        help="testssl.sh's executable ('' to skip)")
    parser.add_argument("--sslyze", default="/tmp/sslyze-venv/bin/python",
                        help="the Python of a venv with sslyze installed ('' to skip)")
    parser.add_argument("--cases", default="", help="comma-separated case names (default all)")
    parser.add_argument("--system-python", action="store_true",
                        help="run certlint on this interpreter itself, not in a venv over it")
    parser.add_argument("--keep", action="store_true", help="keep the generated trees")
    args = parser.parse_args()

    python, pythonpath = user_python(system=args.system_python)
    env = dict(os.environ, PYTHONPATH=pythonpath)
    env.pop("CI", None)
    tools: list[tuple[str, object]] = [("certlint check", "config"), ("nginx -t", "config")]
    notes = []
    for label, path, kind in (("gixy-ng", args.gixy, "config"),
                              ("certlint probe", sys.executable, "live"),
                              ("openssl s_client", OPENSSL, "live"),
                              ("testssl.sh -S", args.testssl, "live"),
                              ("sslyze --certinfo", args.sslyze, "live")):
        if path and os.path.exists(path):
            tools.append((label, kind))
        else:
            notes.append(f"{label}: not installed, skipped")
    if not os.path.exists(NGINX):
        print("peers bench: nginx is not installed", file=sys.stderr)
        return 1

    base = tempfile.mkdtemp(prefix="peers-bench-")
    env["CERTLINT_CACHE_DIR"] = os.path.join(base, "cache")
    pki = Pki()
    ocsp_port = free_port()
    responder = OcspServer(pki, ocsp_port)
    root = os.path.join(base, "root.pem")
    _write(base, "root.pem", _pem(pki.root))
    results: dict[tuple[str, str], object] = {}
    try:
        cases = build_cases(base, pki, ocsp_port,
                            [c for c in args.cases.split(",") if c] or None)
        for case in cases:
            results[case.name, "certlint check"] = run_certlint(case, root, python, env)
            results[case.name, "nginx -t"] = run_nginx_t(case)
            if any(t == "gixy-ng" for t, _ in tools):
                results[case.name, "gixy-ng"] = peer(run_gixy, case, args.gixy)
            live = [t for t, kind in tools if kind == "live"]
            if not live:
                continue
            nginx, refused = start_nginx(case)
            if nginx is None:
                notes.append(f"{case.name}: the live nginx refuses to start: {_short(refused)}")
                for t in live:
                    results[case.name, t] = "n/a (nginx refuses to start)"
                continue
            try:
                if case.kind == "stapling":
                    prime_staple(case)
                for t in live:
                    if t == "certlint probe":
                        results[case.name, t] = run_certlint_probe(case, root, python, env)
                    elif t == "openssl s_client":
                        results[case.name, t] = run_openssl(case, root)
                    elif t == "testssl.sh -S":
                        results[case.name, t] = peer(run_testssl, case, root, args.testssl)
                    else:
                        results[case.name, t] = peer(run_sslyze, case, root, args.sslyze)
            finally:
                stop_nginx(nginx)
    except RuntimeError as exc:
        print(f"peers bench: {exc}", file=sys.stderr)
        return 1
    finally:
        responder.stop()
        if args.keep:
            print(f"trees kept in {base}", file=sys.stderr)
        else:
            shutil.rmtree(base, ignore_errors=True)

    names = [t for t, _ in tools]
    common = {}
    for t in names:
        runs = [r for (_c, tool), r in results.items() if tool == t and not isinstance(r, str)]
        common[t] = frozenset.intersection(*(frozenset(r[2]) for r in runs)) \
            if len(runs) > 1 else frozenset()
        if common[t]:
            notes.insert(0, f"{t} reports on every tree, the correct one included (not counted "
                         f"above): {', '.join(sorted(common[t]))}")
    print("| case | planted | " + " | ".join(names) + " |")
    print("|---|---|" + "---|" * len(names))
    for case in cases:
        cells = [cell(case, results.get((case.name, t), "n/a"), common[t],
                      dict(tools)[t] == "live") for t in names]
        print(f"| {case.name} | {case.what} | " + " | ".join(cells) + " |")
    caught, times = [], []
    for t in names:
        runs = [r for (c, tool), r in results.items() if tool == t and not isinstance(r, str)]
        hits = sum(1 for case in cases if case.kind and not isinstance(
            results.get((case.name, t)), str) and cell(case, results[case.name, t]).startswith(
            "yes"))
        planted = sum(1 for case in cases if case.kind)
        caught.append(f"{hits} of {planted}")
        times.append(f"{sum(r[0] for r in runs) / len(runs):.2f}" if runs else "n/a")
    print("| **caught** | | " + " | ".join(caught) + " |")
    print("| **seconds per case** (mean) | | " + " | ".join(times) + " |")
    for note in notes:
        print(f"\n{note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
