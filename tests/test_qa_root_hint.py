"""A checked-out /etc tree linted without --root: certlint says which --root finds the copy,
instead of silently reading this machine's /etc or failing on paths that are not there."""

from __future__ import annotations


def test_apache_serverroot_missing_suggests_root(tmp_path, certlint):
    conf = tmp_path / "etc/httpd/conf/httpd.conf"
    conf.parent.mkdir(parents=True)
    conf.write_text('ServerRoot "/etc/httpd-certlint-qa"\n')
    hint_conf = tmp_path / "etc/httpd-certlint-qa/conf/httpd.conf"
    hint_conf.parent.mkdir(parents=True)
    hint_conf.write_text('ServerRoot "/etc/httpd-certlint-qa"\n')
    _code, payload = certlint.json(str(hint_conf))
    [finding] = payload["findings"]
    assert finding["rule"] == "config-error"
    assert finding["message"].endswith(f"a checked-out tree? pass --root {tmp_path}")


def test_nginx_include_of_host_files_from_a_checkout_warns(tmp_path, certlint):
    nginx = tmp_path / "etc/nginx"
    nginx.mkdir(parents=True)
    (nginx / "conf.d").mkdir()
    conf = nginx / "nginx.conf"
    # an absolute include that exists on every machine (/etc itself), written as a checkout
    # of /etc would: repo/etc/nginx/nginx.conf naming /etc/...
    (tmp_path / "etc/hostname-qa").write_text("")
    conf.write_text("events {}\nhttp {\n    include /etc/nginx/conf.d/*.conf;\n"
                    "    include /etc/host*;\n}\n")
    _code, payload = certlint.json(str(conf))
    warnings = [f for f in payload["findings"] if f["severity"] == "warning"]
    assert [(f["rule"], f["line"]) for f in warnings] == [("config-error", 4)]
    assert warnings[0]["message"] == (
        "include '/etc/host*' reads this machine's files, not the copy beside the entry "
        f"point; a checked-out tree? pass --root {tmp_path}")
    code, payload = certlint.json("--root", str(tmp_path), str(conf))
    assert (code, payload["findings"]) == (0, [])
