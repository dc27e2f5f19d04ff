"""Config parsers: one per server kind, each producing the neutral `ServerConfig`."""

from __future__ import annotations

import os
import re

from certlint.model import ServerConfig

APACHE_NAMES = ("apache2.conf", "httpd.conf", "apache.conf")
APACHE_HINTS = re.compile(
    rb"^\s*(<VirtualHost|ServerRoot|LoadModule|SSLCertificateFile|<IfModule|Listen\s+\d)",
    re.I | re.M)
NGINX_HINTS = re.compile(rb"^\s*(server|http|events|stream)\s*\{|^\s*ssl_certificate\s", re.M)


def detect_server(path: str) -> str:
    """'nginx' or 'apache', from the file name first and its content second."""
    base = os.path.basename(path).lower()
    if "nginx" in base:
        return "nginx"
    if base in APACHE_NAMES or "httpd" in base or "apache" in base:
        return "apache"
    from certlint.safe_io import read_head

    try:  # a FIFO or device is never opened here: the parser reports what it is
        head = read_head(path, 256 * 1024)
    except OSError:
        return "nginx"
    if APACHE_HINTS.search(head) and not NGINX_HINTS.search(head):
        return "apache"
    return "nginx"


def parse_config(path: str, server: str | None = None, root: str | None = None,
                 **options) -> ServerConfig:
    """Parse an entry point of either kind into a `ServerConfig` (errors kept as data)."""
    kind = server or detect_server(path)
    nginx_version = options.pop("nginx_version", None)
    if kind == "apache":
        from certlint.parsers.apache import parse_apache

        return parse_apache(path, root=root, **options)
    from certlint.parsers.nginx import NginxParser

    if nginx_version:
        return NginxParser(path, root, nginx_version=nginx_version).parse()
    return NginxParser(path, root).parse()
