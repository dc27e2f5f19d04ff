"""nginx sites from an expanded config tree: one `Site` per TLS `server` block, with nginx's
inheritance (http/stream -> server, each directive on its own; siblings never), certificate
slots paired by position, and the default server of every TLS address (whose certificate a
certificate-less server block is answered with).
"""

from __future__ import annotations

from certlint.model import CertSlot, ConfigError, Directive, ServerConfig, Site

# top-level blocks whose `server { }` children can serve TLS
TLS_SERVER_CONTEXTS = ("http", "stream")


class Node:
    """A statement with includes expanded: name, args, where it stands, children if a block."""

    __slots__ = ("name", "args", "path", "line", "children")

    def __init__(self, name, args, path, line, children=None):
        self.name = name
        self.args = tuple(args)
        self.path = path
        self.line = line
        self.children = children

    def directive(self, block: str) -> Directive:
        return Directive(self.name, self.args, self.path, self.line, 1, block)


def build_sites(tree: list[Node], config: ServerConfig, file_ref) -> None:
    """Sites and server-level settings from an expanded tree, into `config`."""
    for node in tree:
        if node.children is None:
            _add_global(config, node, "main")
    for node in tree:
        if node.name in TLS_SERVER_CONTEXTS and node.children is not None:
            inherited: dict[str, list[Directive]] = {}
            for child in node.children:
                if child.children is None:
                    d = child.directive(node.name)
                    inherited.setdefault(child.name, []).append(d)
                    _add_global(config, child, node.name)
            for child in node.children:
                if child.name == "server" and child.children is not None:
                    site = _site(child, node.name, inherited, file_ref)
                    if site is not None:
                        config.sites.append(site)
    _mark_default_servers(config.sites)
    _plain_port_443_with_certificate(config)


def _add_global(config: ServerConfig, node: Node, block: str) -> None:
    config.globals.setdefault(node.name, []).append(node.directive(block))


def _site(server: Node, context: str, inherited: dict, file_ref) -> Site | None:
    own: dict[str, list[Directive]] = {}
    locations: dict[str, list[Directive]] = {}
    for child in server.children:
        if child.children is None:
            own.setdefault(child.name, []).append(child.directive("server"))
        else:
            _collect(child, locations)
    listen = [d for d in own.get("listen", [])]
    tls_listen = any(
        any(a in ("ssl", "quic", "http3") for a in d.args[1:]) for d in listen)
    legacy_ssl = any(d.flag() for d in own.get("ssl", []))
    if not (tls_listen or legacy_ssl or "ssl_certificate" in own):
        return None
    effective = dict(inherited)
    effective.update(own)
    origin = Directive("server", (), server.path, server.line, 1, context)
    names_d = own.get("server_name", [])
    names = [a for d in names_d for a in d.args]
    site = Site(
        server="nginx",
        origin=origin,
        names=names,
        names_directive=names_d[0] if names_d else None,
        listen=[d.value for d in listen],
        directives=effective,
        own=set(own),
        extra={"context": context, "location_directives": locations,
               "tls_listen": tls_listen},
    )
    certs = effective.get("ssl_certificate", [])
    keys = effective.get("ssl_certificate_key", [])
    pw = effective.get("ssl_password_file", [])
    for i, cert in enumerate(certs):
        key = keys[i] if i < len(keys) else None
        site.slots.append(CertSlot(
            cert=file_ref(cert),
            key=file_ref(key) if key is not None else None,
            index=i,
            passwords=file_ref(pw[-1]) if pw else None,
        ))
    return site


def listen_key(listen: Directive) -> tuple[str, str]:
    """(address, port) of a `listen` value as nginx groups servers: `443`, `*:443` and
    `0.0.0.0:443` are the same wildcard address; unix sockets keep their path."""
    value = listen.value
    if value.startswith("unix:"):
        return value, ""
    if value.startswith("["):
        addr, _, port = value[1:].partition("]")
        port = port.lstrip(":") or "80"
        return ("[::]" if addr == "::" else f"[{addr}]"), port
    if value.isdigit():
        return "*", value
    addr, _, port = value.rpartition(":")
    if not addr:
        addr, port = value, "80"
    return ("*" if addr in ("*", "0.0.0.0") else addr.lower()), port


def _mark_default_servers(sites: list[Site]) -> None:
    """Record, per TLS `listen` address, which site is nginx's default server there: the one
    marked `default_server`, else the first. A name-based server without a certificate of its
    own is answered with the default server's certificate; a default server without one makes
    nginx refuse to start."""
    firsts: dict[tuple[str, str], Site] = {}
    marked: dict[tuple[str, str], Site] = {}
    for site in sites:
        keys = []
        for d in site.get_all("listen") if "listen" in site.own else []:
            if not any(a in ("ssl", "quic", "http3") for a in d.args[1:]):
                continue
            key = listen_key(d)
            keys.append(key)
            firsts.setdefault(key, site)
            if any(a in ("default_server", "default") for a in d.args[1:]):
                marked.setdefault(key, site)
        site.extra["tls_listen_keys"] = keys
    defaults = {**firsts, **marked}
    for site in sites:
        site.extra["default_for"] = [k for k in site.extra["tls_listen_keys"]
                                     if defaults.get(k) is site]
        site.extra["default_sites"] = {k: defaults[k] for k in site.extra["tls_listen_keys"]}


def _collect(node: Node, out: dict) -> None:
    for child in node.children or ():
        if child.children is None:
            out.setdefault(child.name, []).append(child.directive(node.name))
        else:
            _collect(child, out)


def _plain_port_443_with_certificate(config: ServerConfig) -> None:
    """A server naming its own certificate whose `listen 443` lacks `ssl` (and no server on
    that port has it, no `ssl on`): nginx speaks plain HTTP/TCP there, so every TLS client
    fails while the config looks like a TLS site (a common slip since `ssl on` was removed)."""
    # the TLS listen addresses _mark_default_servers found, by context and port
    tls_ports = {(site.extra["context"], key[1]) for site in config.sites
                 for key in site.extra["tls_listen_keys"]}
    for site in config.sites:
        if ("ssl_certificate" not in site.own or "listen" not in site.own
                or site.extra.get("tls_listen")
                or any(d.flag() for d in site.directives.get("ssl", []))):
            continue
        context = site.extra["context"]
        for d in site.get_all("listen"):
            if listen_key(d)[1] == "443" and (context, "443") not in tls_ports:
                plain = "plain HTTP" if context == "http" else "plain TCP"
                config.errors.append(ConfigError(
                    f"listen {d.value} has no `ssl`: nginx answers {plain} on port 443 although "
                    "this server names a certificate, so every TLS client fails (openssl: "
                    "'wrong version number'; browsers: ERR_SSL_PROTOCOL_ERROR) and the "
                    f"certificate is never served; write `listen {d.value} ssl;`",
                    d.path, d.line))
                break
