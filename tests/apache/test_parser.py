"""The Apache parser on small configs: what a user's config means, as httpd reads it."""

from __future__ import annotations

import os

import pytest

from certlint.parsers.apache import parse_apache, read_envvars, split_args
from certlint.parsers.apache_conditions import if_version
from tests.support.paths import REPO

ROOT = REPO
PKI = os.path.join(ROOT, "fixtures", "pki")


def parse(tmp_path, text: str, **options):
    conf = tmp_path / "apache2.conf"
    conf.write_text(text)
    return parse_apache(str(conf), **options)


@pytest.mark.parametrize("line,args", [
    ('SSLCertificateFile "/etc/ssl/my cert.pem"', ["SSLCertificateFile", "/etc/ssl/my cert.pem"]),
    (r'Header set X "a \"quoted\" word"', ["Header", "set", "X", 'a "quoted" word']),
    ("Alias '/a b' /srv", ["Alias", "/a b", "/srv"]),
    (r"Path C:\\dir", ["Path", "C:\\dir"]),
    ("  ServerAlias\ta.test   b.test ", ["ServerAlias", "a.test", "b.test"]),
    ("ServerAlias a.test\vb.test\fc.test\r", ["ServerAlias", "a.test", "b.test", "c.test"]),
    ("ServerName caf\u00e9\u00a0x.test", ["ServerName", "caf\u00e9\u00a0x.test"]),
    ("DocumentRoot /srv/a\\\\b", ["DocumentRoot", "/srv/a\\b"]),
])
def test_arguments_are_split_like_ap_getword_conf(line, args):
    assert split_args(line.strip()) == args


@pytest.mark.parametrize("test,version,active", [
    (["2.4.62"], "2.4.62", True), ([">=", "2.4.8"], "2.4.62", True),
    ([">=", "2.4.8"], "2.4.7", False), (["<", "2.4.8"], "2.4.7", True),
    (["!=", "2.4"], "2.4.0", False), (["2.4", "x"], "bad", None),
    (["!", "=", "2.4"], "2.4.0", False),
    (["=", "/^2\\.4/"], "2.4.62", True), (["~", "^2\\.2"], "2.4.62", False),
    ([">", "2"], "2.4.1", True), (["2.4"], "2.4.62", False),
])
def test_ifversion_follows_mod_version(test, version, active):
    assert if_version(test, version) is active


def test_continuation_quotes_case_and_first_line(tmp_path):
    config = parse(tmp_path, f"<virtualhost *:443>\nsslengine ON\nSSLCertificateFile \\\n"
                             f"   \"{PKI}/fullchain.pem\"\n</VIRTUALHOST>\n")
    (site,) = config.sites
    cert = site.slots[0].cert
    assert cert.directive.name == "sslcertificatefile"
    assert cert.directive.line == 3
    assert cert.path == f"{PKI}/fullchain.pem"
    assert config.errors == []


def test_backslash_at_end_of_comment_swallows_the_next_line(tmp_path):
    """httpd joins continuation lines before it looks for comments."""
    config = parse(tmp_path, "# a comment \\\nSSLEngine on\n")
    assert "sslengine" not in config.globals


def test_comments_are_kept_for_suppressions(tmp_path):
    config = parse(tmp_path, "# certlint: disable=apache-chain-file-missing\n<VirtualHost *>\n"
                             "</VirtualHost>\n")
    assert config.comments[str(tmp_path / "apache2.conf")][1].startswith("# certlint:")


def test_defines_are_order_dependent_and_undefined_ones_are_reported(tmp_path):
    config = parse(tmp_path, "ServerAdmin ${WHO}\nDefine WHO admin@example.test\n"
                             "ServerName ${WHO}\nUnDefine WHO\nServerAlias ${WHO}\n")
    assert config.global_get("servername").value == "admin@example.test"
    assert config.global_get("serveradmin").value == "${WHO}"
    assert [(e.line, "AH00111" in e.message) for e in config.errors] == [(1, True), (5, True)]


