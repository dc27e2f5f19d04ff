"""A remediation document for a customer running nginx and Apache: each problem's advice is for
the server it was found on."""

from __future__ import annotations

import os
import re

from tests.support.paths import REPO

FIXTURE_PKI = os.path.join(REPO, "fixtures", "pki")


def test_mixed_run_gives_each_rule_the_advice_of_its_server(certlint, tmp_path):
    nginx = tmp_path / "nginx.conf"
    nginx.write_text(f"""events {{}}
http {{
    server {{
        listen 443 ssl;
        server_name example.test;
        ssl_certificate {FIXTURE_PKI}/leaf.pem;
        ssl_certificate_key {FIXTURE_PKI}/demo-keys/leaf.key;
    }}
}}
""")
    apache = tmp_path / "apache2.conf"
    apache.write_text(f"""LoadModule ssl_module /usr/lib/apache2/modules/mod_ssl.so
Listen 443
<VirtualHost *:443>
    ServerName example.test
    SSLEngine on
    SSLCertificateFile {FIXTURE_PKI}/leaf.pem
    SSLCertificateKeyFile {FIXTURE_PKI}/demo-keys/leaf.key
</VirtualHost>
""")
    result = certlint("check", "--format", "remediation", "--ca-bundle",
                      os.path.join(FIXTURE_PKI, "root.pem"), str(nginx), str(apache))
    assert result.exit_code == 1, result.output
    sections = dict(re.findall(r"^## \d+\. `example.test:443` \((\w+)\)\n(.*?)(?=^## |\Z)",
                               result.stdout, re.M | re.S))
    assert set(sections) == {"nginx", "Apache"}
    assert "(`chain-incomplete`, error)" in sections["nginx"]
    assert "nginx -t && systemctl reload nginx" in sections["nginx"]
    assert "apachectl" not in sections["nginx"]
    assert "(`apache-chain-file-missing`, error)" in sections["Apache"]
    assert "apachectl configtest && apachectl graceful" in sections["Apache"]
    assert "nginx -t" not in sections["Apache"]
