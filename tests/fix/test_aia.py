"""`certlint fix` completing chains through AIA, against a loopback HTTP server playing the CA.

Each test builds a leaf-only nginx site (`tests.support.trees.nginx_sites`) whose leaf points
(AIA caIssuers) at the loopback CA, runs the real CLI and checks what a user gets: the new
fullchain file, the config edit, the exit code, and how many requests the CA saw.
"""

from __future__ import annotations

import os

import pytest
from cryptography import x509

from tests.support.ca_http import CaHttp, PublishedCA, p7c
from tests.support.pki import CA, DAY, NOW, cert_der, cert_pem, write
from tests.support.trees import nginx_server, nginx_sites, write_nginx


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch, certlint):
    monkeypatch.setenv("CERTLINT_CACHE_DIR", str(tmp_path / "aia-cache"))
    certlint.workstation()  # loopback AIA allowed, as outside CI (network/test_fetch.py)


@pytest.fixture
def http():
    with CaHttp() as server:
        yield server


def snapshot(folder) -> dict[str, bytes]:
    out = {}
    for dirpath, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if d != "aia-cache"]
        for f in files:
            path = os.path.join(dirpath, f)
            with open(path, "rb") as fh:
                out[os.path.relpath(path, folder)] = fh.read()
    return out


def leaf_only_site(tmp_path, ca: PublishedCA, name: str = "example.test", **kw):
    leaf = ca.leaf(name, **kw)
    conf = nginx_sites(tmp_path / "site", [(name, leaf.pem, leaf.key_pem)])
    root = write(tmp_path / "root.pem", ca.root.pem)
    return conf, root, leaf


def served(path) -> list[x509.Certificate]:
    with open(path, "rb") as fh:
        return x509.load_pem_x509_certificates(fh.read())


@pytest.mark.parametrize("fmt", ["der", "pem", "p7c"])
def test_completes_leaf_only_chain_from_each_format(tmp_path, http, certlint, fmt):
    ca = PublishedCA(http, fmt=fmt)
    conf, root, leaf = leaf_only_site(tmp_path, ca)

    result = certlint("fix", "--write", "--ca-bundle", root, conf)

    assert result.exit_code == 0, result.output
    fullchain = tmp_path / "site" / "certs" / "example.test.fullchain.pem"
    assert served(fullchain) == [leaf.cert, ca.lowest.cert]  # anchor not added
    assert "ssl_certificate certs/example.test.fullchain.pem;" in (tmp_path / "site" /
                                                                  "nginx.conf").read_text()
    assert http.count("/inter.crt") == 1
    code, payload = certlint.json(conf, "--ca-bundle", root)
    assert code == 0 and payload["findings"] == []


def test_two_level_intermediate_path_in_issuing_order(tmp_path, http, certlint):
    ca = PublishedCA(http, levels=2)
    conf, root, leaf = leaf_only_site(tmp_path, ca)

    result = certlint("fix", "--write", "--ca-bundle", root, conf)

    assert result.exit_code == 0, result.output
    fullchain = tmp_path / "site" / "certs" / "example.test.fullchain.pem"
    assert served(fullchain) == [leaf.cert] + ca.issuing_path()
    assert http.count("/inter.crt") == 1 and http.count("/inter.crt-up1") == 1


def test_tries_the_next_url_after_a_404(tmp_path, http, certlint):
    ca = PublishedCA(http)
    conf, root, leaf = leaf_only_site(tmp_path, ca,
                                      urls=[http.url("/gone.crt"), http.url("/inter.crt")])

    result = certlint("fix", "--write", "--ca-bundle", root, conf)

    assert result.exit_code == 0, result.output
    assert http.count("/gone.crt") == 1 and http.count("/inter.crt") == 1


def test_a_404_leaves_the_site_as_it_was(tmp_path, http, certlint):
    ca = PublishedCA(http)
    conf, root, leaf = leaf_only_site(tmp_path, ca, urls=[http.url("/gone.crt")])
    before = snapshot(tmp_path / "site")

    result = certlint("fix", "--write", "--ca-bundle", root, conf)

    assert result.exit_code == 1
    assert "HTTP 404" in result.stderr and "not fixed" in result.stderr
    assert snapshot(tmp_path / "site") == before