def test_a_define_without_value_sets_no_variable(tmp_path):
    """`Define X` makes <IfDefine X> true but leaves ${X} undefined (apache2 -t: AH00111);
    a later bare Define keeps an earlier value."""
    config = parse(tmp_path, "Define X\nServerName ${X}a.test\nDefine Y y\nDefine Y\n"
                             "ServerAdmin ${Y}@b.test\n<IfDefine X>\nServerAlias x.test\n"
                             "</IfDefine>\n")
    assert config.global_get("servername").value == "${X}a.test"
    assert config.global_get("serveradmin").value == "y@b.test"
    assert config.global_get("serveralias").value == "x.test"
    assert [(e.line, e.severity) for e in config.errors] == [(2, "warning")]


def test_variables_expand_before_tokenizing(tmp_path):
    config = parse(tmp_path, 'Define NAMES "a.test b.test"\nServerAlias ${NAMES}\n')
    assert config.global_get("serveralias").args == ("a.test", "b.test")


def test_debian_envvars_beside_the_entry_point(tmp_path):
    (tmp_path / "envvars").write_text(
        'if [ x ] ; then\n\tSUFFIX="-${APACHE_CONFDIR##/etc/apache2-}"\nelse\n\tSUFFIX=\nfi\n'
        "export APACHE_RUN_DIR=/var/run/apache2$SUFFIX\nexport APACHE_LOG_DIR=/var/log/x\n")
    assert read_envvars(str(tmp_path / "envvars"))["APACHE_RUN_DIR"] == "/var/run/apache2"
    config = parse(tmp_path, "DefaultRuntimeDir ${APACHE_RUN_DIR}\nErrorLog ${APACHE_LOG_DIR}/e\n")
    assert config.global_get("defaultruntimedir").value == "/var/run/apache2"
    assert config.global_get("errorlog").value == "/var/log/x/e"
    assert config.errors == []


def test_ifmodule_is_assumed_active_until_modules_are_known(tmp_path):
    text = "<IfModule mod_ssl.c>\nServerName a.test\n</IfModule>\n"
    assert parse(tmp_path, text).global_get("servername").value == "a.test"
    loaded = "LoadModule ssl_module /usr/lib/apache2/modules/mod_ssl.so\n"
    config = parse(tmp_path, loaded + "<IfModule !mod_ssl.c>\nServerName b.test\n</IfModule>\n"
                                      "<IfModule ssl_module>\nServerAlias c.test\n</IfModule>\n"
                                      "<IfModule mod_gnutls.c>\nServerAdmin x\n</IfModule>\n")
    assert config.global_get("servername") is None
    assert config.global_get("serveralias").value == "c.test"
    assert config.global_get("serveradmin") is None


def test_ifdefine_unknown_names_count_as_active(tmp_path):
    """A name never Defined may still come from `apache2 -D NAME`: both branches are read."""
    config = parse(tmp_path, "<IfDefine SSL>\nServerName a.test\n</IfDefine>\n"
                             "<IfDefine !SSL>\nServerAlias b.test\n</IfDefine>\n")
    assert config.global_get("servername") and config.global_get("serveralias")


def test_ifdefine_with_command_line_defines(tmp_path):
    """With --define (apache2 -D NAME) given, names never defined are known to be unset;
    UnDefine removes a command-line name too, Define adds one."""
    text = ("<IfDefine SSL>\nServerName a.test\n</IfDefine>\n"
            "<IfDefine !SSL>\nServerAlias b.test\n</IfDefine>\n"
            "<IfDefine OTHER>\nServerAdmin x@a.test\n</IfDefine>\n")
    config = parse(tmp_path, text, defines=["SSL"])
    assert config.global_get("servername").value == "a.test"
    assert config.global_get("serveralias") is None and config.global_get("serveradmin") is None
    config = parse(tmp_path, text, defines=["OTHER"])
    assert config.global_get("servername") is None
    assert config.global_get("serveralias").value == "b.test"
    assert config.global_get("serveradmin").value == "x@a.test"
    config = parse(tmp_path, "UnDefine SSL\nDefine OTHER\n" + text, defines=["SSL"])
    assert config.global_get("servername") is None
    assert config.global_get("serveradmin").value == "x@a.test"


def test_debian_apache_arguments_pass_defines(tmp_path):
    """apache2ctl starts httpd with ${APACHE_ARGUMENTS} from envvars: its -D names count."""
    (tmp_path / "envvars").write_text("export APACHE_ARGUMENTS='-D SSL -DLOCAL'\n")
    config = parse(tmp_path, "<IfDefine SSL>\nServerName a.test\n</IfDefine>\n"
                             "<IfDefine LOCAL>\nServerAdmin x@a.test\n</IfDefine>\n"
                             "<IfDefine OTHER>\nServerAlias b.test\n</IfDefine>\n")
    assert config.global_get("servername").value == "a.test"
    assert config.global_get("serveradmin").value == "x@a.test"
    assert config.global_get("serveralias") is None


