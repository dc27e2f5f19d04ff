"""Which virtual hosts speak TLS: Apache's rule, not only `SSLEngine on`.

mod_ssl switches TLS on for a vhost without SSLEngine when its protocol is https and it has a
certificate. The protocol is the vhost's `Protocol`, else the main server's, else that of the
Listen whose address equals the vhost's exactly (`*` = 0.0.0.0 and ::), else http; a Listen's
protocol is its second argument, else https on 443. Each case: certlint's verdict (a TLS site
whose certificate it checks, or none) and the real apache2 + `openssl s_client` agree. The
harness moves ports to free ones on 127.0.0.1 keeping what httpd decides from them (see
tests/support/apache.py: remap_ports).
"""

from __future__ import annotations

import os

import pytest

from tests.support import servers
from tests.support.apache import ApacheServer, apache_binary, modules
from tests.support.paths import REPO

ROOT = REPO
PKI = os.path.join(ROOT, "fixtures", "pki")
ROOT_CA = os.path.join(PKI, "root.pem")
HEAD = modules("mpm_event", "authz_core", "ssl") + "ServerName localhost\n"

# case: (main-server lines, vhost address, vhost lines, port to probe, TLS expected)
CASES = {
    "listen-443-default-https": ("Listen 443\n", "*:443", "", 443, True),
    "listen-8443-https": ("Listen 8443 https\n", "*:8443", "", 8443, True),
    "listen-8443-plain": ("Listen 8443\n", "*:8443", "", 8443, False),
    "listen-443-http": ("Listen 443 http\n", "*:443", "", 443, False),
    "listen-wildcard-v4-default-vhost": ("Listen 0.0.0.0:443\n", "_default_:443", "", 443,
                                         True),
    "listen-one-address-vhost-star": ("Listen 127.0.0.1:443\n", "*:443", "", 443, False),
    "vhost-protocol-https": ("Listen 8443\n", "*:8443", "    Protocol https\n", 8443, True),
    "main-protocol-https": ("Listen 8443\nProtocol https\n", "*:8443", "", 8443, True),
    "sslengine-off-wins": ("Listen 443\n", "*:443", "    SSLEngine off\n", 443, False),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_vhost_speaks_tls_where_apache_says(case, tmp_path, certlint):
    apache_binary()
    main, addr, inner, port, tls = CASES[case]
    conf = tmp_path / "apache2.conf"
    conf.write_text(HEAD + main + f"<VirtualHost {addr}>\n    ServerName example.test\n" + inner
                    + f"    SSLCertificateFile {PKI}/fullchain.pem\n"
                    f"    SSLCertificateKeyFile {PKI}/demo-keys/leaf.key\n</VirtualHost>\n")

    code, payload = certlint.json(str(conf), "--server", "apache", "--ca-bundle", ROOT_CA)
    text = certlint("check", "--server", "apache", "--ca-bundle", ROOT_CA, str(conf)).output

    with ApacheServer(str(conf), str(tmp_path / "state")) as server:
        hello = servers.s_client(server.port(port), "example.test", ROOT_CA)
    if tls:
        assert hello.ok, hello.output
        assert payload["findings"] == [] and code == 0
        assert "1 TLS site checked" in text, text
    else:
        assert not hello.ok and "wrong version number" in hello.output, hello.output
        assert "1 TLS site" not in text
        # an https Listen that the vhost's address does not equal: Apache answers plain HTTP
        # where the config looks like TLS, and certlint says so
        plain_on_https = case == "listen-one-address-vhost-star"
        assert any("SSLEngine is not on" in f["message"] for f in payload["findings"]) == \
            plain_on_https, payload["findings"]


def test_listen_443_without_a_protocol_is_https_on_the_real_port(tmp_path, certlint):
    """The one case the harness cannot move to a free port: httpd's default protocol comes from
    the port number itself (443: https). Run on 127.0.0.1:443 as written, where it can be
    bound."""
    import socket

    apache_binary()
    try:
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(("127.0.0.1", 443))
    except OSError as exc:
        pytest.skip(f"127.0.0.1:443 cannot be bound here ({exc.strerror})")
    text = (HEAD + "Listen 127.0.0.1:443\n<VirtualHost 127.0.0.1:443>\n"
            f"    ServerName example.test\n    SSLCertificateFile {PKI}/fullchain.pem\n"
            f"    SSLCertificateKeyFile {PKI}/demo-keys/leaf.key\n</VirtualHost>\n")
    conf = tmp_path / "apache2.conf"
    conf.write_text(text)
    result = certlint("check", "--server", "apache", "--ca-bundle", ROOT_CA, str(conf))
    assert result.exit_code == 0 and "All good: 1 TLS site checked" in result.output
    server = ApacheServer(str(conf), str(tmp_path / "state"))
    with open(server.conf, "w") as fh:  # as written: no port moved, no protocol spelled out
        fh.write(text)
    server.ports = {443: 443}
    with server:
        hello = servers.s_client(443, "example.test", ROOT_CA)
    assert hello.ok, hello.output