def test_an_unrelated_ca_certificate_is_refused(tmp_path, http, certlint):
    ca = PublishedCA(http)
    impostor = CA("Fix Test Root").intermediate("Fix Test Root Intermediate 1")  # same names
    http.serve("/evil.crt", cert_der(impostor.cert))
    conf, root, leaf = leaf_only_site(tmp_path, ca, urls=[http.url("/evil.crt")])
    before = snapshot(tmp_path / "site")

    result = certlint("fix", "--write", "--ca-bundle", root, conf)

    assert result.exit_code == 1
    assert "refused" in result.stderr
    assert snapshot(tmp_path / "site") == before
    assert http.count("/evil.crt") == 1


def test_many_sites_from_one_ca_make_exactly_one_request(tmp_path, http, certlint):
    ca = PublishedCA(http)
    sites = []
    for n in range(12):
        leaf = ca.leaf(f"site{n}.test")
        sites.append((f"site{n}.test", leaf.pem, leaf.key_pem))
    conf = nginx_sites(tmp_path / "site", sites)
    root = write(tmp_path / "root.pem", ca.root.pem)

    result = certlint("fix", "--write", "--ca-bundle", root, conf)

    assert result.exit_code == 0, result.output
    assert http.count() == 1
    for n in range(12):
        assert (tmp_path / "site" / "certs" / f"site{n}.test.fullchain.pem").exists()


def test_disk_cache_serves_the_next_run_and_no_cache_bypasses_it(tmp_path, http, certlint):
    ca = PublishedCA(http)
    conf, root, _leaf = leaf_only_site(tmp_path, ca)

    assert certlint("fix", "--ca-bundle", root, conf).exit_code == 1  # dry run: pending
    assert http.count() == 1
    assert certlint("fix", "--ca-bundle", root, conf).exit_code == 1
    assert http.count() == 1  # from the cache
    assert certlint("fix", "--no-cache", "--ca-bundle", root, conf).exit_code == 1
    assert http.count() == 2


def test_tampered_cache_is_reverified_and_refused(tmp_path, http, certlint):
    ca = PublishedCA(http)
    conf, root, _leaf = leaf_only_site(tmp_path, ca)
    certlint("fix", "--ca-bundle", root, conf)
    cache = tmp_path / "aia-cache"
    (entry,) = list(cache.iterdir())
    entry.write_bytes(cert_der(CA("Fix Test Root").intermediate(
        "Fix Test Root Intermediate 1").cert))
    http.routes.clear()  # the CA is gone too

    result = certlint("fix", "--write", "--ca-bundle", root, conf)

    assert result.exit_code == 1
    assert not (tmp_path / "site" / "certs" / "example.test.fullchain.pem").exists()


def test_intermediates_folder_needs_no_request(tmp_path, http, certlint):
    ca = PublishedCA(http)
    conf, root, leaf = leaf_only_site(tmp_path, ca)
    folder = tmp_path / "inters"
    write(folder / "ca.pem", ca.lowest.pem)
    write(folder / "notes.txt", b"not a certificate\n")

    result = certlint("fix", "--write", "--intermediates", folder, "--ca-bundle", root, conf)

    assert result.exit_code == 0, result.output
    assert http.count() == 0
    assert served(tmp_path / "site" / "certs" / "example.test.fullchain.pem") == [
        leaf.cert, ca.lowest.cert]


def test_offline_makes_no_request_and_says_so(tmp_path, http, certlint):
    ca = PublishedCA(http)
    conf, root, _leaf = leaf_only_site(tmp_path, ca)
    before = snapshot(tmp_path / "site")

    result = certlint("fix", "--offline", "--write", "--ca-bundle", root, conf)

    assert result.exit_code == 1
    assert "--offline" in result.stderr
    assert http.count() == 0
    assert snapshot(tmp_path / "site") == before


def test_public_only_refuses_loopback_ca(tmp_path, http, certlint):
    ca = PublishedCA(http)
    conf, root, _leaf = leaf_only_site(tmp_path, ca)

    result = certlint("fix", "--aia-public-only", "--write", "--ca-bundle", root, conf)

    assert result.exit_code == 1
    assert "--aia-public-only" in result.stderr
    assert http.count() == 0


def test_redirect_to_another_scheme_is_not_followed(tmp_path, http, certlint):
    ca = PublishedCA(http)
    http.redirect("/moved.crt", "file:///etc/passwd")
    conf, root, _leaf = leaf_only_site(tmp_path, ca, urls=[http.url("/moved.crt")])

    result = certlint("fix", "--write", "--ca-bundle", root, conf)

    assert result.exit_code == 1
    assert "file:///etc/passwd" in result.stderr and "not fixed" in result.stderr