def test_ifversion_uses_the_apache_version_option(tmp_path):
    text = "<IfVersion < 2.4.8>\nServerName old.test\n</IfVersion>\n"
    assert parse(tmp_path, text).global_get("servername") is None
    old = parse(tmp_path, text, apache_version="2.4.7")
    assert old.global_get("servername").value == "old.test"


def test_includes_are_serverroot_relative_sorted_and_recursive(tmp_path):
    (tmp_path / "root").mkdir()
    conf_d = tmp_path / "root" / "conf.d"
    (conf_d / "z").mkdir(parents=True)
    (conf_d / "b.conf").write_text("ServerAlias b\n")
    (conf_d / "a.conf").write_text("ServerAlias a\n")
    (conf_d / ".hidden").write_text("ServerAlias hidden\n")
    (conf_d / "z" / "c.conf").write_text("ServerAlias c\n")
    config = parse(tmp_path, f"ServerRoot {tmp_path / 'root'}\nInclude conf.d\n"
                             "Include conf.d/*.conf\nIncludeOptional none/*.conf\n"
                             "Include none/*.conf\nInclude missing.conf\n")
    aliases = [d.value for d in config.globals["serveralias"]]
    # a directory is read whole (hidden files too, subfolders after files in byte order)
    assert aliases == ["hidden", "a", "b", "c", "a", "b"]
    assert [(e.line, e.message.split(":")[0]) for e in config.errors] == [
        (5, "Include"), (6, "Include missing.conf")]


def test_root_option_maps_absolute_paths(tmp_path):
    etc = tmp_path / "etc" / "apache2"
    etc.mkdir(parents=True)
    (etc / "site.conf").write_text(
        "<VirtualHost *:443>\nSSLEngine on\nSSLCertificateFile /etc/ssl/a.pem\n</VirtualHost>\n")
    (etc / "apache2.conf").write_text("Include /etc/apache2/site.conf\n")
    config = parse_apache(str(etc / "apache2.conf"), root=str(tmp_path))
    assert config.errors == []
    assert config.sites[0].slots[0].cert.path == str(tmp_path / "etc" / "ssl" / "a.pem")


def test_main_server_certificates_merge_by_index(tmp_path):
    """mod_ssl: vhost entries replace the main server's at the same index; the rest stay."""
    config = parse(tmp_path, "SSLCertificateFile rsa.pem\nSSLCertificateKeyFile rsa.key\n"
                             "SSLCertificateFile ec.pem\nSSLCertificateKeyFile ec.key\n"
                             "SSLCACertificateFile ca.pem\n"
                             "<VirtualHost *:443>\nSSLEngine on\nSSLCertificateFile own.pem\n"
                             "SSLCertificateKeyFile own.key\n</VirtualHost>\n"
                             "<VirtualHost *:443>\nServerName plain.test\n</VirtualHost>\n")
    (site,) = config.sites
    assert [os.path.basename(s.cert.path) for s in site.slots] == ["own.pem", "ec.pem"]
    assert [os.path.basename(s.key.path) for s in site.slots] == ["own.key", "ec.key"]
    assert site.get("sslcacertificatefile").value == "ca.pem"
    assert "sslcacertificatefile" not in site.own


def test_names_and_label(tmp_path):
    config = parse(tmp_path, "ServerName main.test\n<VirtualHost 192.0.2.1:8443>\nSSLEngine on\n"
                             "ServerAlias www.a.test *.a.test\nSSLCertificateFile x.pem\n"
                             "</VirtualHost>\n")
    (site,) = config.sites
    assert site.names == ["main.test", "www.a.test", "*.a.test"]
    assert site.label == "main.test:8443"


def test_ssl_engine_without_certificate_is_reported(tmp_path):
    config = parse(tmp_path, "<VirtualHost *:443>\nServerName a.test\nSSLEngine on\n"
                             "</VirtualHost>\n")
    assert [(e.line, "AH02572" in e.message) for e in config.errors] == [(3, True)]


