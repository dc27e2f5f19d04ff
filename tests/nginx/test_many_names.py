"""A server_name with thousands of names: the finding stays one readable line."""

from __future__ import annotations

import os

from tests.support.paths import REPO

FIXTURE_PKI = os.path.join(REPO, "fixtures", "pki")


def test_thousands_of_uncovered_names_are_summarised(certlint, tmp_path):
    names = " ".join(f"n{i}.example.test" for i in range(2000))
    conf = tmp_path / "nginx.conf"
    conf.write_text(f"""events {{}}
http {{
    server {{
        listen 443 ssl;
        server_name example.test {names};
        ssl_certificate {FIXTURE_PKI}/fullchain.pem;
        ssl_certificate_key {FIXTURE_PKI}/demo-keys/leaf.key;
    }}
}}
""")
    code, payload = certlint.json(str(conf), "--ca-bundle", os.path.join(FIXTURE_PKI, "root.pem"))
    assert code == 1
    [finding] = payload["findings"]
    assert finding["rule"] == "hostname-mismatch" and finding["line"] == 5
    assert finding["message"].startswith("n0.example.test, n1.example.test, ")
    assert "n19.example.test and 1980 more not covered by 'example.test'" in finding["message"]
    assert len(finding["message"]) < 1500