def test_oversized_response_is_refused(tmp_path, http, certlint):
    ca = PublishedCA(http)
    http.serve("/huge.crt", cert_pem(ca.lowest.cert) + b"#" * (70 * 1024))
    conf, root, _leaf = leaf_only_site(tmp_path, ca, urls=[http.url("/huge.crt")])

    result = certlint("fix", "--write", "--ca-bundle", root, conf)

    assert result.exit_code == 1
    assert "larger than 64 KiB" in result.stderr


def test_p7c_bundle_picks_the_real_issuer_not_the_first(tmp_path, http, certlint):
    ca = PublishedCA(http)
    decoy = CA("Decoy Root").intermediate("Decoy Intermediate")
    http.serve("/bundle.p7c", p7c(decoy.cert, ca.root.cert, ca.lowest.cert),
               "application/pkcs7-mime")
    conf, root, leaf = leaf_only_site(tmp_path, ca, urls=[http.url("/bundle.p7c")])

    result = certlint("fix", "--write", "--ca-bundle", root, conf)

    assert result.exit_code == 0, result.output
    assert served(tmp_path / "site" / "certs" / "example.test.fullchain.pem") == [
        leaf.cert, ca.lowest.cert]


def test_stale_cache_entry_is_replaced_from_the_ca(tmp_path, http, certlint):
    ca = PublishedCA(http)
    conf, root, leaf = leaf_only_site(tmp_path, ca)
    certlint("fix", "--ca-bundle", root, conf)
    (entry,) = list((tmp_path / "aia-cache").iterdir())
    entry.write_bytes(cert_der(CA("Fix Test Root").intermediate(
        "Fix Test Root Intermediate 1").cert))  # e.g. the CA re-keyed since

    result = certlint("fix", "--write", "--ca-bundle", root, conf)

    assert result.exit_code == 0, result.output
    assert http.count("/inter.crt") == 2  # the first run, and one refresh
    assert served(tmp_path / "site" / "certs" / "example.test.fullchain.pem") == [
        leaf.cert, ca.lowest.cert]
    assert entry.read_bytes() == cert_der(ca.lowest.cert)


def test_slow_ca_times_out_and_the_site_is_left_alone(tmp_path, http, certlint, monkeypatch):
    from certlint.pki import fetch

    monkeypatch.setattr(fetch, "TIMEOUT", 0.5)
    ca = PublishedCA(http)
    http.delays["/inter.crt"] = 5
    conf, root, _leaf = leaf_only_site(tmp_path, ca)
    before = snapshot(tmp_path / "site")

    result = certlint("fix", "--write", "--ca-bundle", root, conf)

    assert result.exit_code == 1
    assert "no complete answer within 0.5 s" in result.stderr
    assert snapshot(tmp_path / "site") == before


def test_response_formats_cas_really_serve():
    import base64

    from cryptography.hazmat.primitives.serialization import Encoding, pkcs7

    from certlint.pki.aia import parse_response

    ca = CA("Formats Root")
    inter = ca.intermediate("Formats Intermediate")
    der = cert_der(inter.cert)
    p7_pem = pkcs7.serialize_certificates([inter.cert], Encoding.PEM)
    for body in (der, cert_pem(inter.cert), p7c(ca.cert, inter.cert), p7_pem,
                 base64.b64encode(der) + b"\n"):
        assert inter.cert in parse_response(body)
    assert parse_response(b"<html>404</html>") == []
    assert parse_response(b"") == []


def test_certbot_layout_points_at_fullchain_pem_without_network(tmp_path, http, certlint):
    ca = PublishedCA(http)
    leaf = ca.leaf("example.test")
    live = tmp_path / "etc" / "letsencrypt" / "live" / "example.test"
    write(live / "cert.pem", leaf.pem)
    write(live / "chain.pem", ca.lowest.pem)
    write(live / "fullchain.pem", cert_pem(leaf.cert, ca.lowest.cert))
    write(live / "privkey.pem", leaf.key_pem, 0o600)
    root = write(tmp_path / "root.pem", ca.root.pem)
    conf = write_nginx(tmp_path / "nginx.conf",
                       nginx_server(f"{live}/cert.pem", f"{live}/privkey.pem", name=None))

    result = certlint("fix", "--write", "--ca-bundle", root, conf)

    assert result.exit_code == 0, result.output
    assert f"ssl_certificate {live}/fullchain.pem;" in open(conf).read()
    assert sorted(os.listdir(live)) == ["cert.pem", "chain.pem", "fullchain.pem", "privkey.pem"]
    assert http.count() == 0  # the intermediate came from chain.pem beside it


