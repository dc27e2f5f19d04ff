"""Differential test: certlint's verdict against the real servers and clients, on generated PKIs.

Each scenario is a random PKI (1 to 3 intermediates, RSA or EC keys, cross-signed copies, one
flaw or none: an expired or future leaf, an expired intermediate, a leaf or intermediate without
serverAuth, a root with pathlen:0, name constraints the leaf breaks, an RSA-1024 leaf, an
expired cross-sign), served in a random order (correct, intermediates reversed, leaf not first, an
intermediate missing, the root included, an unrelated certificate added) under a random name
(covered, not covered, covered by a wildcard, or by a one-label `*.test` wildcard OpenSSL
ignores). It is served by the real nginx or Apache on 127.0.0.1 and checked with
`openssl s_client` and Python's `ssl`; certlint's three answers (does the server start? does
the chain verify? does the name match?) must be the ones the real programs give. Every
scenario certlint calls fixable is then repaired with `certlint fix --write` and must start and
verify.

Run longer than CI does:

    python -m tests.differential --seed 7 --n 200 [--server nginx|apache|both]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "src"))

from tests.support import servers  # noqa: E402
from tests.support.apache import ApacheServer, modules  # noqa: E402
from tests.support.pki import CA, DAY, NOW, cert_pem, key_pem, name, new_key  # noqa: E402

STATS: Counter = Counter()  # what the real programs did, to show the run exercised each case
ORDERS = ["ok", "ok", "reversed", "leaf-not-first", "missing", "with-root", "unrelated",
          "cross-signed"]
NAMES = ["covered", "covered", "uncovered", "wildcard", "one-label-wildcard",
         "partial-wildcard", "cn-only"]
# what certlint's findings say about the real programs
STARTS_NOT = ("will not start", "refuses to start", "refuse to load")
CLIENT_RULES = {"chain-incomplete", "chain-untrusted-root", "cert-expired", "cert-not-yet-valid",
                "cert-wrong-purpose", "apache-chain-file-missing", "chain-wrong-order",
                "key-mismatch", "weak-key", "weak-signature"}


@dataclass
class Scenario:
    seed: int
    server: str
    order: str
    names: str
    depth: int
    key_kinds: list[str]
    flaw: str = "none"  # one of FLAWS: what is wrong besides order and names
    files: dict[str, bytes] = field(default_factory=dict)
    host: str = "site.example.test"

    def describe(self) -> str:
        return (f"seed={self.seed} {self.server} order={self.order} names={self.names} "
                f"depth={self.depth} keys={'/'.join(self.key_kinds)} flaw={self.flaw}")

    @property
    def fixable_kind(self) -> bool:
        """Problems `fix` can repair alone: order, missing intermediate, root, strays."""
        return self.flaw in ("none", "expired-cross-sign") and self.names not in (
            "uncovered", "one-label-wildcard", "partial-wildcard")


FLAWS = ["none"] * 10 + ["leaf-expired", "inter-expired", "leaf-future", "leaf-eku-client",
                         "inter-eku-client", "root-pathlen0", "inter-name-constraints",
                         "leaf-rsa1024", "expired-cross-sign"]


def _reissue(ca: CA, extensions: list) -> None:
    """Give an intermediate extra extensions (same subject and key, signed again)."""
    b = (x509.CertificateBuilder().subject_name(ca.subject).issuer_name(ca.parent.subject)
         .public_key(ca.key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(ca.cert.not_valid_before_utc)
         .not_valid_after(ca.cert.not_valid_after_utc)
         .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True))
    for ext, critical in extensions:
        b = b.add_extension(ext, critical=critical)
    ca.cert = b.sign(ca.parent.key, hashes.SHA256())


def _leaf(issuer: CA, sans: list[str], kind: str, flaw: str, cn_only: bool = False):
    key = new_key("rsa", 1024) if flaw == "leaf-rsa1024" else new_key(kind)
    start, end = NOW - DAY, NOW + 300 * DAY
    if flaw == "leaf-expired":
        start, end = NOW - 400 * DAY, NOW - 10 * DAY
    elif flaw == "leaf-future":
        start = NOW + 5 * DAY
    usage = (ExtendedKeyUsageOID.CLIENT_AUTH if flaw == "leaf-eku-client"
             else ExtendedKeyUsageOID.SERVER_AUTH)
    cert = (x509.CertificateBuilder().subject_name(name(sans[0], org=None))
            .issuer_name(issuer.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False))
    if not cn_only:
        cert = cert.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in sans]),
                                  critical=False)
    return cert.sign(issuer.key, hashes.SHA256()), key


def make(seed: int, server: str) -> Scenario:
    """One random scenario (its files are built here, in memory). The name cases: SAN covers
    the host, does not, `*.example.test`, `*.test` (no wildcard to OpenSSL), `s*.example.test`
    (a partial wildcard OpenSSL honours), and no SAN at all (OpenSSL falls back to the CN)."""
    rng = random.Random(seed)
    depth = rng.choice([1, 1, 2, 2, 3])
    kinds = [rng.choice(["ec", "ec", "rsa"]) for _ in range(depth + 2)]  # root, inters, leaf
    sc = Scenario(seed, server, rng.choice(ORDERS), rng.choice(NAMES), depth, kinds)
    sc.flaw = rng.choice(FLAWS)
    if sc.flaw == "root-pathlen0" and depth < 2:
        sc.flaw = "none"
    if sc.flaw == "expired-cross-sign":
        sc.order = "cross-signed"
    root = CA(f"Diff Root {seed}", key_kind=kinds[0],
              path_length=0 if sc.flaw == "root-pathlen0" else None)
    chain_cas = [root]
    for i in range(depth):
        expired = sc.flaw == "inter-expired" and i == depth - 1
        chain_cas.append(chain_cas[-1].intermediate(
            f"Diff Intermediate {seed}.{i}", key_kind=kinds[i + 1],
            not_before=NOW - 800 * DAY if expired else None,
            not_after=NOW - 5 * DAY if expired else None))
    if sc.flaw == "inter-eku-client":
        _reissue(chain_cas[-1], [(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]),
                                  False)])
    elif sc.flaw == "inter-name-constraints":
        _reissue(chain_cas[-1], [(x509.NameConstraints([x509.DNSName("elsewhere.test")], None),
                                  True)])
    issuer = chain_cas[-1]
    sans = {"covered": ["site.example.test", "www.site.example.test"],
            "uncovered": ["other.example.test"],
            "wildcard": ["*.example.test"],
            "one-label-wildcard": ["*.test"],
            "partial-wildcard": ["s*.example.test"],
            "cn-only": ["site.example.test"]}[sc.names]
    sc.host = "site.example.test" if sc.names != "one-label-wildcard" else "site.test"
    leaf, leaf_key = _leaf(issuer, sans, kinds[-1], sc.flaw, cn_only=sc.names == "cn-only")
    inters = [ca.cert for ca in reversed(chain_cas[1:])]  # issuer of the leaf first

    served = [leaf] + inters
    if sc.order == "reversed" and len(inters) > 1:
        served = [leaf] + inters[::-1]
    elif sc.order == "leaf-not-first":
        served = inters[:1] + [leaf] + inters[1:]
    elif sc.order == "missing":
        drop = rng.randrange(len(inters))
        served = [leaf] + inters[:drop] + inters[drop + 1:]
    elif sc.order == "with-root":
        served = [leaf] + inters + [root.cert]
    elif sc.order == "unrelated":
        served = [leaf] + inters + [CA(f"Stray Root {seed}").intermediate("Stray").cert]
    elif sc.order == "cross-signed":
        other = CA(f"Other Root {seed}", key_kind=rng.choice(["ec", "rsa"]))
        old = sc.flaw == "expired-cross-sign"
        cross = other.cross_sign(chain_cas[1], not_before=NOW - 900 * DAY if old else None,
                                 not_after=NOW - 30 * DAY if old else None)
        served = [leaf] + inters + [cross]

    sc.files = {"fullchain.pem": cert_pem(*served), "leaf.key": key_pem(leaf_key),
                "root.pem": cert_pem(root.cert)}
    for i, cert in enumerate(inters):
        sc.files[f"intermediates/inter{i}.pem"] = cert_pem(cert)
    return sc


def write_tree(sc: Scenario, folder: str, port: int) -> str:
    for rel, data in sc.files.items():
        path = os.path.join(folder, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as fh:
            fh.write(data)
    os.chmod(os.path.join(folder, "leaf.key"), 0o600)
    cert, key = os.path.join(folder, "fullchain.pem"), os.path.join(folder, "leaf.key")
    if sc.server == "nginx":
        entry = os.path.join(folder, "nginx.conf")
        text = servers.nginx_conf(
            f"server {{\n    listen 127.0.0.1:{port} ssl;\n    server_name {sc.host};\n"
            f"    ssl_certificate {cert};\n    ssl_certificate_key {key};\n}}\n", folder)
    else:
        entry = os.path.join(folder, "apache2.conf")
        text = (modules("mpm_event", "authz_core", "ssl") + "ServerName localhost\n"
                f"Listen 443\n<VirtualHost *:443>\n    ServerName {sc.host}\n"
                f"    SSLEngine on\n    SSLCertificateFile {cert}\n"
                f"    SSLCertificateKeyFile {key}\n</VirtualHost>\n")
    with open(entry, "w") as fh:
        fh.write(text)
    return entry


@dataclass
class Verdict:
    starts: bool
    chain_ok: bool | None  # None: not judged (the server does not start)
    name_ok: bool | None  # None: not judged (the chain already fails)

    def compare(self, other: Verdict) -> list[str]:
        out = []
        if self.starts != other.starts:
            out.append(f"starts: certlint {self.starts}, real {other.starts}")
        elif self.starts:
            if self.chain_ok != other.chain_ok:
                out.append(f"chain verifies: certlint {self.chain_ok}, real {other.chain_ok}")
            elif self.chain_ok and self.name_ok != other.name_ok:
                out.append(f"name matches: certlint {self.name_ok}, real {other.name_ok}")
        return out


def certlint_run(args: list[str]) -> tuple[int, dict | None, str]:
    """certlint's CLI, in-process (as users run it, without an interpreter start per call)."""
    from click.testing import CliRunner

    from certlint.cli import cli

    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    payload = None
    if "--format" in args:
        try:
            payload = json.loads(result.stdout)
        except ValueError:
            payload = None
    return result.exit_code, payload, result.output


