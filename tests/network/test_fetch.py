"""The bounded fetcher every network read goes through (SECURITY.md promises 7, 8 and 9:
"unbounded network time", "AIA toward internal hosts", "the cache folder"): hostile loopback
servers that drip, redirect to https, answer huge or never answer; a planted symlink in the
cache folder; the CI default.

Every test is bounded in time: the fetcher's own deadline, asserted with a wall clock.
"""

from __future__ import annotations

import os
import socket
import stat
import threading
import time

import pytest

from certlint.pki.fetch import Fetcher, FetchError
from tests.support.ca_http import CaHttp, PublishedCA
from tests.support.pki import cert_der, write


class RawServer:
    """A loopback TCP server that runs `handler(conn)` for every connection."""

    def __init__(self, handler):
        self.handler = handler
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, path="/x") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._run, args=(conn,), daemon=True).start()

    def _run(self, conn):
        try:
            conn.recv(4096)
            self.handler(conn, self.stop)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self):
        self.stop.set()
        self.sock.close()


@pytest.fixture
def raw():
    servers = []

    def make(handler):
        servers.append(RawServer(handler))
        return servers[-1]

    yield make
    for server in servers:
        server.close()


def drip_headers(conn, stop):
    """One header byte every 0.2 s: each read is quick, the whole never ends."""
    for byte in b"HTTP/1.0 200 OK\r\nX-Padding: " + b"a" * 10_000:
        if stop.wait(0.2):
            return
        conn.send(bytes([byte]))


def test_a_server_dripping_header_bytes_is_cut_at_one_deadline(raw):
    server = raw(drip_headers)
    started = time.monotonic()
    with pytest.raises(FetchError, match="no complete answer within 1 s") as err:
        Fetcher(timeout=1).get(server.url())
    assert time.monotonic() - started < 2
    assert err.value.step == "timeout"


def test_a_server_that_accepts_and_never_answers_is_cut(raw):
    server = raw(lambda conn, stop: stop.wait(30))
    started = time.monotonic()
    with pytest.raises(FetchError) as err:
        Fetcher(timeout=0.5).get(server.url())
    assert time.monotonic() - started < 1.5
    assert err.value.step == "timeout"


def test_a_huge_answer_is_refused_by_its_length_and_an_endless_one_by_the_cap(raw):
    def huge_declared(conn, stop):
        conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 1000000000\r\n\r\n")
        stop.wait(5)

    def endless(conn, stop):
        conn.sendall(b"HTTP/1.0 200 OK\r\n\r\n")
        while not stop.is_set():
            conn.sendall(b"x" * 65536)

    declared, stream = raw(huge_declared), raw(endless)
    started = time.monotonic()
    with pytest.raises(FetchError, match="larger than 64 KiB") as one:
        Fetcher(timeout=5).get(declared.url())
    with pytest.raises(FetchError, match="larger than 64 KiB") as two:
        Fetcher(timeout=5).get(stream.url())
    assert time.monotonic() - started < 3
    assert one.value.step == two.value.step == "too-large"


def test_redirects_are_followed_to_http_only():
    with CaHttp() as http:
        target = http.serve("/real.crt", b"the body")
        http.redirect("/moved", target)
        http.redirect("/to-https", f"https://127.0.0.1:{http.port}/real.crt")
        http.redirect("/to-file", "file:///etc/passwd")
        fetcher = Fetcher(timeout=2)
        assert fetcher.get(http.url("/moved")) == b"the body"
        for path in ("/to-https", "/to-file"):
            with pytest.raises(FetchError, match="redirect to .* refused: only http") as err:
                fetcher.get(http.url(path))
            assert err.value.step == "policy"
        assert http.count("/real.crt") == 1


