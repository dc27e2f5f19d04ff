"""mod_ssl directives Apache refuses while reading the config, in Apache's own words.

httpd checks each directive as it reads it: a TLS directive with the wrong number of arguments
("SSLCertificateFile takes one argument, ..."), a flag that is not On/Off, an unknown keyword,
an `SSL...` name mod_ssl does not define ("Invalid command 'SSLCertficateFile', ..."), a
directive in a section that does not take it ("SSLEngine not allowed in <Directory> context"),
or any mod_ssl directive read while mod_ssl is not loaded stops the server with AH00526 before
anything is served. Messages and tables were checked against Apache 2.4.71's `apache2 -t` and
the names in its mod_ssl.so (tests/apache/test_syntax.py compares them word for word).

A misspelled name is reported only while mod_ssl is known to be loaded (a `LoadModule
ssl_module` already read), a missing mod_ssl only when LoadModule lines were read without it and
nothing was left unread: when no LoadModule was seen (one vhost file linted alone) the name may
belong to a module certlint cannot see, and a false alarm on a working config is worse.
"""

from __future__ import annotations

import difflib

from certlint.parsers.apache_conditions import version_at_least
from certlint.parsers.common import excerpt

# TAKE1 directives: "<Name> takes one argument, <Apache's description>"
TAKE1 = {n.lower(): (n, d) for n, d in (
    ("SSLCertificateFile",
     "SSL Server Certificate file ('/path/to/file' - PEM or DER encoded)"),
    ("SSLCertificateKeyFile",
     "SSL Server Private Key file ('/path/to/file' - PEM or DER encoded)"),
    ("SSLCertificateChainFile",
     "SSL Server CA Certificate Chain file ('/path/to/file' - PEM encoded)"),
    ("SSLCACertificateFile", "SSL CA Certificate file ('/path/to/file' - PEM encoded)"),
    ("SSLCACertificatePath",
     "SSL CA Certificate path ('/path/to/dir' - contains PEM encoded files)"),
    ("SSLCARevocationFile",
     "SSL CA Certificate Revocation List (CRL) file ('/path/to/file' - PEM encoded)"),
    ("SSLCARevocationPath",
     "SSL CA Certificate Revocation List (CRL) path ('/path/to/dir' - contains PEM encoded "
     "files)"),
    ("SSLCADNRequestFile",
     "SSL CA Distinguished Name file ('/path/to/file' - PEM encoded to derive acceptable CA "
     "names to request)"),
    ("SSLCADNRequestPath",
     "SSL CA Distinguished Name path ('/path/to/dir' - symlink hashes to PEM of acceptable CA "
     "names to request)"),
    ("SSLStaplingCache", "SSL Stapling Response Cache storage (`dbm:/path/to/file')"),
    ("SSLStaplingResponderTimeout", "SSL stapling option for OCSP responder timeout"),
    ("SSLStaplingForceURL", "SSL stapling option to Force the OCSP Stapling URL"),
    ("SSLStaplingStandardCacheTimeout",
     "SSL stapling option for normal OCSP Response Cache Lifetime"),
    ("SSLStaplingErrorCacheTimeout",
     "SSL stapling option for OCSP Response Error Cache Lifetime"),
    ("SSLStaplingResponseMaxAge", "SSL stapling option for maximum age of OCSP responses"),
    ("SSLStaplingResponseTimeSkew",
     "SSL stapling option for maximum time difference in OCSP responses"),
    ("SSLEngine", "SSL switch for the protocol engine ('on', 'off')"),
    ("SSLVerifyClient",
     "SSL Client verify type ('none', 'optional', 'require', 'optional_no_ca')"),
    ("SSLVerifyDepth",
     "SSL Client verify depth ('N' - number of intermediate certificates)"),
    ("SSLOCSPDefaultResponder", "URL of the default OCSP Responder"),
    ("SSLOCSPResponderTimeout", "OCSP responder query timeout"),
    ("SSLOCSPProxyURL", "Proxy URL to use for OCSP requests"),
    ("SSLOCSPResponderCertificateFile",
     "Trusted OCSP responder certificates(`/path/to/file' - PEM encoded certificates)"),
    ("SSLOCSPResponseMaxAge", "Maximum age of OCSP responses"),
    ("SSLOCSPResponseTimeSkew", "Maximum time difference in OCSP responses"),
    ("SSLSessionCache",
     "SSL Session Cache storage ('none', 'nonenotnull', 'dbm:/path/to/file')"),
    ("SSLPassPhraseDialog",
     "SSL dialog mechanism for the pass phrase query ('builtin', '|/path/to/pipe_program', "
     "or 'exec:/path/to/cgi_program')"),
    ("ServerName", "The hostname and port of the server"),
    ("ServerRoot", "Common directory of server-related files (logs, confs, etc.)"),
)}

