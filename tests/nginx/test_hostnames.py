"""hostname-mismatch on the names nginx answers to: IP addresses need IP SANs; case and a
trailing dot do not matter; the finding points at server_name."""

from __future__ import annotations

from tests.support.pki import CA, cert_pem, key_pem, write


def test_ip_server_names_need_ip_sans(tmp_path, certlint):
    root = CA("certlint IP Root")
    inter = root.intermediate("certlint IP Intermediate")
    servers = []
    for name, ips in (("withip", ["127.0.0.1", "::1"]), ("noip", [])):
        leaf = inter.leaf("example.test", ips=ips)
        write(tmp_path / f"{name}.pem", cert_pem(leaf.cert, inter.cert))
        write(tmp_path / f"{name}.key", key_pem(leaf.key))
        servers.append(f"    server {{\n        listen 443 ssl;\n"
                       "        server_name 127.0.0.1 [::1] example.test EXAMPLE.test.;\n"
                       f"        ssl_certificate {name}.pem;\n"
                       f"        ssl_certificate_key {name}.key;\n    }}\n")
    write(tmp_path / "root.pem", root.pem)
    write(tmp_path / "nginx.conf", ("events {}\nhttp {\n" + "".join(servers) + "}\n").encode())
    code, payload = certlint.json(str(tmp_path / "nginx.conf"), "--ca-bundle",
                                  str(tmp_path / "root.pem"))
    got = [(f["rule"], f["line"]) for f in payload["findings"]]
    assert got == [("hostname-mismatch", 11)], payload["findings"]  # the noip server_name
    assert payload["findings"][0]["message"].startswith("127.0.0.1, ::1 not covered")
    assert code == 1
