"""The neutral model shared by parsers, rules, fixes and reporters.

Parsers turn nginx or Apache configs into a `ServerConfig` holding `Site`s. Every value remembers
the file and line it came from (`Directive.path`/`Directive.line`), so findings point at the
directive an operator has to change. Rules read `Site`s and yield `Finding`s.

A site's served chains come from one of three sources (design.md, "Sources of a served chain"):
certificate files named by a config (`CertSlot.cert`/`chain`), a live endpoint, or a transcript
or PEM bundle. The last two give a `ServedChain` on the slot and an `Endpoint` on the site
instead of directives; their findings carry no line (`line`/`column` None).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SEVERITIES = ("error", "warning", "info")
SEVERITY_RANK = {"info": 0, "warning": 1, "error": 2}


@dataclass(frozen=True, init=False)
class Directive:
    """One directive occurrence: `name args...` at `path:line`.

    `name` is lower-cased for Apache (directive names are case-insensitive there) and kept as
    written for nginx (where it is already lower case). `block` is the enclosing context as seen
    by the parser ("http", "server", "main", "vhost"), for messages and inheritance.
    """

    name: str
    args: tuple[str, ...]
    path: str
    line: int | None  # None: a probed site's source (endpoint or transcript), not a config line
    column: int | None = 1
    block: str = ""

    def __init__(self, name: str, args: tuple[str, ...], path: str, line: int | None,
                 column: int | None = 1, block: str = ""):
        # one call instead of the six object.__setattr__ of a frozen dataclass's __init__: a
        # fleet's parse makes one Directive per statement
        self.__dict__.update(name=name, args=args, path=path, line=line, column=column,
                             block=block)

    @property
    def value(self) -> str:
        return self.args[0] if self.args else ""

    def flag(self) -> bool | None:
        """`on`/`off` style value as a bool; None when it is neither."""
        v = self.value.lower()
        if v in ("on", "true", "yes", "1"):
            return True
        if v in ("off", "false", "no", "0", "none"):
            return False
        return None


@dataclass
class FileRef:
    """A file a directive names: the directive, and the path on disk certlint opens.

    `path` is None when the value cannot be opened offline (variables, `data:`, `engine:`):
    then `dynamic` says why.
    """

    directive: Directive
    path: str | None
    dynamic: str | None = None

    @property
    def shown(self) -> str:
        """The path as written in the config; inline `data:` content (maybe a private key) is
        never repeated, only its size."""
        value = self.directive.value
        if value.startswith("data:"):
            return f"data:... ({len(value) - 5} characters of inline content)"
        if "-----BEGIN" in value or "PRIVATE KEY" in value:  # a key pasted in place of a path
            return f"(PEM text pasted in place of a file name, {len(value)} characters)"
        if not value.isprintable():  # a quoted path with a newline must not break output lines
            return value.encode("unicode_escape").decode("ascii")
        return value


@dataclass
class ServedChain:
    """Certificates exactly as a server sends them, read from the wire or from a transcript or
    PEM bundle (not from config files).

    `key_spki` is the public key the handshake proved (a live endpoint signs with the first
    certificate's key), None for a transcript or a bundle. `staple` is the stapled OCSP response
    (DER); `staple_seen` says whether the source could show one at all (a live handshake that
    asked for status_request, a transcript made with `-status`).
    """

    certs: list[Any]
    source: str  # "endpoint" | "transcript" | "pem"
    key_spki: bytes | None = None
    staple: bytes | None = None
    staple_seen: bool = False
    staple_text: str | None = None  # a transcript's printed OCSP response (no DER to verify)
    key_type: str | None = None  # "RSA" | "ECDSA" ... for a dual-certificate endpoint
    tls_version: str | None = None


@dataclass
class Endpoint:
    """What a probed site is: the name used for SNI and the name check, the port, where the
    connection went, and the target as the user gave it (the `path` of its findings)."""

    name: str
    port: int
    target: str
    address: str | None = None
    key_type: str | None = None  # set when the endpoint serves several chains (dual certs)
    error: str | None = None  # no handshake: the socket error or TLS alert (no chain then)


@dataclass
class CertSlot:
    """One certificate the site serves: certificate file, key file, optional chain file.

    nginx pairs `ssl_certificate` i with `ssl_certificate_key` i; Apache pairs
    `SSLCertificateFile` with `SSLCertificateKeyFile` by index and may add a vhost-wide
    `SSLCertificateChainFile`. `key` is None when no key is configured (Apache then reads the key
    from the certificate file itself).
    """

    cert: FileRef
    key: FileRef | None = None
    chain: FileRef | None = None
    index: int = 0
    # nginx ssl_password_file: passphrases tried on an encrypted key, as nginx does
    passwords: FileRef | None = None
    # a probed site: the chain as served (then `cert` only locates findings: no file behind it)
    served: ServedChain | None = None


@dataclass
class Site:
    """What one TLS endpoint serves: an nginx `server` block or an Apache `<VirtualHost>`.

    `directives` holds the *effective* settings after inheritance (http -> server in nginx,
    main server -> vhost in Apache), keyed by lower-cased directive name, each a list in config
    order. Use `get`/`get_all`/`flag` rather than reading it directly.
    """

    server: str  # "nginx" | "apache" | "probe" (a live endpoint, transcript or PEM bundle)
    origin: Directive  # the `server {` / `<VirtualHost>` line
    names: list[str] = field(default_factory=list)
    names_directive: Directive | None = None
    listen: list[str] = field(default_factory=list)
    slots: list[CertSlot] = field(default_factory=list)
    directives: dict[str, list[Directive]] = field(default_factory=dict)
    own: set[str] = field(default_factory=set)  # directive names set in the block itself
    suppressed: set[str] = field(default_factory=set)  # rules disabled for the whole block
    extra: dict[str, Any] = field(default_factory=dict)  # parser-specific facts
    endpoint: Endpoint | None = None  # a probed site (server "probe"): no directives at all

    @property
    def label(self) -> str:
        """`example.com:443`: the first name and first port, for the `site` output field (the
        first TLS port of an nginx server that also listens on plain 80). A probed site:
        `NAME:PORT`, plus ` (RSA)`/` (ECDSA)` when the endpoint serves one chain per key type."""
        if self.endpoint is not None:
            name = self.endpoint.name
            host = f"[{name}]" if ":" in name else name
            kind = f" ({self.endpoint.key_type})" if self.endpoint.key_type else ""
            return f"{host}:{self.endpoint.port}{kind}"
        name = next((n for n in self.names if n and n != "_"), None) or "_"
        port = ""
        tls_ports = [f":{p}" for _a, p in self.extra.get("tls_listen_keys", ()) if p]
        for listen in tls_ports + self.listen:
            port = listen.rsplit(":", 1)[-1] if ":" in listen else listen
            if port.isdigit():
                break
            port = ""
        return f"{name}:{port}" if port else name

    def get(self, name: str) -> Directive | None:
        values = self.directives.get(name.lower())
        return values[-1] if values else None

    def get_all(self, name: str) -> list[Directive]:
        return self.directives.get(name.lower(), [])

    def flag(self, name: str, default: bool = False) -> bool:
        d = self.get(name)
        if d is None:
            return default
        value = d.flag()
        return default if value is None else value


@dataclass
class ConfigError:
    """A problem reading the config itself (missing include, loop, syntax, binary file)."""

    message: str
    path: str
    line: int = 0
    fatal: bool = False  # the entry point itself could not be read at all
    severity: str = "error"  # "warning" where the server itself only warns (Apache AH00111)


@dataclass
class ServerConfig:
    """A parsed config tree: its sites plus server-level facts rules may need."""

    server: str  # "nginx" | "apache"
    entry: str
    prefix: str  # nginx conf prefix / Apache ServerRoot
    sites: list[Site] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # every config file read
    errors: list[ConfigError] = field(default_factory=list)
    # path -> {line: comment text}; used for `# certlint: disable-next-line=RULE`
    comments: dict[str, dict[int, str]] = field(default_factory=dict)
    # server-level directives (nginx http/main, Apache main server), lower-cased name -> list
    globals: dict[str, list[Directive]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    # the parser's path resolution: Directive -> FileRef (prefix/ServerRoot, --root, variables)
    resolver: Any = None

    def file_ref(self, directive: Directive) -> FileRef:
        """The file a directive names, resolved as the server resolves it."""
        return self.resolver(directive)

    def global_get(self, name: str) -> Directive | None:
        values = self.globals.get(name.lower())
        return values[-1] if values else None


@dataclass
class Finding:
    """One problem, located at the directive to change (a probed site: at the target or
    transcript, `line`/`column` None). `facts` holds structured values beside the message
    (subjects, dates, URLs, fingerprints, ...) for documents rendered in any language."""

    rule: str
    severity: str
    path: str
    line: int | None
    message: str
    column: int | None = 1
    site: str = ""
    fixable: bool = False
    fix: Any = None  # a plan for certlint.fix, or None
    facts: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "message": self.message,
            "site": self.site,
            "fixable": self.fixable,
        }