# FLAG directives: "<Name> must be On or Off" for a wrong count or any other word
FLAG = {n.lower(): n for n in (
    "SSLUseStapling", "SSLStaplingReturnResponderErrors", "SSLStaplingFakeTryLater",
    "SSLOCSPOverrideResponder", "SSLOCSPUseRequestNonce", "SSLOCSPNoVerify",
    "SSLStrictSNIVHostCheck",
)}

# RAW_ARGS directives: a mode word, then optional flags (each checked, case-insensitively)
MODES = {
    "sslcarevocationcheck": ("SSLCARevocationCheck", ("chain", "leaf", "none"),
                             ("no_crl_for_cert_ok",)),
    "sslocspenable": ("SSLOCSPEnable", ("on", "leaf", "off"), ("no_ocsp_for_cert_ok",)),
}
VERIFY_CLIENT = ("none", "off", "optional", "require", "on", "optional_no_ca")

# every directive Apache 2.4.71's mod_ssl defines (strings mod_ssl.so, each checked with
# apache2 -t), plus names from other releases so they are never called misspellings
NAMES = (
    "SSLCACertificateFile", "SSLCACertificatePath", "SSLCADNRequestFile", "SSLCADNRequestPath",
    "SSLCARevocationCheck", "SSLCARevocationFile", "SSLCARevocationPath",
    "SSLCertificateChainFile", "SSLCertificateFile", "SSLCertificateKeyFile", "SSLCipherSuite",
    "SSLCompression", "SSLCryptoDevice", "SSLEngine", "SSLFIPS", "SSLHonorCipherOrder",
    "SSLInsecureRenegotiation", "SSLLog", "SSLLogLevel", "SSLOCSPDefaultResponder",
    "SSLOCSPEnable", "SSLOCSPNoVerify", "SSLOCSPOverrideResponder", "SSLOCSPProxyURL",
    "SSLOCSPResponderCertificateFile", "SSLOCSPResponderTimeout", "SSLOCSPResponseMaxAge",
    "SSLOCSPResponseTimeSkew", "SSLOCSPUseRequestNonce", "SSLOpenSSLConfCmd", "SSLOptions",
    "SSLPassPhraseDialog", "SSLProtocol", "SSLProxyCACertificateFile",
    "SSLProxyCACertificatePath", "SSLProxyCARevocationCheck", "SSLProxyCARevocationFile",
    "SSLProxyCARevocationPath", "SSLProxyCheckPeerCN", "SSLProxyCheckPeerExpire",
    "SSLProxyCheckPeerName", "SSLProxyCipherSuite", "SSLProxyEngine",
    "SSLProxyMachineCertificateChainFile", "SSLProxyMachineCertificateFile",
    "SSLProxyMachineCertificatePath", "SSLProxyProtocol", "SSLProxyVerify",
    "SSLProxyVerifyDepth", "SSLRandomSeed", "SSLRenegBufferSize", "SSLRequire",
    "SSLRequireSSL", "SSLSRPUnknownUserSeed", "SSLSRPVerifierFile", "SSLSessionCache",
    "SSLSessionCacheTimeout", "SSLSessionTicketKeyFile", "SSLSessionTickets",
    "SSLStaplingCache", "SSLStaplingErrorCacheTimeout", "SSLStaplingFakeTryLater",
    "SSLStaplingForceURL", "SSLStaplingResponderTimeout", "SSLStaplingResponseMaxAge",
    "SSLStaplingResponseTimeSkew", "SSLStaplingReturnResponderErrors",
    "SSLStaplingStandardCacheTimeout", "SSLStrictSNIVHostCheck", "SSLUseStapling",
    "SSLUserName", "SSLVHostSNIPolicy", "SSLVerifyClient", "SSLVerifyDepth",
    # not in 2.4.71, but defined by other httpd releases (trunk / vendor builds)
    "SSLClientHelloVars", "SSLPolicy", "SSLProxyPolicy", "SSLECHKeyDir",
)
KNOWN = {n.lower(): n for n in NAMES}
REMOVED = {"ssllog": "SSLLog directive is no longer supported - use ErrorLog.",
           "sslloglevel": "SSLLogLevel directive is no longer supported - use LogLevel."}
STOPS = ": Apache refuses the config and does not start"
NOT_LOADED = (" (mod_ssl is not loaded where this line is read: add `LoadModule ssl_module "
              "modules/mod_ssl.so` before it; on Debian/Ubuntu `a2enmod ssl`)")


def check_directive(parser, name: str, args: list[str], ln) -> bool:
    """Record Apache's error for a directive it refuses while reading (the `ApacheParser`
    hook); True when the directive is to be dropped (it never takes effect)."""
    state = parser.state
    ssl = "ssl_module" in state.modules if state.modules_known else None
    if ssl and not version_at_least(parser.version, "2.4"):
        ssl = None  # 2.2's mod_ssl had other names (SSLMutex): not called misspellings
    problem = ssl_error(name, args, ssl)
    if problem is not None:
        parser._error(problem, ln.path, ln.line)
        return True
    if ssl is False and name in KNOWN and not getattr(parser, "_ssl_missing_reported", False) \
            and all(e.severity == "warning" for e in parser.config.errors):
        # Apache stops at the first mod_ssl directive; once is enough. After an earlier error
        # (an include that could not be read) the LoadModule may be in what was not read.
        parser._ssl_missing_reported = True
        parser._error(f"Invalid command '{excerpt(args[0])}', perhaps misspelled or defined by "
                      f"a module not included in the server configuration{NOT_LOADED}{STOPS}",
                      ln.path, ln.line)
    return False