def test_ca_bundle_beside_the_certificate_completes_the_chain(tmp_path, http, certlint):
    ca = PublishedCA(http)
    conf, root, leaf = leaf_only_site(tmp_path, ca)
    write(tmp_path / "site" / "certs" / "example_test.ca-bundle", cert_pem(ca.lowest.cert,
                                                                          ca.root.cert))

    result = certlint("fix", "--write", "--offline", "--ca-bundle", root, conf)

    assert result.exit_code == 0, result.output
    assert served(tmp_path / "site" / "certs" / "example.test.fullchain.pem") == [
        leaf.cert, ca.lowest.cert]


def test_cross_signed_candidates_prefer_the_path_to_a_trusted_root(tmp_path, http, certlint):
    ca = PublishedCA(http)
    other_root = CA("Untrusted Other Root")
    cross = other_root.cross_sign(ca.lowest)  # same subject and key, issued by another root
    expired = ca.root.cross_sign(ca.lowest, not_after=NOW - 10 * DAY,
                                 not_before=NOW - 400 * DAY)
    http.serve("/many.p7c", p7c(cross, expired, ca.lowest.cert), "application/pkcs7-mime")
    conf, root, leaf = leaf_only_site(tmp_path, ca, urls=[http.url("/many.p7c")])

    result = certlint("fix", "--write", "--ca-bundle", root, conf)

    assert result.exit_code == 0, result.output
    assert served(tmp_path / "site" / "certs" / "example.test.fullchain.pem") == [
        leaf.cert, ca.lowest.cert]


def test_depth_is_bounded(tmp_path, http, certlint):
    from certlint.pki.aia import MAX_DEPTH

    ca = PublishedCA(http, levels=MAX_DEPTH + 2)
    conf, root, _leaf = leaf_only_site(tmp_path, ca)

    result = certlint("fix", "--write", "--ca-bundle", root, conf)

    assert result.exit_code == 1
    assert f"no trusted root within {MAX_DEPTH} intermediates" in result.stderr
    assert http.count() == MAX_DEPTH


def test_ldap_url_first_is_skipped_for_the_http_one(tmp_path, http, certlint):
    """AD CS style: an ldap:// caIssuers entry first, then http://."""
    ca = PublishedCA(http)
    conf, root, leaf = leaf_only_site(
        tmp_path, ca, urls=["ldap:///CN=Issuing,CN=AIA,DC=corp,DC=example?cACertificate",
                            http.url("/inter.crt")])

    result = certlint("fix", "--write", "--ca-bundle", root, conf)

    assert result.exit_code == 0, result.output
    assert http.count() == 1


def test_only_an_expired_issuer_is_refused(tmp_path, http, certlint):
    ca = PublishedCA(http)
    expired = ca.root.cross_sign(ca.lowest, not_after=NOW - 10 * DAY,
                                 not_before=NOW - 400 * DAY)
    http.serve("/old.crt", cert_der(expired))
    conf, root, _leaf = leaf_only_site(tmp_path, ca, urls=[http.url("/old.crt")])
    before = snapshot(tmp_path / "site")

    result = certlint("fix", "--write", "--ca-bundle", root, conf)

    assert result.exit_code == 1
    assert "expired on" in result.stderr and "clients would reject" in result.stderr
    assert snapshot(tmp_path / "site") == before


def test_a_non_ca_certificate_with_the_issuer_key_is_refused(tmp_path, http, certlint):
    from cryptography import x509 as cx509
    from cryptography.hazmat.primitives import hashes

    ca = PublishedCA(http)
    not_ca = (cx509.CertificateBuilder().subject_name(ca.lowest.subject)
              .issuer_name(ca.root.subject).public_key(ca.lowest.key.public_key())
              .serial_number(cx509.random_serial_number())
              .not_valid_before(NOW - DAY).not_valid_after(NOW + 365 * DAY)
              .add_extension(cx509.BasicConstraints(ca=False, path_length=None), critical=True)
              .sign(ca.root.key, hashes.SHA256()))
    http.serve("/notca.crt", cert_der(not_ca))
    conf, root, _leaf = leaf_only_site(tmp_path, ca, urls=[http.url("/notca.crt")])

    result = certlint("fix", "--write", "--ca-bundle", root, conf)

    assert result.exit_code == 1
    assert "is not a CA certificate (refused)" in result.stderr


