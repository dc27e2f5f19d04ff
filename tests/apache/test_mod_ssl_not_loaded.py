"""TLS virtual hosts inside `<IfModule mod_ssl.c>` while mod_ssl is not loaded: Apache starts,
skips them and serves no TLS (s_client: wrong version number). certlint checks 0 TLS sites and
its text summary says that mod_ssl is not loaded and how many virtual hosts that leaves out."""

from __future__ import annotations

import os

from tests.support import servers
from tests.support.apache import ApacheServer, apache_binary
from tests.support.paths import REPO

ROOT = REPO
CASE = os.path.join(ROOT, "fixtures", "apache", "mod-ssl-not-loaded", "apache2.conf")
ROOT_CA = os.path.join(ROOT, "fixtures", "pki", "root.pem")


def test_summary_counts_the_vhosts_left_out_and_apache_serves_no_tls(tmp_path, certlint):
    apache_binary()
    result = certlint("check", "--server", "apache", "--ca-bundle", ROOT_CA, CASE)
    assert result.exit_code == 0
    summary = result.output.splitlines()
    assert summary[0] == "All good: 0 TLS sites checked, no problems found."
    assert summary[1].startswith(f"mod_ssl is not loaded in {CASE}: 2 virtual hosts with SSL "
                                 "directives inside <IfModule mod_ssl.c> are left out")
    assert "a2enmod ssl" in summary[1]
    with ApacheServer(CASE, str(tmp_path / "state")) as server:
        hello = servers.s_client(server.port(443), "example.test", ROOT_CA)
    assert not hello.ok and "wrong version number" in hello.output, hello.output


def test_no_note_when_mod_ssl_is_loaded(certlint):
    case = os.path.join(ROOT, "fixtures", "apache", "closing-line-extra-words", "apache2.conf")
    result = certlint("check", "--server", "apache", "--ca-bundle", ROOT_CA, case)
    assert "mod_ssl is not loaded" not in result.output
