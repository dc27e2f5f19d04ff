"""Apache sites: one per TLS `<VirtualHost>` (and the main server when it serves TLS itself).

mod_ssl merges the main server's settings into each vhost: "vhost value if set, else the main
server's" for most directives; `SSLCertificateFile`/`SSLCertificateKeyFile` by index (vhost
entries replace the main server's at the same index, the remaining main entries are appended).
A vhost serves TLS when `SSLEngine on` is in effect, or when SSLEngine is unset, its protocol
is https and a certificate is configured (mod_ssl's ssl_init_Module). Its protocol is its own
`Protocol`, else the main server's, else that of the `Listen` whose address equals one of the
vhost's addresses exactly (httpd's ap_setup_listeners: `*` stands for both wildcard addresses,
0.0.0.0 and ::, so `<VirtualHost *:443>` takes `Listen 443`, `Listen 0.0.0.0:443` or
`Listen [::]:443`, but not `Listen 127.0.0.1:443`), else http. A Listen's protocol is its second
argument, else https on port 443 and http elsewhere. Checked with apache2 and s_client.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from certlint.model import CertSlot, ConfigError, Directive, Site
from certlint.parsers.apache_files import check_files

if TYPE_CHECKING:
    from certlint.parsers.apache import ApacheParser, _Node

CERTKEY_NAMES = ("sslcertificatefile", "sslcertificatekeyfile")


def build_sites(parser: ApacheParser, tree: list[_Node]) -> None:
    """Sites into `parser.config`; `config.extra["vhosts"]` lists every `<VirtualHost>` (TLS or
    not) with its file:line and name, as `apache2 -S` shows them."""
    config = parser.config
    main: dict[str, list[Directive]] = {}
    for node in tree:
        if node.children is None:
            main.setdefault(node.name, []).append(node.directive("main"))
    config.globals = main
    parser.config.extra["mod_md"] = _uses_mod_md(tree)
    vhosts = config.extra.setdefault("vhosts", [])
    for node in tree:
        if node.name == "virtualhost" and node.children is not None:
            names = [c.args[0] for c in node.children if c.name == "servername" and c.args]
            main_name = main.get("servername")
            vhosts.append({"path": node.path, "line": node.line, "end": node.end or node.line,
                           "addrs": list(node.args),
                           "name": names[-1] if names else
                           (main_name[-1].value if main_name else None)})
            site = _vhost(parser, node, main)
            if site is not None:
                config.sites.append(site)
    vhost_addrs = [a for node in tree if node.name == "virtualhost" for a in node.args]
    main_site = _main_server(parser, main, vhost_addrs)
    if main_site is not None:
        config.sites.insert(0, main_site)
    check_files(parser, tree)


def merge(main: dict[str, list[Directive]], own: dict[str, list[Directive]]
          ) -> dict[str, list[Directive]]:
    """The effective settings of a vhost, merged the way mod_ssl and core merge them."""
    effective = dict(main)
    for name, values in own.items():
        if name in CERTKEY_NAMES:
            effective[name] = list(values) + list(main.get(name, [])[len(values):])
        else:
            effective[name] = list(values)
    return effective


def _tls_enabled(effective: dict[str, list[Directive]], addrs: tuple[str, ...] = ()) -> bool:
    engine = effective.get("sslengine")
    if engine:
        return engine[-1].flag() is True
    return bool(vhost_protocol(effective, addrs) == "https"
                and effective.get("sslcertificatefile"))


def listen_protocol(listen: Directive) -> str:
    """The protocol of a `Listen [addr:]port [protocol] [options=...]` line (listen.c)."""
    args = listen.args
    if len(args) >= 3:
        return args[1].lower()
    if len(args) == 2 and not args[1].lower().startswith("options="):
        return args[1].lower()
    return "https" if _split_addr(args[0] if args else "")[1] == "443" else "http"


def _addresses(host: str) -> set[str] | None:
    """The addresses httpd compares for `host` (None: a name, not knowable offline)."""
    import ipaddress

    if host in ("*", "_default_"):
        return {"0.0.0.0", "::"}
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None
    mapped = getattr(ip, "ipv4_mapped", None)
    return {str(mapped or ip)}


def vhost_protocol(effective: dict[str, list[Directive]], addrs: tuple[str, ...]) -> str:
    """The protocol httpd gives a virtual host: `Protocol`, else its Listen's, else http."""
    protocol = effective.get("protocol")
    if protocol:
        return protocol[-1].value.lower()
    listens = [(_split_addr(d.args[0]), d) for d in effective.get("listen", []) if d.args]
    for addr in addrs:
        host, port = _split_addr(addr)
        mine = _addresses(host)
        if mine is None or port == "*":
            continue
        for (lhost, lport), listen in listens:
            theirs = _addresses(lhost)
            if lport == port and theirs is not None and mine & theirs:
                return listen_protocol(listen)
    return "http"