def certlint_verdict(entry: str, sc: Scenario, root: str) -> tuple[Verdict, list[dict]]:
    code, payload, out = certlint_run(["check", "--format", "json", "--server", sc.server,
                                       "--ca-bundle", root, entry])
    assert payload is not None and code in (0, 1), out
    findings = payload["findings"]
    errors = [f for f in findings if f["severity"] == "error"]
    starts = not any(w in f["message"] for f in errors for w in STARTS_NOT)
    chain_bad = any(f["rule"] in CLIENT_RULES for f in errors)
    name_bad = any(f["rule"] == "hostname-mismatch" and "only in the Common Name" not in
                   f["message"] for f in errors)
    return Verdict(starts, not chain_bad, not name_bad), findings


def s_client(port: int, host: str, root: str, hostname: bool) -> tuple[bool, str]:
    cmd = ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername", host,
           "-CAfile", root, "-verify_return_error"]
    if hostname:
        cmd += ["-verify_hostname", host]
    proc = subprocess.run(cmd, input="", capture_output=True, text=True, timeout=30)
    out = proc.stdout + proc.stderr
    return proc.returncode == 0 and "Verify return code: 0 (ok)" in out, out


def python_ssl(port: int, host: str, root: str) -> bool:
    context = ssl.create_default_context(cafile=root)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            with context.wrap_socket(sock, server_hostname=host):
                return True
    except (ssl.SSLError, OSError):
        return False