def test_macro_parameters_and_use(tmp_path):
    config = parse(tmp_path, "<Macro Site $name ${cert}>\n<VirtualHost *:443>\nSSLEngine on\n"
                             "ServerName $name\nSSLCertificateFile ${cert}\n</VirtualHost>\n"
                             "</Macro>\nUse Site a.test a.pem\nUse site b.test b.pem\n")
    assert [(s.names, os.path.basename(s.slots[0].cert.path)) for s in config.sites] == [
        (["a.test"], "a.pem"), (["b.test"], "b.pem")]
    assert [s.slots[0].cert.directive.line for s in config.sites] == [5, 5]
    assert config.errors == []


def test_mod_md_vhosts_need_no_certificate_file(tmp_path):
    config = parse(tmp_path, "MDomain example.test\n<VirtualHost *:443>\nServerName example.test\n"
                             "SSLEngine on\n</VirtualHost>\n")
    assert config.errors == []
    assert config.sites[0].slots == [] and config.sites[0].extra["mod_md"]


def test_a_snippet_included_by_several_vhosts_gives_each_its_certificate(tmp_path):
    (tmp_path / "tls.conf").write_text(f"SSLEngine on\nSSLCertificateFile {PKI}/fullchain.pem\n")
    config = parse(tmp_path, "<VirtualHost *:443>\nServerName a.test\nInclude tls.conf\n"
                             "</VirtualHost>\n<VirtualHost *:443>\nServerName b.test\n"
                             "Include tls.conf\n</VirtualHost>\n")
    assert [(s.names, s.slots[0].cert.directive.path, s.slots[0].cert.directive.line)
            for s in config.sites] == [(["a.test"], str(tmp_path / "tls.conf"), 2),
                                       (["b.test"], str(tmp_path / "tls.conf"), 2)]


def test_rhel_layout_checked_out_under_root(tmp_path, certlint):
    """/etc/httpd/conf/httpd.conf with `ServerRoot "/etc/httpd"` and conf.d/ssl.conf, checked
    out in a repository: --root maps ServerRoot, includes and certificate paths."""
    import shutil

    etc = tmp_path / "etc" / "httpd"
    (etc / "conf").mkdir(parents=True)
    (etc / "conf.d").mkdir()
    (etc / "conf.modules.d").mkdir()
    certs = tmp_path / "etc" / "pki" / "tls" / "certs"
    certs.mkdir(parents=True)
    shutil.copy(os.path.join(PKI, "leaf.pem"), certs / "localhost.crt")
    shutil.copy(os.path.join(PKI, "demo-keys", "leaf.key"), certs / "localhost.key")
    (etc / "conf" / "httpd.conf").write_text(
        'ServerRoot "/etc/httpd"\nListen 80\nInclude conf.modules.d/*.conf\n'
        "IncludeOptional conf.d/*.conf\n")
    (etc / "conf.modules.d" / "00-ssl.conf").write_text(
        "LoadModule ssl_module modules/mod_ssl.so\n")
    (etc / "conf.d" / "ssl.conf").write_text(
        "Listen 443 https\n<VirtualHost _default_:443>\nServerName example.test\n"
        "SSLEngine on\nSSLCertificateFile /etc/pki/tls/certs/localhost.crt\n"
        "SSLCertificateKeyFile /etc/pki/tls/certs/localhost.key\n</VirtualHost>\n")
    code, payload = certlint.json(str(etc / "conf" / "httpd.conf"), "--root", str(tmp_path),
                                  "--ca-bundle", os.path.join(PKI, "root.pem"))
    assert [(f["rule"], os.path.relpath(f["path"], tmp_path), f["line"])
            for f in payload["findings"]] == [
        ("apache-chain-file-missing", "etc/httpd/conf.d/ssl.conf", 5)]
    assert code == 1


def test_file_directives_need_exactly_one_argument(tmp_path):
    config = parse(tmp_path, "SSLCertificateFile\nServerName a.test b.test\n"
                             "SSLCACertificateFile /x /y\n")
    assert [(e.line, e.message.split(",")[0]) for e in config.errors] == [
        (1, "SSLCertificateFile takes one argument"), (2, "ServerName takes one argument"),
        (3, "SSLCACertificateFile takes one argument")]
    assert config.globals == {}