def ssl_error(name: str, args: list[str], ssl_loaded: bool | None) -> str | None:
    """Apache's message for a TLS directive it refuses while reading, or None.

    `name` is lower-cased, `args` the line's words (args[0] as written), `ssl_loaded` True when
    a `LoadModule ssl_module` was read, False when modules are known and it was not, None when
    unknown.
    """
    values = args[1:]
    if (ssl_loaded is False and name.startswith("ssl")) or "$" in name:
        return None  # Apache's complaint is the missing module, not the arguments
    if name in TAKE1 and len(values) != 1:
        shown, description = TAKE1[name]
        hint = " (a path with spaces needs quotes)" if len(values) > 1 and \
            name.endswith(("file", "path")) else ""
        return f"{shown} takes one argument, {description}{hint}{STOPS}"
    if name in FLAG and (len(values) != 1 or values[0].lower() not in ("on", "off")):
        return f"{FLAG[name]} must be On or Off{STOPS}"
    if name == "sslengine" and values[0].isalpha() and \
            values[0].lower() not in ("on", "off", "optional"):
        return f"Argument must be On or Off (SSLEngine {excerpt(values[0])}){STOPS}"
    if name == "sslverifyclient" and values[0].lower() not in VERIFY_CLIENT:
        return f"SSLVerifyClient: Invalid argument '{excerpt(values[0])}'{STOPS}"
    if name in MODES:
        shown, modes, flags = MODES[name]
        first = values[0] if values else ""
        bad = first if first.lower() not in modes else next(
            (v for v in values[1:] if v.lower() not in flags), None)
        if bad is not None:
            return f"{shown}: Invalid argument '{excerpt(bad)}'{STOPS}"
    if name in REMOVED:
        return REMOVED[name] + STOPS
    if ssl_loaded and name.startswith("ssl") and name not in KNOWN:
        close = difflib.get_close_matches(name, KNOWN, 1, 0.85)
        hint = f" (did you mean {KNOWN[close[0]]}?)" if close else ""
        return (f"Invalid command '{excerpt(args[0])}', perhaps misspelled or defined by a "
                f"module not included in the server configuration{hint}{STOPS}")
    return None


# where mod_ssl accepts a directive (its req_override), checked with apache2 -t
SERVER_ONLY = frozenset(n.lower() for n in (  # RSRC_CONF: never inside <Directory>, <If>, ...
    "SSLCertificateFile", "SSLCertificateKeyFile", "SSLCertificateChainFile",
    "SSLCARevocationFile", "SSLCARevocationPath", "SSLCARevocationCheck", "SSLEngine",
    "SSLProtocol", "SSLHonorCipherOrder", "SSLSessionCache", "SSLUseStapling",
    "SSLStaplingCache", "SSLStaplingResponderTimeout", "SSLStaplingForceURL",
    "SSLOCSPEnable", "SSLOCSPDefaultResponder", "SSLPassPhraseDialog", "SSLRandomSeed",
    "SSLCryptoDevice", "SSLFIPS",
))
# GLOBAL_ONLY: "cannot occur within <VirtualHost> section" (SSLStaplingCache has its own rule)
MAIN_ONLY = {n.lower(): n for n in (
    "SSLSessionCache", "SSLPassPhraseDialog", "SSLRandomSeed", "SSLCryptoDevice", "SSLFIPS",
)}
PER_DIR = {n.lower(): n for n in (
    "Directory", "DirectoryMatch", "Files", "FilesMatch", "Location", "LocationMatch", "If",
    "ElseIf", "Else",
)}


def check_sections(parser, tree: list) -> None:
    """Record Apache's error for a mod_ssl directive in a section that does not take it."""
    stack = [(tree, None, False)]
    while stack:
        nodes, per_dir, in_vhost = stack.pop()
        for node in nodes:
            if node.children is not None:
                inner = PER_DIR.get(node.name, per_dir)
                stack.append((node.children, inner, in_vhost or node.name == "virtualhost"))
                continue
            shown = KNOWN.get(node.name)
            if shown is None:
                continue
            if per_dir and node.name in SERVER_ONLY:
                parser._error(f"{shown} not allowed in <{per_dir}> context{STOPS}", node.path,
                              node.line)
            elif in_vhost and not per_dir and node.name in MAIN_ONLY:
                parser._error(f"{shown} cannot occur within <VirtualHost> section{STOPS}",
                              node.path, node.line)