class Serving:
    """The real server on a scenario's config, started (or not) as a context manager."""

    def __init__(self, sc: Scenario, entry: str, port: int, state: str):
        self.sc, self.entry, self.port, self.state = sc, entry, port, state
        self.server = None
        self.started = False
        self.output = ""

    def __enter__(self) -> Serving:
        os.makedirs(self.state, exist_ok=True)
        if self.sc.server == "nginx":
            test = servers.nginx_test(self.entry, state_dir=self.state)
            self.output = test.output
            if test.ok:
                self.server = servers.NginxServer(self.entry, port=self.port).start()
                self.started = True
        else:
            self.server = ApacheServer(self.entry, self.state, ports={443: self.port})
            result = self.server.start()
            self.started, self.output = result.ok, result.output
        return self

    def __exit__(self, *exc) -> None:
        if self.server is not None:
            self.server.stop()


def real_verdict(sc: Scenario, entry: str, root: str, state: str) -> tuple[Verdict, str]:
    port = servers.free_port()
    if sc.server == "nginx":  # the port lives in the config
        with open(entry) as fh:
            text = fh.read()
        import re

        text = re.sub(r"listen 127\.0\.0\.1:\d+", f"listen 127.0.0.1:{port}", text)
        with open(entry, "w") as fh:
            fh.write(text)
    with Serving(sc, entry, port, state) as serving:
        if not serving.started:
            return Verdict(False, None, None), serving.output
        chain_ok, out1 = s_client(port, sc.host, root, hostname=False)
        full_ok, out2 = s_client(port, sc.host, root, hostname=True)
        py_ok = python_ssl(port, sc.host, root)
    # a name is fine when both OpenSSL clients accept it (Python refuses partial wildcards)
    name_ok = full_ok and py_ok
    return Verdict(True, chain_ok, name_ok if chain_ok else None), out1 + out2


