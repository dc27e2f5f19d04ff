"""`Include /` and friends (a fuzzed or careless pattern): certlint stops after a bounded number
of files with one clear error, and a path it may not resolve (/proc/1/cwd) is no traceback."""

from __future__ import annotations

import os

from certlint.parsers import apache


def _conf(tmp_path, include: str) -> str:
    conf = tmp_path / "apache2.conf"
    conf.write_text(f"ServerRoot {tmp_path}\nInclude {include}\n")
    return str(conf)


def test_directory_include_explosion_is_cut_short(tmp_path, certlint, monkeypatch):
    monkeypatch.setattr(apache, "MAX_DIRECTORY_ENTRIES", 5)
    wide = tmp_path / "wide"
    for n in range(3):
        (wide / f"d{n}").mkdir(parents=True)
        for m in range(4):
            (wide / f"d{n}" / f"f{m}.conf").write_text("# nothing\n")
    code, payload = certlint.json(_conf(tmp_path, str(wide)))
    assert code == 1
    messages = [f["message"] for f in payload["findings"]]
    assert messages == [f"Include {wide}: more than 5 files in included directories; certlint "
                        "stops reading here (is the pattern too wide?)"]


def test_unresolvable_path_under_an_included_directory_is_no_crash(tmp_path, certlint,
                                                                    monkeypatch):
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "a.conf").write_text("# nothing\n")
    os.symlink("/nonexistent-target", tree / "cwd")
    real = os.path.realpath

    def denied(path, *args, **kwargs):
        if str(path).endswith("cwd"):
            raise PermissionError(13, "Permission denied", str(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(os.path, "realpath", denied)
    result = certlint("check", _conf(tmp_path, str(tree)))
    assert result.exit_code in (0, 1), result.output
    assert "internal error" not in result.output


def test_nginx_include_of_an_unresolvable_link_is_no_crash(tmp_path, certlint, monkeypatch):
    os.symlink("/nonexistent-target", tmp_path / "cwd")
    conf = tmp_path / "nginx.conf"
    conf.write_text(f"events {{}}\nhttp {{ include {tmp_path}/cw*; }}\n")
    real, stat = os.path.realpath, os.stat

    def denied(path, *args, **kwargs):
        if str(path).endswith("cwd"):
            raise PermissionError(13, "Permission denied", str(path))
        return real(path, *args, **kwargs)

    def stat_denied(path, *args, **kwargs):
        if str(path).endswith("cwd"):
            raise PermissionError(13, "Permission denied", str(path))
        return stat(path, *args, **kwargs)

    monkeypatch.setattr(os.path, "realpath", denied)
    monkeypatch.setattr(os, "stat", stat_denied)
    result = certlint("check", str(conf))
    assert result.exit_code in (0, 1), result.output
    assert "internal error" not in result.output


APACHE_MODULES = """LoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so
LoadModule authz_core_module /usr/lib/apache2/modules/mod_authz_core.so
ErrorLog /dev/null
"""


def _dangling_tree(tmp_path, word: str) -> str:
    (tmp_path / "sites").mkdir()
    os.symlink("/nonexistent-qa/x.conf", tmp_path / "sites/x.conf")
    conf = tmp_path / "apache2.conf"
    conf.write_text(f"ServerRoot {tmp_path}\n{word} sites/*.conf\n{APACHE_MODULES}")
    return str(conf)


def test_dangling_link_under_include_optional_is_skipped_as_httpd_does(tmp_path, certlint):
    import subprocess

    from tests.support.servers import require

    conf = _dangling_tree(tmp_path, "IncludeOptional")
    code, payload = certlint.json(conf)
    assert (code, payload["findings"]) == (0, [])
    apache2 = require("apache2")
    run = subprocess.run([apache2, "-t", "-f", conf], capture_output=True, text=True)
    assert run.returncode == 0 and "Syntax OK" in run.stderr + run.stdout


def test_dangling_link_under_include_is_the_error_httpd_gives(tmp_path, certlint):
    import subprocess

    from tests.support.servers import require

    conf = _dangling_tree(tmp_path, "Include")
    code, payload = certlint.json(conf)
    assert code == 1
    [finding] = payload["findings"]
    assert (finding["rule"], finding["line"]) == ("config-error", 2)
    assert finding["message"].startswith(
        f"Include sites/*.conf: Could not open configuration file {tmp_path}/sites/x.conf: No "
        "such file or directory")
    apache2 = require("apache2")
    run = subprocess.run([apache2, "-t", "-f", conf], capture_output=True, text=True)
    assert run.returncode != 0
    assert f"Could not open configuration file {tmp_path}/sites/x.conf" in run.stderr


def test_nginx_dangling_link_in_an_include_glob_points_at_the_include(tmp_path, certlint):
    import subprocess

    from tests.support.servers import require

    (tmp_path / "sites").mkdir()
    os.symlink("/nonexistent-qa/x.conf", tmp_path / "sites/x.conf")
    conf = tmp_path / "nginx.conf"
    conf.write_text("events {}\nhttp {\n    include sites/*;\n}\n")
    code, payload = certlint.json(str(conf))
    assert code == 1
    [finding] = payload["findings"]
    assert (finding["rule"], finding["path"], finding["line"]) == (
        "config-error", str(conf), 3)
    assert "is a dangling symbolic link (to /nonexistent-qa/x.conf)" in finding["message"]
    nginx = require("nginx")
    run = subprocess.run([nginx, "-t", "-c", str(conf), "-p", str(tmp_path)],
                         capture_output=True, text=True)
    assert run.returncode != 0
    assert f'open() "{tmp_path}/sites/x.conf" failed (2: No such file or directory) in ' \
           f"{conf}:3" in run.stderr
