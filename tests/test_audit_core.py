"""Audit of the core issue's wording: "A file is loaded once per run however many sites use it"
(counted at the open() calls, whichever module reads it)."""

from __future__ import annotations

import builtins
import collections
import io
import os

from tests.support.pki import StandardPKI, cert_pem, write


def count_opens(monkeypatch, folder: str) -> collections.Counter:
    """Every open of a file under `folder`, by builtins.open, io.open or os.open."""
    opened: collections.Counter = collections.Counter()
    real_open, real_os_open = builtins.open, os.open

    def note(path):
        if isinstance(path, (str, bytes, os.PathLike)):
            text = os.path.realpath(os.fsdecode(path))
            if text.startswith(folder):
                opened[os.path.relpath(text, folder)] += 1

    def spy_open(file, *args, **kwargs):
        note(file)
        return real_open(file, *args, **kwargs)

    def spy_os_open(path, *args, **kwargs):
        note(path)
        return real_os_open(path, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", spy_open)
    monkeypatch.setattr(io, "open", spy_open)
    monkeypatch.setattr(os, "open", spy_os_open)
    return opened


def nginx_fleet(tmp_path, sites: int) -> str:
    pki = StandardPKI.make(*[f"s{n}.example.test" for n in range(sites)],
                           ocsp=["http://127.0.0.1:9/"])
    write(tmp_path / "pki" / "fullchain.pem", cert_pem(pki.leaf.cert, pki.inter.cert))
    write(tmp_path / "pki" / "leaf.key", pki.leaf.key_pem, 0o600)
    write(tmp_path / "pki" / "trusted.pem", cert_pem(pki.inter.cert, pki.root.cert))
    write(tmp_path / "root.pem", pki.root.pem)
    servers = []
    for n in range(sites):
        # three spellings of the same paths: relative, ./relative, absolute
        cert = ("pki/fullchain.pem", "./pki/fullchain.pem",
                str(tmp_path / "pki" / "fullchain.pem"))[n % 3]
        servers.append(f"    server {{\n        listen 443 ssl;\n"
                       f"        server_name s{n}.example.test;\n"
                       f"        ssl_certificate {cert};\n"
                       f"        ssl_certificate_key pki/leaf.key;\n    }}\n")
    http = ("    ssl_stapling on;\n    ssl_stapling_verify on;\n    resolver 127.0.0.1;\n"
            "    ssl_trusted_certificate pki/trusted.pem;\n")
    return write(tmp_path / "nginx.conf",
                 ("events {}\nhttp {\n" + http + "".join(servers) + "}\n").encode())


def test_each_certificate_and_key_file_is_opened_once_for_sixty_sites(tmp_path, certlint,
                                                                      monkeypatch):
    conf = nginx_fleet(tmp_path, 60)
    opened = count_opens(monkeypatch, str(tmp_path))

    code, payload = certlint.json("--server", "nginx", "--ca-bundle", tmp_path / "root.pem", conf)

    assert code == 0, payload["findings"][:3]
    assert opened["pki/fullchain.pem"] == 1, opened
    assert opened["pki/leaf.key"] == 1, opened
    assert opened["pki/trusted.pem"] == 1, opened
    assert opened["root.pem"] == 1, opened


def test_the_fixer_also_loads_each_file_once_per_run(tmp_path, certlint, monkeypatch):
    pki = StandardPKI.make(*[f"s{n}.example.test" for n in range(40)])
    write(tmp_path / "pki" / "leaf.pem", pki.leaf.pem)
    write(tmp_path / "pki" / "leaf.key", pki.leaf.key_pem, 0o600)
    write(tmp_path / "inters" / "inter.pem", pki.inter.pem)
    write(tmp_path / "root.pem", pki.root.pem)
    body = "".join(f"    server {{\n        listen 443 ssl;\n"
                   f"        server_name s{n}.example.test;\n"
                   "        ssl_certificate pki/leaf.pem;\n"
                   "        ssl_certificate_key pki/leaf.key;\n    }\n" for n in range(40))
    conf = write(tmp_path / "nginx.conf", ("events {}\nhttp {\n" + body + "}\n").encode())
    opened = count_opens(monkeypatch, str(tmp_path))

    result = certlint("fix", "--server", "nginx", "--offline", "--intermediates",
                      tmp_path / "inters", "--ca-bundle", tmp_path / "root.pem", conf)

    assert result.exit_code == 1, result.output  # dry run: 40 fixes pending
    assert "40 problem(s) fixable" in result.stderr
    assert opened["pki/leaf.pem"] == 1, opened
    assert opened["pki/leaf.key"] == 1, opened
    assert opened["inters/inter.pem"] == 1, opened
