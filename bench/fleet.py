"""Benchmark: certlint next to the servers' own config test on a generated N-site fleet.

    python bench/fleet.py 1000 5000            # nginx and Apache fleets, best of 3 runs each
    python bench/fleet.py 1000 --server nginx --repeat 5 --keep /tmp/fleet

Each site gets its own EC P-256 key and certificate from one private CA (root -> intermediate),
its own config file, and a shared TLS snippet; one site in 50 serves only its leaf (a real
finding), so certlint does the whole job: parse, load every file, build and verify every
chain, check names and dates. The reference times are `nginx -t` and `apache2 -t` on the same
tree. `nginx -t` parses the config and loads every certificate and key; `apache2 -t` only
checks syntax and that files exist (mod_ssl loads certificates at start-up), so for Apache the
reference is a real start, `apache2 -X` until its port accepts, with `apache2 -t` shown beside.
certlint is timed as users run it (a fresh `python -m certlint check` process, interpreter
start-up included), with `--no-cache`; then once more on the unchanged tree with its result
cache (filled by one untimed run).

certlint runs in a virtual environment, as `pip install certlint` users have it (user_venv.py);
`--system-python` times this interpreter itself.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from user_venv import user_python

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
UTC = dt.timezone.utc
NOW = dt.datetime.now(UTC)
LEAF_ONLY_EVERY = 50
APACHE_MODULES = "/usr/lib/apache2/modules"


# -- PKI --------------------------------------------------------------------------------------

def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "certlint bench")])


def _ca(cn: str, key, issuer_name: x509.Name, issuer_key) -> x509.Certificate:
    return (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(issuer_name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(NOW - dt.timedelta(days=30))
            .not_valid_after(NOW + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                         False), critical=True)
            .sign(issuer_key, hashes.SHA256()))


def _pem(*certs: x509.Certificate) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def make_pki(out: str, n: int) -> list[str]:
    """Root, intermediate and n site certificates with their keys; returns the site names."""
    os.makedirs(os.path.join(out, "certs"), exist_ok=True)
    os.makedirs(os.path.join(out, "keys"), exist_ok=True)
    root_key = ec.generate_private_key(ec.SECP256R1())
    root = _ca("Bench Root CA", root_key, _name("Bench Root CA"), root_key)
    inter_key = ec.generate_private_key(ec.SECP256R1())
    inter = _ca("Bench Intermediate CA", inter_key, root.subject, root_key)
    with open(os.path.join(out, "root.pem"), "wb") as fh:
        fh.write(_pem(root))
    names = []
    for i in range(n):
        name = f"site{i:05d}.bench.test"
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (x509.CertificateBuilder().subject_name(x509.Name(
                [x509.NameAttribute(NameOID.COMMON_NAME, name)]))
                .issuer_name(inter.subject).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(NOW - dt.timedelta(days=10))
                .not_valid_after(NOW + dt.timedelta(days=80))
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.SubjectAlternativeName(
                    [x509.DNSName(name), x509.DNSName("www." + name)]), critical=False)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                               critical=False)
                .sign(inter_key, hashes.SHA256()))
        served = _pem(cert) if i % LEAF_ONLY_EVERY == 1 else _pem(cert, inter)
        with open(os.path.join(out, "certs", f"{name}.pem"), "wb") as fh:
            fh.write(served)
        with open(os.path.join(out, "keys", f"{name}.key"), "wb") as fh:
            fh.write(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
        names.append(name)
    return names


# -- config trees -----------------------------------------------------------------------------

def make_nginx(out: str, pki: str, names: list[str]) -> str:
    """nginx.conf -> conf.d/*.conf (one file per site) -> snippets/tls.conf (shared)."""
    os.makedirs(os.path.join(out, "conf.d"), exist_ok=True)
    os.makedirs(os.path.join(out, "snippets"), exist_ok=True)
    with open(os.path.join(out, "snippets", "tls.conf"), "w") as fh:
        fh.write("ssl_protocols TLSv1.2 TLSv1.3;\nssl_prefer_server_ciphers off;\n"
                 "ssl_session_timeout 1d;\nssl_session_tickets off;\n")
    for name in names:
        with open(os.path.join(out, "conf.d", f"{name}.conf"), "w") as fh:
            fh.write(f"""server {{
    listen 443 ssl;
    listen [::]:443 ssl;
    server_name {name} www.{name};
    ssl_certificate {pki}/certs/{name}.pem;
    ssl_certificate_key {pki}/keys/{name}.key;
    include snippets/tls.conf;
    root /srv/www/{name};
    location / {{
        try_files $uri $uri/ =404;
    }}
}}
""")
    conf = os.path.join(out, "nginx.conf")
    with open(conf, "w") as fh:
        fh.write(f"""worker_processes 1;
events {{ worker_connections 64; }}
http {{
    server_names_hash_max_size 65536;
    server_names_hash_bucket_size 128;
    access_log off;
    client_body_temp_path {out}/tmp_body;
    proxy_temp_path {out}/tmp_proxy;
    fastcgi_temp_path {out}/tmp_fastcgi;
    uwsgi_temp_path {out}/tmp_uwsgi;
    scgi_temp_path {out}/tmp_scgi;
    include conf.d/*.conf;
}}
""")
    return conf


def make_apache(out: str, pki: str, names: list[str], port: int) -> str:
    """apache2.conf -> sites/*.conf (one <VirtualHost> per file) -> snippets/tls.conf."""
    os.makedirs(os.path.join(out, "sites"), exist_ok=True)
    os.makedirs(os.path.join(out, "www"), exist_ok=True)
    os.makedirs(os.path.join(out, "snippets"), exist_ok=True)
    with open(os.path.join(out, "snippets", "tls.conf"), "w") as fh:
        fh.write("SSLEngine on\nSSLProtocol -all +TLSv1.2 +TLSv1.3\n")
    for name in names:
        with open(os.path.join(out, "sites", f"{name}.conf"), "w") as fh:
            fh.write(f"""<VirtualHost *:{port}>
    ServerName {name}
    ServerAlias www.{name}
    DocumentRoot {out}/www
    Include snippets/tls.conf
    SSLCertificateFile {pki}/certs/{name}.pem
    SSLCertificateKeyFile {pki}/keys/{name}.key
</VirtualHost>
""")
    conf = os.path.join(out, "apache2.conf")
    modules = "".join(f"LoadModule {m}_module {APACHE_MODULES}/mod_{m}.so\n"
                      for m in ("mpm_event", "authz_core", "socache_shmcb", "ssl"))
    with open(conf, "w") as fh:
        fh.write(f"""ServerRoot {out}
ServerName bench.test
PidFile {out}/httpd.pid
ErrorLog {out}/error.log
Mutex file:{out}
DefaultRuntimeDir {out}
{modules}Listen 127.0.0.1:{port}
SSLSessionCache shmcb:{out}/ssl_scache(512000)
IncludeOptional sites/*.conf
""")
    return conf


# -- timing -----------------------------------------------------------------------------------

def best_of(cmd: list[str], repeat: int, env: dict | None = None,
            ok_codes=(0,)) -> tuple[float, str]:
    times, output = [], ""
    for _ in range(repeat):
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env,
                              stdin=subprocess.DEVNULL, start_new_session=True)
        times.append(time.perf_counter() - start)
        output = proc.stdout + proc.stderr
        if proc.returncode not in ok_codes:
            return float("nan"), f"exit {proc.returncode}: {output[-500:]}"
    return min(times), output


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _handshake(port: int) -> bool:
    """A TLS handshake completes: the port is open *and* the certificates are loaded (Apache
    binds its listeners before mod_ssl reads them)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as raw:
            with ctx.wrap_socket(raw, server_hostname="site00000.bench.test"):
                return True
    except OSError:
        return False


def best_start(cmd: list[str], port: int, repeat: int, limit: float = 300.0
               ) -> tuple[float, str]:
    """Seconds from launch until the server completes a TLS handshake on `port`."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            while time.perf_counter() - start < limit:
                if proc.poll() is not None:
                    return float("nan"), f"exited with {proc.returncode}"
                if _handshake(port):
                    break
                time.sleep(0.01)
            times.append(time.perf_counter() - start)
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
    return min(times), ""


PYTHON, PYTHONPATH = sys.executable, os.path.join(REPO, "src")  # main() sets both


def certlint_cmd(conf: str, server: str, root_pem: str, cached: bool = False) -> list[str]:
    """A whole check; `--no-cache` unless the result cache is what is timed."""
    return [PYTHON, "-m", "certlint", "check", "--server", server, "--format", "json",
            "--ca-bundle", root_pem, conf] + ([] if cached else ["--no-cache"])


def certlint_env(cache_dir: str | None = None) -> dict:
    env = dict(os.environ, PYTHONPATH=PYTHONPATH)
    env.pop("CERTLINT_NO_CACHE", None)
    if cache_dir:
        env["CERTLINT_CACHE_DIR"] = cache_dir
    return env


def has_apache_parser() -> bool:
    proc = subprocess.run([PYTHON, "-c", "import certlint.parsers.apache"],
                          env=certlint_env(), capture_output=True)
    return proc.returncode == 0


def summary_of(output: str) -> str:
    import json

    try:
        payload = json.loads(output)
    except ValueError:
        return "?"
    s = payload["summary"]
    return f"{s['error']}E/{s['warning']}W"


def run(n: int, servers: list[str], repeat: int, base: str) -> list[dict]:
    rows = []
    pki = os.path.join(base, "pki")
    start = time.perf_counter()
    names = make_pki(pki, n)
    gen = time.perf_counter() - start
    print(f"# {n} sites: PKI generated in {gen:.1f}s under {base}", file=sys.stderr)
    root_pem = os.path.join(pki, "root.pem")
    for server in servers:
        row = {"sites": n, "server": server}
        if server == "nginx":
            prefix = os.path.join(base, "nginx")
            conf = make_nginx(prefix, pki, names)
            nginx = shutil.which("nginx") or "/usr/sbin/nginx"
            row["server_t"], out = best_of(
                [nginx, "-t", "-q", "-p", prefix, "-c", conf, "-e", f"{prefix}/error.log",
                 "-g", f"pid {prefix}/nginx.pid;"], repeat)
        else:
            prefix = os.path.join(base, "apache")
            port = free_port()
            conf = make_apache(prefix, pki, names, port)
            apache = shutil.which("apache2") or "/usr/sbin/apache2"
            row["syntax_t"], out = best_of([apache, "-t", "-d", prefix, "-f", conf], repeat)
            # `apache2 -t` does not load certificates (mod_ssl does that in post-config), so
            # the fair reference is a real start: until its port accepts connections
            row["server_t"], out = best_start([apache, "-X", "-d", prefix, "-f", conf], port,
                                              repeat)
        if row["server_t"] != row["server_t"]:
            print(f"# {server} -t failed: {out}", file=sys.stderr)
        if server == "apache" and not has_apache_parser():
            row["certlint_t"], row["found"] = float("nan"), "no apache parser yet"
        else:
            row["certlint_t"], out = best_of(certlint_cmd(conf, server, root_pem), repeat,
                                             env=certlint_env(), ok_codes=(0, 1))
            row["found"] = summary_of(out) if row["certlint_t"] == row["certlint_t"] else out
            # the same check again on the unchanged tree: the first run fills the cache
            env = certlint_env(os.path.join(base, f"cache-{server}"))
            cmd = certlint_cmd(conf, server, root_pem, cached=True)
            best_of(cmd, 1, env=env, ok_codes=(0, 1))
            row["again_t"], again = best_of(cmd, repeat, env=env, ok_codes=(0, 1))
            if summary_of(again) != row["found"]:
                row["again_t"] = float("nan")
        rows.append(row)
    return rows


def table(rows: list[dict]) -> str:
    lines = ["| sites | reference | reference (s) | certlint check (s) | ratio | certlint found "
             "| again, cached (s) | ratio |",
             "|---:|---|---:|---:|---:|---|---:|---:|"]
    for r in rows:
        ratio = r["certlint_t"] / r["server_t"] if r["server_t"] else float("nan")
        if r["server"] == "nginx":
            tool = "nginx -t"
        else:
            tool = f"apache2 start (apache2 -t: {r['syntax_t']:.2f}s, loads no certificates)"
        again = r.get("again_t", float("nan"))
        lines.append(f"| {r['sites']} | {tool} | {r['server_t']:.2f} | {r['certlint_t']:.2f} | "
                     f"{ratio:.2f} | {r['found']} | {again:.2f} | "
                     f"{again / r['server_t'] if r['server_t'] else float('nan'):.2f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("sites", nargs="*", type=int, default=[1000])
    ap.add_argument("--server", choices=("nginx", "apache", "both"), default="both")
    ap.add_argument("--repeat", type=int, default=3, help="best of N runs (default 3)")
    ap.add_argument("--keep", metavar="DIR", help="generate under DIR and keep it")
    ap.add_argument("--system-python", action="store_true",
                    help="time certlint on this interpreter itself, not in a venv over it")
    args = ap.parse_args(argv)
    global PYTHON, PYTHONPATH
    PYTHON, PYTHONPATH = user_python(system=args.system_python)
    servers = ["nginx", "apache"] if args.server == "both" else [args.server]
    rows = []
    for n in args.sites:
        base = (os.path.join(args.keep, f"fleet-{n}") if args.keep
                else tempfile.mkdtemp(prefix=f"certlint-fleet-{n}-"))
        try:
            rows.extend(run(n, servers, args.repeat, base))
        finally:
            if not args.keep:
                shutil.rmtree(base, ignore_errors=True)
    print(table(rows))
    cpu = os.cpu_count()
    where = "this interpreter" if args.system_python else "a venv over it"
    print(f"\nPython {sys.version.split()[0]}, {cpu} CPU(s), best of {args.repeat} runs; "
          f"certlint timed as a fresh process in {where} (interpreter start-up included).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