def test_one_request_per_url_even_from_many_threads():
    with CaHttp() as http:
        url = http.serve("/a.crt", b"body")
        http.delays["/a.crt"] = 0.3
        gone = http.url("/gone.crt")
        fetcher = Fetcher(timeout=3)
        results = []

        def ask():
            results.append(fetcher.get(url))
            try:
                fetcher.get(gone)
            except FetchError as exc:
                results.append(exc.step)

        threads = [threading.Thread(target=ask) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        assert http.count("/a.crt") == 1 and http.count("/gone.crt") == 1
    assert results.count(b"body") == 8 and results.count("http-status") == 8


def test_the_run_budget_cuts_a_fetch_and_skips_the_next(raw):
    server = raw(drip_headers)
    fetcher = Fetcher(timeout=10, budget=0.6)
    started = time.monotonic()
    with pytest.raises(FetchError) as first:
        fetcher.get(server.url("/one"))
    with pytest.raises(FetchError, match="network budget of 0.6 s is spent") as second:
        fetcher.get(server.url("/two"))
    assert time.monotonic() - started < 1.5
    assert first.value.step == "timeout" and second.value.step == "budget"
    assert server.connections == 1


@pytest.mark.parametrize("url", ["http://ca.test/inter\r\nX-Injected: 1.crt",
                                 "http://ca.test/\x1b[31mred.crt", "http://ca .test/a.crt",
                                 "http://[::1/a.crt", "http:///nohost.crt"])
def test_a_url_with_control_characters_is_a_bad_url(url):
    with pytest.raises(FetchError, match="bad URL") as err:
        Fetcher(timeout=1).get(url)
    assert err.value.step == "bad-url"
    assert "\r" not in str(err.value) and "\x1b" not in str(err.value)


# -- through the CLI -----------------------------------------------------------------------


@pytest.fixture
def site(tmp_path, monkeypatch):
    monkeypatch.setenv("CERTLINT_CACHE_DIR", str(tmp_path / "aia-cache"))

    def make(ca: PublishedCA, urls: list[str]):
        leaf = ca.leaf("example.test", urls=urls)
        folder = tmp_path / "site"
        write(folder / "certs" / "a.pem", leaf.pem)
        write(folder / "certs" / "a.key", leaf.key_pem, 0o600)
        conf = write(folder / "nginx.conf", b"events {}\nhttp {\n server {\n  listen 443 ssl;\n"
                     b"  server_name example.test;\n  ssl_certificate certs/a.pem;\n"
                     b"  ssl_certificate_key certs/a.key;\n }\n}\n")
        root = write(tmp_path / "root.pem", ca.root.pem)
        return str(conf), str(root), folder

    return make


def test_a_bad_aia_url_is_passed_over_and_the_next_one_completes_the_chain(site, certlint,
                                                                          monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with CaHttp() as http:
        ca = PublishedCA(http)
        conf, root, folder = site(ca, ["http://ca.test/inter\r\n.crt", ca.url])
        result = certlint("fix", "--write", "--ca-bundle", root, conf)
    assert result.exit_code == 0, result.output
    assert "internal error" not in result.output
    assert (folder / "certs" / "a.fullchain.pem").exists()


def test_fix_stops_fetching_when_the_network_budget_is_spent(site, certlint, raw, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    server = raw(drip_headers)
    with CaHttp() as http:
        ca = PublishedCA(http)
        urls = [server.url(f"/slow{n}.crt") for n in range(4)] + [ca.url]
        conf, root, _folder = site(ca, urls)
        started = time.monotonic()
        result = certlint("fix", "--network-budget", "1", "--ca-bundle", root, conf)
        elapsed = time.monotonic() - started
    assert elapsed < 3, elapsed
    assert result.exit_code == 1
    assert "network budget of 1 s is spent (--network-budget)" in result.stderr
    assert server.connections == 1 and http.count() == 0


def test_in_ci_private_aia_hosts_are_refused_unless_aia_private(site, certlint, monkeypatch):
    """SECURITY.md: a pull request must not make a CI job send requests inside its network."""
    with CaHttp() as http:
        ca = PublishedCA(http)
        conf, root, folder = site(ca, [ca.url])
        monkeypatch.setenv("CI", "true")
        refused = certlint("fix", "--write", "--ca-bundle", root, conf)
        assert http.count() == 0
        allowed = certlint("fix", "--aia-private", "--write", "--ca-bundle", root, conf)
        assert http.count() == 1
    assert refused.exit_code == 1 and "refused (--aia-public-only)" in refused.stderr
    assert allowed.exit_code == 0, allowed.output
    assert (folder / "certs" / "a.fullchain.pem").exists()


def test_a_planted_symlink_in_the_cache_is_not_followed(site, certlint, tmp_path, monkeypatch):
    import hashlib

    monkeypatch.delenv("CI", raising=False)
    victim = write(tmp_path / "victim.txt", b"precious")
    cache = tmp_path / "aia-cache"
    cache.mkdir(mode=0o700)
    with CaHttp() as http:
        ca = PublishedCA(http)
        entry = cache / (hashlib.sha256(ca.url.encode()).hexdigest() + ".bin")
        # every predictable name the old cache used, and the entry itself
        for pid in range(os.getpid() - 5, os.getpid() + 5):
            os.symlink(victim, f"{entry}.{pid}.tmp")
        os.symlink(victim, entry)
        conf, root, folder = site(ca, [ca.url])
        result = certlint("fix", "--write", "--ca-bundle", root, conf)
        assert http.count("/inter.crt") == 1  # the linked "entry" was not read as a cache hit
    assert result.exit_code == 0, result.output
    assert open(victim, "rb").read() == b"precious"
    assert not entry.is_symlink() and entry.read_bytes() == cert_der(ca.lowest.cert)


def test_a_cache_folder_others_may_write_to_is_refused(site, certlint, tmp_path, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    cache = tmp_path / "aia-cache"
    cache.mkdir()
    os.chmod(cache, 0o777)
    with CaHttp() as http:
        ca = PublishedCA(http)
        conf, root, _folder = site(ca, [ca.url])
        result = certlint("fix", "--ca-bundle", root, conf)
    assert result.exit_code == 1  # dry run: the fix is pending
    assert "is writable by other users (mode 777): not used" in result.stderr
    assert os.listdir(cache) == []
    assert stat.S_IMODE(os.stat(cache).st_mode) == 0o777