def _vhost(parser: ApacheParser, node: _Node, main: dict[str, list[Directive]]
           ) -> Site | None:
    own: dict[str, list[Directive]] = {}
    nested: dict[str, list[Directive]] = {}
    for child in node.children or ():
        if child.children is None:
            own.setdefault(child.name, []).append(child.directive("vhost"))
        else:
            _collect(child, nested)
    effective = merge(main, own)
    if not _tls_enabled(effective, node.args):
        _plain_http_on_a_tls_port(parser, node, own, effective, main)
        return None
    origin = Directive("virtualhost", node.args, node.path, node.line, 1, "main")
    names_d = own.get("servername") or main.get("servername") or []
    names = [names_d[-1].value] if names_d else []
    for alias in own.get("serveralias", []):
        names.extend(alias.args)
    site = Site(
        server="apache", origin=origin, names=names,
        names_directive=names_d[-1] if names_d else None,
        listen=list(node.args), directives=effective, own=set(own),
        extra={"nested_directives": nested, "main_server": False},
    )
    _slots(parser, site, origin)
    return site


def _plain_http_on_a_tls_port(parser: ApacheParser, node: _Node,
                              own: dict[str, list[Directive]],
                              effective: dict[str, list[Directive]],
                              main: dict[str, list[Directive]]) -> None:
    """A vhost with its own certificate on an https port (`Listen 127.0.0.1:443`) whose Listen
    address is not the vhost's own (`<VirtualHost *:443>`), SSLEngine never set: httpd gives the
    vhost no https protocol, so real apache2 answers plain HTTP there, and every TLS client
    fails while the config looks like a TLS site."""
    if "sslengine" in effective or "sslcertificatefile" not in own:
        return
    https_ports = set()
    for listen in main.get("listen", []):
        if listen.args and listen_protocol(listen) == "https":
            https_ports.add(_split_addr(listen.args[0])[1])
    ports = [p for p in (_split_addr(a)[1] for a in node.args) if p in https_ports]
    if ports:
        parser.config.errors.append(ConfigError(
            f"this <VirtualHost {' '.join(node.args)}> names a certificate but SSLEngine is not "
            f"on: Apache answers plain HTTP on port {ports[0]}, so every https:// client fails "
            "(openssl: 'wrong version number'; browsers: ERR_SSL_PROTOCOL_ERROR) and its "
            "certificate is never served; add `SSLEngine on` to the <VirtualHost>",
            node.path, node.line))


def _split_addr(addr: str) -> tuple[str, str]:
    """`[::1]:443` / `1.2.3.4:443` / `*:443` / `443` -> (host, port); '*' when absent."""
    if addr.startswith("["):
        host, _, rest = addr[1:].partition("]")
        return host, rest.lstrip(":") or "*"
    if addr.isdigit():
        return "*", addr
    host, sep, port = addr.rpartition(":")
    return (host, port) if sep else (addr, "*")


def _uncovered_listens(main: dict[str, list[Directive]], vhost_addrs: list[str]) -> list[str]:
    """Listen addresses no `<VirtualHost>` matches: only there does the main server answer."""
    out = []
    for listen in main.get("listen", []):
        lhost, lport = _split_addr(listen.value)
        covered = False
        for addr in vhost_addrs:
            vhost, vport = _split_addr(addr)
            if vport in ("*", lport) and vhost in ("*", "_default_", lhost):
                covered = True
                break
        if not covered:
            out.append(listen.value)
    return out


def _main_server(parser: ApacheParser, main: dict[str, list[Directive]],
                 vhost_addrs: list[str]) -> Site | None:
    """The main server is a TLS site of its own when SSL is switched on at server level and
    some Listen address is not taken by a `<VirtualHost>` (elsewhere it never answers)."""
    if not _tls_enabled(main):
        return None
    listen = _uncovered_listens(main, vhost_addrs)
    if main.get("listen") and not listen:
        return None
    at = (main.get("sslengine") or main.get("protocol"))[-1]
    names_d = main.get("servername") or []
    names = [names_d[-1].value] if names_d else []
    for alias in main.get("serveralias", []):
        names.extend(alias.args)
    site = Site(
        server="apache", origin=at, names=names,
        names_directive=names_d[-1] if names_d else None, listen=listen,
        directives=dict(main), own=set(main), extra={"main_server": True},
    )
    _slots(parser, site, at)
    return site


def _slots(parser: ApacheParser, site: Site, origin: Directive) -> None:
    certs = site.get_all("sslcertificatefile")
    keys = site.get_all("sslcertificatekeyfile")
    chain = site.get("sslcertificatechainfile")
    for i, cert in enumerate(certs):
        key = keys[i] if i < len(keys) else None
        site.slots.append(CertSlot(
            cert=parser.file_ref(cert),
            key=parser.file_ref(key) if key is not None else None,
            chain=parser.file_ref(chain) if chain is not None else None,
            index=i,
        ))
    if not certs and parser.config.extra.get("mod_md"):
        site.extra["mod_md"] = True  # mod_md supplies the certificate at startup
    elif not certs:
        at = site.get("sslengine") or origin
        parser.config.errors.append(ConfigError(
            f"SSL is on for {site.label} but no SSLCertificateFile is in effect: Apache refuses "
            "to start (AH02572: Failed to configure at least one certificate and key)",
            at.path, at.line))


def _uses_mod_md(nodes: list[_Node]) -> bool:
    """MDomain / <MDomainSet> anywhere: mod_md provides certificates for the names it manages."""
    for node in nodes:
        if node.name in ("mdomain", "mdomainset", "managedomain"):
            return True
        if node.children and _uses_mod_md(node.children):
            return True
    return False


def _collect(node: _Node, out: dict[str, list[Directive]]) -> None:
    for child in node.children or ():
        if child.children is None:
            out.setdefault(child.name, []).append(child.directive(node.name))
        else:
            _collect(child, out)