def run_scenario(sc: Scenario, work: str) -> list[str]:
    """Disagreements of one scenario (empty: certlint, the server and the clients agree)."""
    folder = os.path.join(work, f"{sc.server}-{sc.seed}")
    os.makedirs(folder)
    entry = write_tree(sc, folder, servers.free_port())
    root = os.path.join(folder, "root.pem")
    ours, findings = certlint_verdict(entry, sc, root)
    real, output = real_verdict(sc, entry, root, os.path.join(folder, "state"))
    STATS["refused to start" if not real.starts else "chain failed" if not real.chain_ok
          else "name failed" if not real.name_ok else "verified"] += 1
    problems = [f"{sc.describe()}: {p}" for p in ours.compare(real)]
    if problems:
        detail = "; ".join(f"{f['rule']}: {f['message'][:160]}" for f in findings)
        problems.append(f"  certlint said: {detail or 'nothing'}\n  real: {output[-400:]}")
        return problems
    if sc.fixable_kind and any(f["fixable"] for f in findings):
        problems += check_fix(sc, folder, entry, root)
    return problems


def check_fix(sc: Scenario, folder: str, entry: str, root: str) -> list[str]:
    """`certlint fix --write`, then the real server must start and the clients verify."""
    code, _payload, out = certlint_run(["fix", "--write", "--offline", "--server", sc.server,
                                        "--ca-bundle", root, "--intermediates",
                                        os.path.join(folder, "intermediates"), entry])
    if code not in (0, 1):
        return [f"{sc.describe()}: fix --write exited {code}: {out[-400:]}"]
    after, findings = certlint_verdict(entry, sc, root)
    # fix exits 1 exactly while errors remain (a wrong name needs a new certificate): then the
    # chain must be repaired and only what fix cannot repair may be left
    errors = [f for f in findings if f["severity"] == "error"]
    if (code == 1) != bool(errors) or any(f["fixable"] for f in errors):
        return [f"{sc.describe()}: fix --write exited {code}, and certlint then reports "
                f"{[f['rule'] for f in findings]}: {out[-400:]}"]
    names = not any(f["rule"] == "hostname-mismatch" for f in findings)
    real, output = real_verdict(sc, entry, root, os.path.join(folder, "state-fixed"))
    if not (real.starts and real.chain_ok and (real.name_ok or not names)):
        return [f"{sc.describe()}: after fix --write the real server/clients fail "
                f"(starts={real.starts}, chain={real.chain_ok}, name={real.name_ok}): "
                f"{output[-400:]}"]
    if not (after.starts and after.chain_ok and (after.name_ok or not names)):
        return [f"{sc.describe()}: after fix --write certlint still reports "
                f"{[f['rule'] for f in findings]}"]
    STATS["fixed and verified"] += 1
    return []


def run(seed: int, n: int, kinds: list[str]) -> tuple[int, list[str]]:
    work = tempfile.mkdtemp(prefix="certlint-diff-")
    problems: list[str] = []
    done = 0
    try:
        for i in range(n):
            sc = make(seed * 1000 + i, kinds[i % len(kinds)])
            problems += run_scenario(sc, work)
            done += 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return done, problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.differential",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--n", type=int, default=40)
    parser.add_argument("--server", choices=["nginx", "apache", "both"], default="both")
    args = parser.parse_args(argv)
    kinds = ["nginx", "apache"] if args.server == "both" else [args.server]
    start = dt.datetime.now()
    done, problems = run(args.seed, args.n, kinds)
    for p in problems:
        print(p)
    took = (dt.datetime.now() - start).total_seconds()
    print(f"{done} scenarios, {len(problems)} disagreement line(s), {took:.0f} s; "
          + ", ".join(f"{k}: {v}" for k, v in sorted(STATS.items())))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
