"""nginx shapes from real fleets in one file: CRLF line ends, a certificate in http{} inherited
by 100 servers (some with `listen 443 quic`), if/map/Lua blocks with braces in strings, and a
stream{} TLS proxy. Only the real problem is reported, at its line."""

from __future__ import annotations

import os

from tests.support.paths import REPO

FIXTURE_PKI = os.path.join(REPO, "fixtures", "pki")


def test_fleet_shapes_in_one_file(tmp_path, certlint):
    p = FIXTURE_PKI
    servers = "".join(
        f"  server {{ listen 443 ssl; listen 443 quic; server_name s{i}.example.test; "
        "location / { if ($http_x = 1) { return 403; } } }\r\n" for i in range(100))
    conf = tmp_path / "nginx.conf"
    conf.write_bytes((
        "events {}\r\n"
        "stream {\r\n"
        "  upstream be { server 127.0.0.1:5000; }\r\n"
        f"  server {{ listen 8443 ssl; ssl_certificate {p}/expired-fullchain.pem; "
        f"ssl_certificate_key {p}/demo-keys/expired.key; proxy_pass be; }}\r\n"
        "}\r\n"
        "http {\r\n"
        '  map $host $x { default 0; "~^a" 1; }\r\n'
        f"  ssl_certificate {p}/wildcard-fullchain.pem;\r\n"
        f"  ssl_certificate_key {p}/demo-keys/wildcard.key;\r\n"
        "  lua_shared_dict foo 1m;\r\n"
        '  init_by_lua_block { local t = { a = "}" } ngx.log(ngx.ERR, "x;{") }\r\n'
        + servers + "}\r\n").encode())
    code, payload = certlint.json(str(conf), "--ca-bundle", os.path.join(p, "root.pem"))
    assert code == 1
    assert [(f["rule"], f["line"], f["site"]) for f in payload["findings"]] == [
        ("cert-expired", 4, "_:8443")]