def test_a_trickling_answer_is_cut_at_the_total_time_limit(tmp_path, http, certlint,
                                                           monkeypatch):
    import time

    from certlint.pki import fetch

    monkeypatch.setattr(fetch, "TIMEOUT", 1.0)
    ca = PublishedCA(http)
    http.trickle["/inter.crt"] = 0.2  # each piece well within the socket timeout
    conf, root, _leaf = leaf_only_site(tmp_path, ca)

    started = time.monotonic()
    result = certlint("fix", "--write", "--ca-bundle", root, conf)

    assert time.monotonic() - started < 5
    assert result.exit_code == 1
    assert "no complete answer within 1 s" in result.stderr


def test_public_only_refuses_private_addresses_and_only_http_is_fetched():
    from certlint.pki.aia import host_is_private
    from certlint.pki.fetch import Fetcher, FetchError

    assert host_is_private("127.0.0.1") and host_is_private("10.1.2.3")
    assert host_is_private("169.254.169.254") and host_is_private("::1")
    assert not host_is_private("8.8.8.8")
    public = Fetcher(public_only=True, timeout=2)
    with pytest.raises(FetchError, match="--aia-public-only") as refused:
        public.get("http://169.254.169.254/latest/meta-data/")
    assert refused.value.step == "policy"
    with pytest.raises(FetchError, match="only http URLs") as ftp:
        Fetcher().get("ftp://ca.example/inter.crt")
    assert ftp.value.step == "bad-url"


def test_an_https_ca_issuers_url_is_refused_and_the_next_url_is_tried(tmp_path, certlint):
    """AIA is http by design (RFC 5280 4.2.2.1; Chromium fetches nothing else): an https URL
    is passed over with its reason, and the next caIssuers URL completes the chain."""
    web = CA("AIA Web Root")
    server_cert = web.leaf("localhost", ips=["127.0.0.1"])
    tls = (write(tmp_path / "web.pem", server_cert.pem),
           write(tmp_path / "web.key", server_cert.key_pem, 0o600))
    with CaHttp(tls=tls) as https, CaHttp() as http:
        ca = PublishedCA(http)
        https.serve("/inter.crt", cert_der(ca.lowest.cert))
        only_https = leaf_only_site(tmp_path / "a", ca, urls=[https.url("/inter.crt")])
        both = leaf_only_site(tmp_path / "b", ca, urls=[https.url("/inter.crt"), ca.url])

        refused = certlint("fix", "--write", "--ca-bundle", only_https[1], only_https[0])
        fixed = certlint("fix", "--write", "--ca-bundle", both[1], both[0])

        assert https.count() == 0
        assert http.count("/inter.crt") == 1
    assert refused.exit_code == 1 and "only http URLs are fetched" in refused.stderr
    assert fixed.exit_code == 0, fixed.output
    assert served(tmp_path / "b" / "site" / "certs" / "example.test.fullchain.pem") == [
        both[2].cert, ca.lowest.cert]


def test_public_only_checks_the_address_it_connects_to(tmp_path, http, certlint, monkeypatch):
    """A public-looking name that resolves to loopback is refused before any connection: the
    address checked is the address connected to (no second lookup to rebind)."""
    from certlint.pki import fetch

    monkeypatch.setattr(fetch, "resolve_system", lambda host, port, deadline: ["127.0.0.1"])
    ca = PublishedCA(http)
    url = f"http://ca.example.com:{http.port}/inter.crt"
    conf, root, _leaf = leaf_only_site(tmp_path, ca, urls=[url])

    result = certlint("fix", "--aia-public-only", "--write", "--ca-bundle", root, conf)

    assert result.exit_code == 1
    assert "resolves to the private or loopback address 127.0.0.1: refused" in result.stderr
    assert http.count() == 0


def test_a_failing_url_is_asked_once_however_many_sites_need_it(tmp_path, http, certlint):
    ca = PublishedCA(http)
    sites = []
    for n in range(6):
        leaf = ca.leaf(f"site{n}.test", urls=[http.url("/gone.crt")])
        sites.append((f"site{n}.test", leaf.pem, leaf.key_pem))
    conf = nginx_sites(tmp_path / "site", sites)
    root = write(tmp_path / "root.pem", ca.root.pem)

    result = certlint("fix", "--write", "--ca-bundle", root, conf)

    assert result.exit_code == 1
    assert result.stderr.count("HTTP 404") == 6
    assert http.count("/gone.crt") == 1
