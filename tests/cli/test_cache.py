"""The result cache (issue 12, "Faster"): a second `certlint check` of an unchanged tree is
served from the user cache folder, and never when anything that decides a finding changed: a
certificate, a key, a config file, a file appearing in an included folder or where a missing
file was named, the options, certlint itself, or the time crossing a certificate's dates."""

from __future__ import annotations

import json
import os

import pytest

import certlint.cache as cache
import certlint.engine as engine
from tests.support.pki import DAY, NOW, StandardPKI, cert_pem, write


@pytest.fixture(autouse=True)
def cache_dir(tmp_path_factory, monkeypatch):
    folder = tmp_path_factory.mktemp("cache")  # outside the checked tree
    monkeypatch.delenv("CERTLINT_NO_CACHE", raising=False)
    monkeypatch.setenv("CERTLINT_CACHE_DIR", str(folder))
    return folder


@pytest.fixture
def tree(tmp_path):
    pki = StandardPKI.make("example.test")
    write(tmp_path / "certs" / "site.pem", cert_pem(pki.leaf.cert))  # leaf only: an error
    write(tmp_path / "certs" / "site.key", pki.leaf.key_pem, 0o600)
    write(tmp_path / "conf.d" / "site.conf", (
        "server {\n    listen 443 ssl;\n    server_name example.test;\n"
        f"    ssl_certificate {tmp_path}/certs/site.pem;\n"
        f"    ssl_certificate_key {tmp_path}/certs/site.key;\n}}\n").encode())
    conf = write(tmp_path / "nginx.conf", b"events {}\nhttp {\n    include conf.d/*.conf;\n}\n")
    root = write(tmp_path / "root.pem", pki.root.pem)
    return conf, root, pki


class Runs:
    """Counts the real checks: a run served from the cache makes none."""

    def __init__(self, monkeypatch):
        self.count = 0
        real = engine.run_check

        def counting(*args, **kwargs):
            self.count += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(engine, "run_check", counting)


@pytest.fixture
def runs(monkeypatch):
    return Runs(monkeypatch)


def rules(certlint, *args) -> list[str]:
    result = certlint("check", "--format", "json", *args)
    assert result.exit_code in (0, 1), result.output
    return sorted(f["rule"] for f in json.loads(result.stdout)["findings"])


def test_second_run_is_served_from_the_cache_with_the_same_output(tree, certlint, runs):
    conf, root, _pki = tree
    first = certlint("check", "--ca-bundle", root, conf)
    second = certlint("check", "--ca-bundle", root, conf)
    assert runs.count == 1
    assert (second.exit_code, second.stdout) == (first.exit_code, first.stdout)
    assert first.exit_code == 1 and "chain-incomplete" in first.stdout
    assert certlint("check", "--format", "json", "--ca-bundle", root, conf).exit_code == 1
    assert runs.count == 1  # the format is not part of the key: findings are
    certlint("check", "--no-cache", "--ca-bundle", root, conf)
    assert runs.count == 2


def test_a_changed_certificate_is_never_served_from_the_cache(tree, certlint, runs, tmp_path):
    conf, root, pki = tree
    assert rules(certlint, "--ca-bundle", root, conf) == ["chain-incomplete"]
    write(tmp_path / "certs" / "site.pem", pki.fullchain())  # same size class, new content
    assert rules(certlint, "--ca-bundle", root, conf) == []
    assert runs.count == 2
    # the same name with a key of another pair: key-mismatch, found again
    other = StandardPKI.make("example.test")
    write(tmp_path / "certs" / "site.key", other.leaf.key_pem, 0o600)
    assert rules(certlint, "--ca-bundle", root, conf) == ["key-mismatch"]
    assert runs.count == 3


def test_a_changed_config_or_a_new_included_file_is_never_served(tree, certlint, runs,
                                                                 tmp_path):
    conf, root, pki = tree
    assert rules(certlint, "--ca-bundle", root, conf) == ["chain-incomplete"]
    site = tmp_path / "conf.d" / "site.conf"
    site.write_text(site.read_text().replace("example.test;", "other.test;"))
    assert rules(certlint, "--ca-bundle", root, conf) == ["chain-incomplete",
                                                          "hostname-mismatch"]
    write(tmp_path / "conf.d" / "more.conf", (
        b"server {\n    listen 443 ssl;\n    server_name example.test;\n"
        b"    ssl_certificate /nonexistent/x.pem;\n    ssl_certificate_key /nonexistent/x.key;\n"
        b"}\n"))
    assert "cert-file-missing" in rules(certlint, "--ca-bundle", root, conf)
    assert runs.count == 3


