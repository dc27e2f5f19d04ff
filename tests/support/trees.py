"""Small nginx and Apache configurations, the shapes most tests start from.

nginx (`events {}`, `http { server { ... } }`, 4/8-space indentation, so `ssl_certificate` of
the first server is line 6, column 9):

    conf = write_nginx(tmp_path / "nginx.conf", nginx_server("leaf.pem", "leaf.key"))
    conf = nginx_site(tmp_path, pki.leaf.pem, pki.leaf.key_pem, pki.root.pem)  # files too
    conf = nginx_sites(folder, [(name, cert_bytes, key_bytes), ...])  # files in certs/

Apache (`ServerRoot`, LoadModule lines, `ServerName localhost`, `Listen 443`, then the vhosts):

    conf = write_apache(tmp_path / "apache2.conf",
                        apache_vhost("pki/fullchain.pem", "pki/leaf.key",
                                     body="    SSLUseStapling on\n"),
                        server_root=tmp_path, modules=STAPLING_MODULES)

Certificates and keys come from `tests.support.pki`; running the real servers from
`tests.support.servers` (nginx) and `tests.support.apache`.
"""

from __future__ import annotations

import os

from tests.support.apache import modules as load_modules
from tests.support.pki import write

# what a standalone Apache needs to serve TLS, and to staple
TLS_MODULES = ("mpm_event", "authz_core", "ssl")
STAPLING_MODULES = TLS_MODULES + ("socache_shmcb",)


def nginx_server(cert: str | None, key: str | None, name: str | None = "example.test",
                 listen: str | None = "443 ssl", extra: tuple[str, ...] | list[str] = ()
                 ) -> str:
    """One `server { }` block: listen, server_name, the certificate and key, then `extra`
    directives (each a whole statement, `ssl_stapling on;`). None leaves a line out."""
    lines = [f"listen {listen};"] if listen else []
    if name:
        lines.append(f"server_name {name};")
    if cert is not None:
        lines.append(f"ssl_certificate {cert};")
    if key is not None:
        lines.append(f"ssl_certificate_key {key};")
    lines += list(extra)
    return "    server {\n" + "".join(f"        {line}\n" for line in lines) + "    }\n"


def nginx_conf(*servers: str, http_extra: str = "") -> str:
    """`events {}` and an `http { }` holding `http_extra` (whole lines), then the servers."""
    return "events {}\nhttp {\n" + http_extra + "".join(servers) + "}\n"


def write_nginx(path, *servers: str, http_extra: str = "") -> str:
    return write(path, nginx_conf(*servers, http_extra=http_extra).encode())


def nginx_site(folder, cert: bytes, key: bytes, root: bytes | None = None,
               cert_file: str = "leaf.pem", key_file: str = "leaf.key", **server) -> str:
    """The one-site tree: `folder/leaf.pem` (`cert`), `leaf.key` (`key`, 0600), `root.pem`
    (`root`, when given, for --ca-bundle) and `nginx.conf` naming them relatively; `server`
    goes to `nginx_server` (name, listen, extra)."""
    write(os.path.join(folder, cert_file), cert)
    write(os.path.join(folder, key_file), key, 0o600)
    if root is not None:
        write(os.path.join(folder, "root.pem"), root)
    return write_nginx(os.path.join(folder, "nginx.conf"),
                       nginx_server(cert_file, key_file, **server))


def nginx_sites(folder, sites) -> str:
    """`folder/nginx.conf` with one server per (name, cert bytes, key bytes); the files go to
    `certs/NAME.pem` and `certs/NAME.key` (0600)."""
    blocks = []
    for name, cert, key in sites:
        write(os.path.join(folder, "certs", f"{name}.pem"), cert)
        write(os.path.join(folder, "certs", f"{name}.key"), key, 0o600)
        blocks.append(nginx_server(f"certs/{name}.pem", f"certs/{name}.key", name))
    return write_nginx(os.path.join(folder, "nginx.conf"), *blocks)


def apache_vhost(cert: str | None, key: str | None, name: str = "example.test",
                 address: str = "*:443", body: str = "", engine: bool = True) -> str:
    """`<VirtualHost address>` with ServerName, `SSLEngine on`, the certificate and key files,
    then `body` (whole, indented lines). None leaves a line out."""
    lines = [f"ServerName {name}"]
    if engine:
        lines.append("SSLEngine on")
    if cert is not None:
        lines.append(f"SSLCertificateFile {cert}")
    if key is not None:
        lines.append(f"SSLCertificateKeyFile {key}")
    inner = "".join(f"    {line}\n" for line in lines)
    if body:
        inner += body if body.endswith("\n") else body + "\n"
    return f"<VirtualHost {address}>\n{inner}</VirtualHost>\n"


def apache_conf(*vhosts: str, server_root=None, modules: tuple[str, ...] = (),
                main_extra: str = "", listen: str = "443") -> str:
    """A main config: `ServerRoot` (when given), LoadModule lines for `modules`,
    `ServerName localhost`, `Listen`, `main_extra` (whole lines), then the vhosts."""
    head = f'ServerRoot "{server_root}"\n' if server_root is not None else ""
    if modules:
        head += load_modules(*modules)
    if main_extra and not main_extra.endswith("\n"):
        main_extra += "\n"
    return head + f"ServerName localhost\nListen {listen}\n" + main_extra + "".join(vhosts)


def write_apache(path, *vhosts: str, **kwargs) -> str:
    return write(path, apache_conf(*vhosts, **kwargs).encode())
