"""Files mod_ssl opens while Apache reads its config, TLS or not.

mod_ssl checks every certificate, key, chain and CA file (and CA folder) the moment it reads the
directive (ssl_engine_config.c, ssl_cmd_check_file / ssl_cmd_check_dir), whether or not
`SSLEngine` is on for that virtual host: a missing or empty file stops the start with
`AH00526: Syntax error ... does not exist or is empty` (checked with apache2 -t). The rules
(cert-file-missing) judge the files of TLS sites; this module reports the others, which no rule
sees, as config errors in Apache's words.
"""

from __future__ import annotations

import os
import stat
from typing import TYPE_CHECKING

from certlint.model import ConfigError, Site
from certlint.parsers.apache_names import spelled

if TYPE_CHECKING:
    from certlint.parsers.apache import ApacheParser, _Node

FILES = {n.lower(): n for n in (
    "SSLCertificateFile", "SSLCertificateKeyFile", "SSLCertificateChainFile",
    "SSLCACertificateFile", "SSLCARevocationFile", "SSLCADNRequestFile",
    "SSLProxyCACertificateFile", "SSLProxyCARevocationFile", "SSLProxyMachineCertificateFile",
    "SSLProxyMachineCertificateChainFile", "SSLOCSPResponderCertificateFile")}
FOLDERS = {n.lower(): n for n in (
    "SSLCACertificatePath", "SSLCARevocationPath", "SSLCADNRequestPath",
    "SSLProxyCACertificatePath", "SSLProxyCARevocationPath", "SSLProxyMachineCertificatePath")}
ENGINE_IDS = ("pkcs11:", "engine:", "store:")  # modssl_is_engine_id: not a file


def judged_by_rules(sites: list[Site]) -> set[tuple[str, int]]:
    """(path, line) of the file directives the file rules already judge for TLS sites."""
    out: set[tuple[str, int]] = set()
    for site in sites:
        for slot in site.slots:
            for ref in (slot.cert, slot.key, slot.chain):
                if ref is not None:
                    out.add((ref.directive.path, ref.directive.line))
        for name in ("sslcacertificatefile", "sslcarevocationfile"):
            out.update((d.path, d.line) for d in site.get_all(name))
    return out


def check_files(parser: ApacheParser, tree: list[_Node]) -> None:
    """A config error for each file directive mod_ssl would refuse while reading."""
    if parser.state.modules_known and "ssl_module" not in parser.state.modules:
        return  # without mod_ssl the directive itself is the error (reported elsewhere)
    judged = judged_by_rules(parser.config.sites)
    # server-level directives: the main server and each <VirtualHost> (inside <Directory> and
    # friends Apache refuses the directive itself before it opens anything)
    stack = list(tree)
    while stack:
        node = stack.pop()
        if node.children is not None:
            if node.name == "virtualhost":
                stack.extend(node.children)
            continue
        if node.name not in FILES and node.name not in FOLDERS or not node.args:
            continue
        if (node.path, node.line) in judged:
            continue
        value = node.args[0]
        if node.name in FILES and value.lower().startswith(ENGINE_IDS):
            continue
        path = parser.resolve_path(value)
        shown = path if not parser.root else value
        if node.name in FILES and not _nonempty_file(path):
            what = f"{spelled(node.name)}: file '{shown}' does not exist or is empty"
        elif node.name in FOLDERS and not os.path.isdir(path):
            what = f"{spelled(node.name)}: directory '{shown}' does not exist"
        else:
            continue
        parser.config.errors.append(ConfigError(
            f"{what} (AH00526: Syntax error): mod_ssl opens this file while reading the "
            "config, whether or not SSLEngine is on here, so Apache will not start",
            node.path, node.line))


def _nonempty_file(path: str) -> bool:
    try:
        info = os.stat(path)
    except (OSError, ValueError):
        return False
    return stat.S_ISREG(info.st_mode) and info.st_size > 0