def test_a_missing_file_that_appears_is_never_served(tree, certlint, runs, tmp_path):
    conf, root, pki = tree
    os.remove(tmp_path / "certs" / "site.pem")
    assert rules(certlint, "--ca-bundle", root, conf) == ["cert-file-missing"]
    write(tmp_path / "certs" / "site.pem", pki.fullchain())
    assert rules(certlint, "--ca-bundle", root, conf) == []
    assert runs.count == 2


def test_changed_options_or_ca_bundle_are_never_served(tree, certlint, runs, tmp_path):
    conf, root, pki = tree
    assert rules(certlint, "--ca-bundle", root, conf) == ["chain-incomplete"]
    assert rules(certlint, "--ca-bundle", root, "--ignore", "chain-incomplete", conf) == []
    assert runs.count == 2
    write(tmp_path / "certs" / "site.pem", pki.fullchain())
    assert rules(certlint, "--ca-bundle", root, conf) == []
    assert rules(certlint, conf) == ["chain-incomplete"]  # without the private root
    assert runs.count == 4
    write(tmp_path / "root.pem", StandardPKI.make("x.test").root.pem)  # another root, same path
    assert rules(certlint, "--ca-bundle", root, conf) == ["chain-incomplete"]
    assert runs.count == 5


def test_another_certlint_is_never_served(tree, certlint, runs, monkeypatch):
    conf, root, _pki = tree
    rules(certlint, "--ca-bundle", root, conf)
    monkeypatch.setattr("certlint.__version__", "99.0")
    rules(certlint, "--ca-bundle", root, conf)
    assert runs.count == 2


def test_time_crossing_a_certificate_date_is_never_served(tmp_path, certlint, runs,
                                                          monkeypatch):
    """A certificate that expires in two days (a warning now) expires while the entry would
    still be young: the entry holds only until then."""
    pki = StandardPKI.make("example.test", not_before=NOW - 300 * DAY, not_after=NOW + 2 * DAY)
    write(tmp_path / "site.pem", pki.fullchain())
    write(tmp_path / "site.key", pki.leaf.key_pem, 0o600)
    conf = write(tmp_path / "nginx.conf", (
        b"events {}\nhttp {\n    server {\n        listen 443 ssl;\n"
        b"        server_name example.test;\n        ssl_certificate site.pem;\n"
        b"        ssl_certificate_key site.key;\n    }\n}\n"))
    root = write(tmp_path / "root.pem", pki.root.pem)
    assert rules(certlint, "--ca-bundle", root, conf) == ["cert-expiring-soon"]
    rules(certlint, "--ca-bundle", root, conf)
    assert runs.count == 1
    later = pki.leaf.cert.not_valid_after_utc.timestamp() + 1
    monkeypatch.setattr(cache.time, "time", lambda: later)
    rules(certlint, "--ca-bundle", root, conf)
    assert runs.count == 2


def test_a_cache_entry_holds_no_key_material(tree, certlint, cache_dir):
    conf, root, pki = tree
    certlint("check", "--ca-bundle", root, conf)
    [entry] = os.listdir(cache_dir / "check")
    data = (cache_dir / "check" / entry).read_bytes()
    assert b"PRIVATE KEY" not in data and pki.leaf.key_pem[40:80] not in data


def test_a_cache_folder_others_can_write_is_never_read(tree, certlint, runs, cache_dir):
    conf, root, _pki = tree
    certlint("check", "--ca-bundle", root, conf)
    os.chmod(cache_dir / "check", 0o777)
    certlint("check", "--ca-bundle", root, conf)
    assert runs.count == 2
    os.chmod(cache_dir / "check", 0o700)
    certlint("check", "--ca-bundle", root, conf)
    assert runs.count == 2
