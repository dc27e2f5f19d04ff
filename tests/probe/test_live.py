"""certlint probe against real servers on loopback: nginx and Apache serve each case, certlint
judges what they really send (over a real handshake), and `openssl s_client` confirms it.

One nginx serves every chain case by SNI name on one port; `--connect 127.0.0.1:PORT` sends the
TCP connection there while SNI and the name check use the target's name. AIA URLs point at a
loopback HTTP server (`--aia-private`, since CI refuses private hosts by default).
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.support import servers
from tests.support.apache import ApacheServer, modules
from tests.support.ca_http import CaHttp
from tests.support.paths import REPO
from tests.support.pki import CA, DAY, NOW, cert_der, cert_pem, key_pem, write

ROOT = REPO


def run_certlint(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "src"))
    return subprocess.run(["python", "-m", "certlint", *args], capture_output=True, text=True,
                          env=env, timeout=120, cwd=ROOT, stdin=subprocess.DEVNULL)


def probe(*args: str) -> tuple[int, list[dict], str]:
    proc = run_certlint("probe", "--format", "json", "--aia-private", *args)
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    return proc.returncode, json.loads(proc.stdout)["findings"], proc.stderr


def rules(found: list[dict]) -> list[str]:
    return sorted(f["rule"] for f in found)


def free_port6() -> int | None:
    """A free port on the IPv6 loopback, or None when the machine has no ::1."""
    import socket

    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
            return sock.getsockname()[1]
    except OSError:
        return None


class Fleet:
    """One nginx on 127.0.0.1:port serving a server block per case (by SNI name)."""

    def __init__(self, folder: str, port: int, ca_http: CaHttp):
        self.dir, self.port, self.ca_http = folder, port, ca_http
        self.root = CA("Probe Test Root")
        self.inter = self.root.intermediate("Probe Test Intermediate")
        self.inter_url = ca_http.serve("/inter.crt", cert_der(self.inter.cert))
        self.root_file = write(f"{folder}/root.pem", self.root.pem)
        self.blocks: list[str] = []

    def leaf(self, name: str, **kwargs):
        return self.inter.leaf(name, ca_issuers=[self.inter_url], **kwargs)

    def add(self, name: str, pairs: list[tuple[bytes, object]], extra: str = "",
            listen: str | None = None) -> str:
        lines = []
        for n, (chain, key) in enumerate(pairs):
            cert = write(f"{self.dir}/{name}.{n}.pem", chain)
            keyfile = write(f"{self.dir}/{name}.{n}.key", key_pem(key), 0o600)
            lines.append(f"        ssl_certificate {cert};\n        ssl_certificate_key {keyfile};")
        self.blocks.append(f"""    server {{
        listen {listen or f"127.0.0.1:{self.port}"} ssl;
        server_name {name};
{chr(10).join(lines)}
{extra}
    }}""")
        return name

    def conf(self) -> str:
        return write(f"{self.dir}/nginx.conf",
                     (f"error_log {self.dir}/error.log warn;\n"
                      + servers.nginx_conf("\n".join(self.blocks), self.dir)).encode())

    def probe(self, name: str, *args: str, trust: bool = True):
        extra = ["--ca-bundle", self.root_file] if trust else []
        return probe(f"{name}:{self.port}", "--connect", f"127.0.0.1:{self.port}", *extra,
                     *args)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    servers.require("nginx")
    folder = str(tmp_path_factory.mktemp("probe-fleet"))
    with CaHttp() as ca_http:
        f = Fleet(folder, servers.free_port(), ca_http)
        root, inter = f.root, f.inter
        leaf = f.leaf("leafonly.test")
        f.add("leafonly.test", [(leaf.pem, leaf.key)])
        upper = root.intermediate("Probe Upper CA")
        lower = upper.intermediate("Probe Lower CA")
        low_leaf = lower.leaf("swapped.test")
        f.add("swapped.test", [(cert_pem(low_leaf.cert, upper.cert, lower.cert), low_leaf.key)])
        good = f.leaf("withroot.test")
        f.add("withroot.test", [(cert_pem(good.cert, inter.cert, root.cert), good.key)])
        old = f.leaf("expired.test", not_before=NOW - 60 * DAY, not_after=NOW - 2 * DAY)
        f.add("expired.test", [(cert_pem(old.cert, inter.cert), old.key)])
        other = f.leaf("other.test")
        f.add("mismatch.test", [(cert_pem(other.cert, inter.cert), other.key)])
        unrelated = CA("Some Unrelated CA")
        extra = f.leaf("unrelated.test")
        f.add("unrelated.test", [(cert_pem(extra.cert, inter.cert, unrelated.cert), extra.key)])
        staple_me = f.leaf("muststaple.test", must_staple=True,
                           ocsp=[f"http://127.0.0.1:{servers.free_port()}/"])
        f.add("muststaple.test", [(cert_pem(staple_me.cert, inter.cert), staple_me.key)])
        ec_leaf = f.leaf("dual.test")
        rsa_leaf = f.leaf("dual.test", key_kind="rsa")
        f.add("dual.test", [(cert_pem(ec_leaf.cert, inter.cert), ec_leaf.key),
                            (rsa_leaf.pem, rsa_leaf.key)])
        quiet = f.leaf("nostaple.test", ocsp=[f"http://127.0.0.1:{servers.free_port()}/"])
        f.add("nostaple.test", [(cert_pem(quiet.cert, inter.cert), quiet.key)])
        fine = f.leaf("correct.test")
        f.add("correct.test", [(cert_pem(fine.cert, inter.cert), fine.key)])
        # a private CA: the server sends leaf + intermediate; the intermediate's AIA serves a
        # self-signed root that is in no trust store
        private = CA("Example Corp Private Root")
        private_inter = private.intermediate(
            "Example Corp Issuing CA",
            ca_issuers=[ca_http.serve("/private-root.crt", cert_der(private.cert))])
        corp = private_inter.leaf("corp.test")
        f.add("corp.test", [(cert_pem(corp.cert, private_inter.cert), corp.key)])
        bare_private = CA("Example Corp Offline Root").intermediate("Example Corp Offline CA")
        corp2 = bare_private.leaf("corp2.test")
        f.add("corp2.test", [(cert_pem(corp2.cert, bare_private.cert), corp2.key)])
        f.port6 = free_port6()
        if f.port6 is not None:
            v6 = f.inter.leaf("v6.test", ips=["::1"], ca_issuers=[f.inter_url])
            f.add("v6.test", [(cert_pem(v6.cert, inter.cert), v6.key)],
                  listen=f"[::1]:{f.port6}")
        conf = f.conf()
        f.nginx = servers.NginxServer(conf, port=f.port).start()
        try:
            yield f
        finally:
            f.nginx.stop()


def test_leaf_only_nginx_site(fleet):
    code, found, _ = fleet.probe("leafonly.test")
    assert code == 1
    assert rules(found) == ["chain-incomplete"]
    f = found[0]
    assert f["site"] == f"leafonly.test:{fleet.port}" and f["line"] is None
    assert f["path"] == f"leafonly.test:{fleet.port}"
    assert "Probe Test Intermediate" in f["message"] and "--bundle-out" in f["message"]
    # the real client agrees: verify error 20
    told = servers.s_client(fleet.port, "leafonly.test", fleet.root_file)
    assert not told.ok and "unable to get local issuer certificate" in told.output


def test_swapped_intermediates(fleet):
    code, found, _ = fleet.probe("swapped.test")
    assert code == 0  # a warning: below --fail-on error
    assert rules(found) == ["chain-wrong-order"]
    assert found[0]["severity"] == "warning"


def test_root_included(fleet):
    _code, found, _ = fleet.probe("withroot.test")
    assert rules(found) == ["chain-contains-root"]


def test_expired_leaf(fleet):
    code, found, _ = fleet.probe("expired.test")
    assert code == 1 and rules(found) == ["cert-expired"]
    assert "certificate has expired" in servers.s_client(
        fleet.port, "expired.test", fleet.root_file).output


def test_name_not_covered(fleet):
    code, found, _ = fleet.probe("mismatch.test")
    assert code == 1 and rules(found) == ["hostname-mismatch"]
    assert "mismatch.test not covered" in found[0]["message"]


def test_unrelated_extra_certificate(fleet):
    _code, found, _ = fleet.probe("unrelated.test")
    assert rules(found) == ["chain-unrelated-cert"]
    assert "Some Unrelated CA" in found[0]["message"]


def test_must_staple_leaf_without_stapling(fleet):
    # --offline: its OCSP URL leads nowhere (ocsp-responder-unreachable, tested elsewhere)
    code, found, _ = fleet.probe("muststaple.test", "--offline")
    assert code == 1 and rules(found) == ["must-staple-without-stapling"]
    assert "no OCSP staple" in found[0]["message"]


def test_dual_certificate_site_judges_each_chain(fleet):
    code, found, _ = fleet.probe("dual.test")
    assert code == 1
    assert [(f["rule"], f["site"]) for f in found] == [
        ("chain-incomplete", f"dual.test:{fleet.port} (RSA)")]
    # the real client sees the same two chains
    rsa = servers.s_client(fleet.port, "dual.test", fleet.root_file,
                           extra=["-tls1_2", "-cipher", "aRSA"])
    ecdsa = servers.s_client(fleet.port, "dual.test", fleet.root_file)
    assert not rsa.ok and ecdsa.ok


def test_ocsp_url_and_no_staple_is_staple_missing_info(fleet):
    code, found, _ = fleet.probe("nostaple.test", "--offline")
    assert code == 0 and rules(found) == ["staple-missing"]
    assert found[0]["severity"] == "info"
    # a certificate without an OCSP URL gets no staple finding at all (correct.test below)


def test_ipv6_target_by_address(fleet):
    """`[::1]:PORT`: no SNI for an address, the name check against the IP SAN."""
    if fleet.port6 is None:
        pytest.skip("no IPv6 loopback on this machine")
    code, found, _ = probe(f"[::1]:{fleet.port6}", "--ca-bundle", fleet.root_file)
    assert code == 0 and found == [], found
    code, found, _ = probe(f"https://[::1]:{fleet.port6}/health", "--ca-bundle",
                           fleet.root_file)
    assert code == 0 and found == []


def test_fully_correct_site(fleet):
    result = run_certlint("probe", f"correct.test:{fleet.port}", "--connect",
                          f"127.0.0.1:{fleet.port}", "--ca-bundle", fleet.root_file)
    assert result.returncode == 0, result.stdout
    assert "All good: 1 TLS site checked" in result.stdout


def test_private_root_behind_aia_is_untrusted_root_not_incomplete(fleet):
    code, found, _ = fleet.probe("corp.test", trust=False)
    assert code == 1
    assert rules(found) == ["chain-untrusted-root"]
    assert "Example Corp Private Root" in found[0]["message"]
    assert "private CA" in found[0]["message"]


def test_private_chain_without_aia_says_intermediate_or_private_root(fleet):
    code, found, _ = fleet.probe("corp2.test", trust=False)
    assert code == 1 and rules(found) == ["chain-incomplete"]
    message = found[0]["message"]
    assert "names no AIA URL" in message and "--ca-bundle" in message
    assert found[0]["fixable"] is False


def test_many_targets_one_unreachable(fleet, tmp_path):
    """A list with a dead port: endpoint-unreachable for it, the others still judged."""
    dead = servers.free_port()
    listing = write(tmp_path / "targets.txt", (
        "# our endpoints\n"
        f"127.0.0.1:{fleet.port}   # by address: the default server\n"
        f"127.0.0.1:{dead}\n").encode())
    code, found, _ = probe("--targets-file", listing, "--ca-bundle", fleet.root_file,
                           "--concurrency", "4")
    assert code == 1
    dead_ones = [f for f in found if f["rule"] == "endpoint-unreachable"]
    assert [f["site"] for f in dead_ones] == [f"127.0.0.1:{dead}"]
    assert "Connection refused" in dead_ones[0]["message"]
    assert any(f["site"] == f"127.0.0.1:{fleet.port}" for f in found)


def test_transcript_of_the_leaf_only_site(fleet, tmp_path):
    openssl = servers.require("openssl")
    made = subprocess.run([openssl, "s_client", "-connect", f"127.0.0.1:{fleet.port}",
                           "-servername", "leafonly.test", "-showcerts", "-status"],
                          input="", capture_output=True, text=True, timeout=20)
    transcript = write(tmp_path / "ticket-4711.txt", (made.stdout + made.stderr).encode())
    code, found, _ = probe("--showcerts-file", transcript, "--ca-bundle", fleet.root_file,
                           "leafonly.test")
    assert code == 1 and rules(found) == ["chain-incomplete"]
    assert found[0]["path"] == transcript and found[0]["site"] == "leafonly.test:443"


def test_bundle_out_fullchain_deployed_makes_the_site_verify(fleet, tmp_path):
    out = tmp_path / "deploy"
    code, found, err = fleet.probe("leafonly.test", "--bundle-out", str(out))
    assert code == 1 and rules(found) == ["chain-incomplete"]
    full = out / "leafonly.test.fullchain.pem"
    assert sorted(os.listdir(out)) == ["leafonly.test.fullchain.pem",
                                       "leafonly.test.intermediate-1.pem"]
    assert str(full) in err
    assert full.read_bytes().count(b"BEGIN CERTIFICATE") == 2
    assert (out / "leafonly.test.intermediate-1.pem").read_bytes() == fleet.inter.pem
    # deploy: the site's certificate file becomes the fullchain; reload nginx
    served = f"{fleet.dir}/leafonly.test.0.pem"
    before = open(served, "rb").read()
    try:
        write(served, full.read_bytes())
        fleet.nginx.reload()
        assert servers.s_client(fleet.port, "leafonly.test", fleet.root_file).ok
        code, found, _ = fleet.probe("leafonly.test")
        assert code == 0 and found == []
    finally:
        write(served, before)
        fleet.nginx.reload()


def test_leaf_only_apache_site(tmp_path):
    root = CA("Probe Apache Root")
    inter = root.intermediate("Probe Apache Intermediate")
    leaf = inter.leaf("example.test")
    cert = write(tmp_path / "leaf.pem", leaf.pem)
    key = write(tmp_path / "leaf.key", key_pem(leaf.key), 0o600)
    rootfile = write(tmp_path / "root.pem", root.pem)
    conf = tmp_path / "apache2.conf"
    conf.write_text(modules("mpm_event", "authz_core", "ssl") + "ServerName localhost\n"
                    "Listen 443\n<VirtualHost *:443>\n    ServerName example.test\n"
                    f"    SSLEngine on\n    SSLCertificateFile {cert}\n"
                    f"    SSLCertificateKeyFile {key}\n</VirtualHost>\n")
    with ApacheServer(str(conf), str(tmp_path / "state")) as server:
        port = server.port(443)
        code, found, _ = probe(f"example.test:{port}", "--connect", f"127.0.0.1:{port}",
                               "--ca-bundle", rootfile, "--offline")
        told = servers.s_client(port, "example.test", rootfile)
    assert code == 1 and rules(found) == ["chain-incomplete"]
    assert "Probe Apache Intermediate" in found[0]["message"]
    assert not told.ok and "unable to get local issuer certificate" in told.output
