"""Apache httpd config parser (our own: no maintained library fits), producing `ServerConfig`.

It reads the tree as httpd does: one directive per logical line (`\\` continues a line; findings
point at its first line), case-insensitive names, `"quoted args"` with `\\"` escapes, `${VAR}`
expanded over the whole line before tokenizing (Define first, then Debian's `envvars` beside
apache2.conf, then `--env NAME=VALUE`; never certlint's own environment: SECURITY.md promise
4), `Include`/`IncludeOptional` (globs, whole directories,
ServerRoot-relative), conditional sections evaluated where the answer is knowable (else assumed
active), and `<Macro>`/`Use` expanded. Every problem becomes a `ConfigError` with file:line.
Sites are the `<VirtualHost>`s that enable TLS, with the main server's SSL settings merged in as
mod_ssl merges them.
"""

from __future__ import annotations

import glob
import os
import re
from dataclasses import dataclass, field

from certlint import reads
from certlint.model import ConfigError, Directive, FileRef, ServerConfig
from certlint.parsers.apache_conditions import RegexRefused, if_version, module_names
from certlint.parsers.apache_syntax import check_directive
from certlint.parsers.common import (
    ConfigFileReader,
    excerpt,
    follow_root_links,
    map_root,
    root_hint,
    section_name,
)
from certlint.safe_io import read_bounded

MAX_DIRECTORY_ENTRIES = 50_000  # files and folders read through `Include DIR` in one run
MAX_INCLUDE_DEPTH = 128  # httpd: "Exceeded maximum include depth of 128"
MAX_NESTING = 100  # sections inside sections; deeper is hostile input, not a config
MAX_ERRORS_PER_FILE = 20  # config errors reported per file before certlint goes quiet
MAX_LINE_CHARS = 1024 * 1024  # one logical line; longer is no hand-written config
MAX_LINES = 500_000  # expanded lines (macros) before we stop: a macro bomb is not a config
MAX_EXPANDED_LINE = 64 * 1024  # a line after ${VAR} expansion; Define chains double it per level
MAX_VARIABLE = MAX_EXPANDED_LINE
VAR = re.compile(r"\$\{([^}:]*)\}")
GLOB_CHARS = re.compile(r"[*?\[]")
CONDITIONALS = ("ifmodule", "ifdefine", "ifversion", "iffile", "ifdirective", "ifsection")
NON_FILE_PREFIXES = ("pkcs11:", "engine:", "store:")
ONE_ARGUMENT = ("sslcertificatefile", "sslcertificatekeyfile", "sslcertificatechainfile",
                "sslcacertificatefile", "sslcacertificatepath", "servername", "serverroot")
STATIC_MODULES = ("core", "so", "watchdog", "http", "log_config", "logio", "version", "unixd")
ENVVARS_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$")
SHELL_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")
PLAIN_WORD = re.compile(r"[^ \t\r\f\v]+")  # an unquoted word, when a line has no quote or \\


class _TooLong(Exception):
    """A line grows past MAX_EXPANDED_LINE while its variables are expanded."""


@dataclass
class _Line:
    """One logical line (continuations joined) and where it starts."""

    text: str
    path: str
    line: int
    end: int = 0  # last physical line of a continued directive (httpd reports this one)


@dataclass
class _Node:
    """A directive or a section after includes, conditionals and macros are resolved."""

    name: str  # lower-cased
    args: tuple[str, ...]
    path: str
    line: int
    children: list[_Node] | None = None
    end: int = 0

    def directive(self, block: str) -> Directive:
        return Directive(self.name, self.args, self.path, self.line, 1, block)


@dataclass
class _Macro:
    name: str
    params: list[str]
    body: list[_Line]
    path: str
    line: int


@dataclass
class _State:
    """What the server knows while reading, in order: defines, modules, ServerRoot."""

    defines: dict[str, str] = field(default_factory=dict)  # names <IfDefine> sees
    # ${NAME} values: only `Define NAME value` sets one (a bare `Define NAME` leaves ${NAME}
    # undefined, AH00111, or keeps an earlier value; checked against apache2 -t)
    variables: dict[str, str] = field(default_factory=dict)
    undefined: set[str] = field(default_factory=set)  # names removed with UnDefine
    envvars: dict[str, str] = field(default_factory=dict)
    modules: set[str] = field(default_factory=set)
    modules_known: bool = False  # any LoadModule seen: module presence is knowable
    macros: dict[str, _Macro] = field(default_factory=dict)
    lines: int = 0


def _logical_lines(text: str, path: str) -> list[_Line]:
    """Join `\\`-continued lines as httpd does (a backslash right before the newline)."""
    raw = text.split("\n")
    if "\\" not in text:  # no continuations: one logical line per physical line
        return [_Line(line.strip(), path, i, i) for i, line in enumerate(raw, 1)]
    out: list[_Line] = []
    i = 0
    while i < len(raw):
        start = i + 1
        line = raw[i].rstrip("\r")
        i += 1
        while line.endswith("\\") and not line.endswith("\\\\") and i < len(raw):
            line = line[:-1] + raw[i].rstrip("\r")
            i += 1
        out.append(_Line(line.strip(), path, start, i))
    return out


def split_args(text: str) -> list[str]:
    """httpd's ap_getword_conf: whitespace-separated words, `"..."`/`'...'` with `\\` escapes."""
    if '"' not in text and "'" not in text and "\\" not in text:
        return PLAIN_WORD.findall(text)
    args: list[str] = []
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] in " \t\r\f\v":
            i += 1
        if i >= n:
            break
        if text[i] in "\"'":
            quote = text[i]
            i += 1
            buf = []
            while i < n and text[i] != quote:
                if text[i] == "\\" and i + 1 < n and text[i + 1] in (quote, "\\"):
                    buf.append(text[i + 1])
                    i += 2
                    continue
                buf.append(text[i])
                i += 1
            i += 1
            args.append("".join(buf))
        else:
            j = i
            while j < n and text[j] not in " \t\r\f\v":
                j += 1
            args.append(text[i:j].replace("\\\\", "\\"))
            i = j
    return args


def read_envvars(path: str, env: dict[str, str] | None = None) -> dict[str, str]:
    """`export NAME=value` lines of Debian's envvars (shell `$VAR` expanded from earlier ones and
    from `--env`, never from certlint's own environment)."""
    env = env or {}
    values: dict[str, str] = {}
    try:  # a FIFO, device or huge file named envvars is skipped, never read
        lines = read_bounded(path, 1024 * 1024).decode("utf-8", "replace").splitlines()
    except OSError:
        return values
    for line in lines:
        m = ENVVARS_LINE.match(line)
        if not m:
            continue
        value = m.group(2).strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        if "${" in value and "}" in value and re.search(r"\$\{[^}]*[#%:/]", value):
            value = ""  # shell string operations (SUFFIX tricks): not ours to evaluate
        values[m.group(1)] = SHELL_VAR.sub(
            lambda v: values.get(v.group(1) or v.group(2), env.get(v.group(1) or v.group(2), "")),
            value)[:MAX_VARIABLE]
    return values


def command_line_defines(arguments: str) -> set[str]:
    """The `-D NAME` / `-DNAME` names of an httpd command line."""
    words = arguments.split()
    names = set()
    for i, word in enumerate(words):
        if word == "-D" and i + 1 < len(words):
            names.add(words[i + 1])
        elif word.startswith("-D") and len(word) > 2:
            names.add(word[2:])
    return names


class ApacheParser:
    """Parse one Apache entry point (apache2.conf / httpd.conf) into a `ServerConfig`."""

    def __init__(self, entry: str, root: str | None = None, apache_version: str | None = None,
                 defines: list[str] | None = None, env: dict[str, str] | None = None):
        from certlint.context import DEFAULT_APACHE_VERSION

        self.entry = os.path.abspath(entry)
        self.root = os.path.abspath(root) if root else None
        self.version = apache_version or DEFAULT_APACHE_VERSION
        self.server_root = os.path.dirname(self.entry)
        self.reader = ConfigFileReader()
        self.config = ServerConfig("apache", self.entry, self.server_root)
        self.config.resolver = self.file_ref
        self.state = _State()
        # `apache2 -D NAME` names (--define): once given, a name never defined is known unset
        self.command_line = set(defines or ())
        self.env = dict(env or {})  # --env NAME=VALUE: httpd's environment as the user states it
        self._aborted = False
        self._nesting = 0
        self._texts: dict[str, list[_Line]] = {}  # logical lines of each file read
        self._real_dirs: dict[str, str] = {}  # folder -> its realpath
        self._errors_in: dict[str, int] = {}  # config errors reported per file

    # -- entry ---------------------------------------------------------------------------

    def parse(self) -> ServerConfig:
        folder = os.path.dirname(self.entry)
        parent = os.path.dirname(folder)
        if (os.path.basename(self.entry) not in ("apache2.conf", "httpd.conf")
                and not os.path.isfile(os.path.join(folder, "apache2.conf"))
                and os.path.isfile(os.path.join(parent, "apache2.conf"))):
            # one file of a Debian tree (sites-available/x.conf): the tree is its ServerRoot
            folder = self.server_root = self.config.prefix = parent
        envvars = os.path.join(folder, "envvars")
        if os.path.isfile(envvars):
            self.state.envvars = read_envvars(envvars, self.env)
            self.config.extra["envvars"] = envvars
            # Debian's apache2ctl starts httpd with ${APACHE_ARGUMENTS} from envvars
            self.command_line |= command_line_defines(
                self.state.envvars.get("APACHE_ARGUMENTS", ""))
        if os.path.exists(self.entry) and not os.path.isdir(self.entry) and \
                not os.path.isfile(self.entry):
            self.config.errors.append(ConfigError(
                "not a regular file (a device, socket or pipe)", self.entry, 0, True))
            return self.config
        data = self.reader.read(self.entry, self.config, fatal=True)
        if data is None:
            return self.config
        try:
            tree = self._parse_text(data, self.entry, [os.path.realpath(self.entry)])
        except RecursionError:
            self._error("sections, includes and macros are nested too deeply to follow: "
                        "certlint stops here", self.entry, 0)
            return self.config
        self.config.prefix = self.server_root
        self.config.extra["defines"] = dict(self.state.defines)
        self._build(tree)
        return self.config

    def _error(self, message: str, path: str, line: int) -> None:
        # a file that is no config (an XML file with credentials, a binary blob) must not
        # fill the report: like httpd, which stops at the first error, say so and go quiet
        count = self._errors_in.get(path, 0) + 1
        self._errors_in[path] = count
        if count > MAX_ERRORS_PER_FILE:
            if count == MAX_ERRORS_PER_FILE + 1:
                self.config.errors.append(ConfigError(
                    f"more than {MAX_ERRORS_PER_FILE} problems in this file (is it an Apache "
                    "config at all?): certlint reports no more of them", path, line))
            return
        self.config.errors.append(ConfigError(message, path, line))

    # -- reading -------------------------------------------------------------------------

    def _parse_text(self, data: bytes | list[_Line], path: str, stack: list[str]
                    ) -> list[_Node]:
        self.config.files.append(path)
        if isinstance(data, list):
            lines = data
        else:
            # the caps, checked before the work (SECURITY.md promise 10): lines counted in C
            if self.state.lines + data.count(b"\n") > MAX_LINES:
                self._error(f"more than {MAX_LINES} config lines in the files read so far: "
                            "certlint stops reading here (is it generated or hostile?)", path, 0)
                self._aborted = True
                return []
            text = data.decode("utf-8", "replace")
            if text.startswith("\ufeff"):
                text = text[1:]
            lines = self._texts[path] = _logical_lines(text, path)
        nodes, _pos = self._parse_lines(lines, 0, None, stack)
        return nodes

    def _parse_lines(self, lines: list[_Line], pos: int, opened: _Line | None,
                     stack: list[str], tag: str = "") -> tuple[list[_Node], int]:
        """Statements from `pos` until the `</tag>` closing `opened` (or the end)."""
        nodes: list[_Node] = []
        while pos < len(lines):
            ln = lines[pos]
            pos += 1
            if self._aborted:
                return nodes, len(lines)
            self.state.lines += 1
            if self.state.lines > MAX_LINES:
                self._error(f"more than {MAX_LINES} config lines after expanding macros and "
                            "includes: certlint stops reading here", ln.path, ln.line)
                self._aborted = True
                return nodes, len(lines)
            text = ln.text
            if not text:
                continue
            if len(text) > MAX_LINE_CHARS:
                self._error(f"a line of {len(text)} characters (more than {MAX_LINE_CHARS}): "
                            "certlint does not read it", ln.path, ln.line)
                continue
            if text.startswith("#"):
                self.config.comments.setdefault(ln.path, {})[ln.line] = text
                continue
            if text.startswith("</"):
                if self._closes(text, ln, opened, tag):
                    return nodes, pos
                continue
            if text.startswith("<") and text[1:2].lower() == "m" and \
                    text[1:].split(None, 1)[0].rstrip(">").lower() == "macro":
                pos = self._define_macro(lines, pos, ln)
                continue
            text = self._expand_vars(text, ln)
            if text.startswith("<"):
                pos = self._section(lines, pos, ln, text, nodes, stack)
                continue
            args = split_args(text)
            name = args[0].lower()
            nodes.extend(self._directive(name, args, ln, stack))
        if opened is not None and tag not in CONDITIONALS:
            # an active <IfModule>/<IfDefine>/<IfVersion> simply ends with its file (checked
            # with apache2 -t); any other section must be closed
            self._error(f"<{tag_shown(opened)}> was not closed before the end of the file; "
                        "Apache refuses the config", opened.path, opened.line)
        return nodes, pos

    def _closes(self, text: str, ln: _Line, opened: _Line | None, tag: str) -> bool:
        """Does this `</...` line close the section being read? As httpd's config.c decides:
        an active conditional section ends only at a line that is exactly `</IfModule>` (any
        case; ap_build_cont_config compares the whole line); any other section ends at a line
        whose FIRST word closes it, the rest of the line being ignored (so `</VirtualHost>
        </IfModule>` closes the virtual host and nothing else)."""
        if opened is not None and tag in CONDITIONALS and text.lower() == f"</{tag}>":
            return True
        first = text.split(None, 1)[0]
        shown = excerpt(first)  # a short excerpt, never a whole foreign line (promise 5)
        if opened is None or tag in CONDITIONALS:
            self._error(f"{shown} without matching <{shown[2:]} section", ln.path, ln.line)
            return False
        if not first.endswith(">"):
            self._error(f"{shown}> directive missing closing '>'", ln.path, ln.line)
            return first[2:].lower() == tag
        if first[2:-1].lower() == tag:
            return True
        self._error(f"Expected </{tag_shown(opened)}> but saw {shown}", ln.path, ln.line)
        return False

    def _expand_vars(self, text: str, ln: _Line) -> str:
        if "${" not in text:
            return text
        budget = [MAX_EXPANDED_LINE - len(text)]

        def value(m: re.Match) -> str:
            name = m.group(1)
            found = self.state.variables.get(name, self.state.envvars.get(name))
            if found is not None:
                budget[0] -= len(found)
                if budget[0] < 0:  # stop before building it (Define chains double per level)
                    raise _TooLong
                return found
            if name in self.env:
                budget[0] -= len(self.env[name])
                if budget[0] < 0:
                    raise _TooLong
                return self.env[name]
            self.config.errors.append(ConfigError(
                f"AH00111: Config variable ${{{excerpt(name)}}} is not defined (Apache warns and "
                "keeps the text literally; certlint reads Define, envvars and --env NAME=VALUE, "
                "never its own environment)", ln.path, ln.line, severity="warning"))
            return m.group(0)

        try:
            return VAR.sub(value, text)
        except _TooLong:
            self._error(f"expanding the ${{...}} variables of this line makes it longer than "
                        f"{MAX_EXPANDED_LINE} characters (Define values that expand each "
                        "other): certlint keeps it unexpanded", ln.path, ln.line)
            return text

    def _section(self, lines: list[_Line], pos: int, ln: _Line, text: str,
                 nodes: list[_Node], stack: list[str]) -> int:
        if not text.endswith(">"):
            self._error(f"<{excerpt(section_name(text))} directive missing closing '>'",
                        ln.path, ln.line)
            text = text + ">"
        inner = text[1:text.rindex(">")]
        parts = inner.split(None, 1)
        if not parts:
            self._error("empty section tag '<>'", ln.path, ln.line)
            return pos
        name = parts[0].lower()
        rest = parts[1] if len(parts) > 1 else ""
        if self._nesting >= MAX_NESTING:
            self._error(f"sections nested more than {MAX_NESTING} deep: certlint skips "
                        f"<{tag_shown(ln)}> and what it holds", ln.path, ln.line)
            return self._skip(lines, pos, ln, name)
        if name in CONDITIONALS and not self._condition(name, rest, ln):
            end = self._skip(lines, pos, ln, name)
            if name == "ifmodule" and split_args(rest)[:1] in (["mod_ssl.c"], ["ssl_module"]):
                self._count_ssl_vhosts(lines[pos:end])
            return end
        self._nesting += 1
        try:
            children, pos = self._parse_lines(lines, pos, ln, stack, name)
        finally:
            self._nesting -= 1
        if name in CONDITIONALS:
            nodes.extend(children)
        else:
            nodes.append(_Node(name, tuple(split_args(rest)), ln.path, ln.line, children,
                               ln.end))
        return pos

    def _count_ssl_vhosts(self, lines: list[_Line]) -> None:
        """`<IfModule mod_ssl.c>` skipped because mod_ssl is not loaded: count the virtual hosts
        in it that carry SSL directives (they serve no TLS; the summary says so)."""
        count, in_vhost, has_ssl = 0, False, False
        for ln in lines:
            low = ln.text.lower()
            if low.startswith("<virtualhost"):
                in_vhost, has_ssl = True, False
            elif low.startswith("</virtualhost"):
                count += in_vhost and has_ssl
                in_vhost = False
            elif in_vhost and low.startswith("ssl"):
                has_ssl = True
        if count:
            extra = self.config.extra
            extra["ssl_vhosts_left_out"] = extra.get("ssl_vhosts_left_out", 0) + count

    def _skip(self, lines: list[_Line], pos: int, opened: _Line, tag: str) -> int:
        """Skip an inactive section up to its close, counting nested sections (no expansion),
        as httpd's ap_soak_end_container does: only the first word of a line counts, and a
        closing word loses its last character (`</VirtualHost> </IfModule>` closes the
        virtual host only)."""
        depth = [(tag, tag_shown(opened))]
        while pos < len(lines):
            ln = lines[pos]
            text = ln.text
            pos += 1
            if not text.startswith("<"):
                continue
            words = text.split(None, 1)
            first = words[0]
            if first.startswith("</"):
                if first[2:-1].lower() != depth[-1][0]:
                    # httpd blames the line of the section it was skipping
                    self._error(f"Expected </{depth[-1][1]}> but saw </{first[2:-1]}>",
                                opened.path, opened.line)
                depth.pop()
                if not depth:
                    return pos
            else:
                name = first[1:]
                if len(words) == 1 and name.endswith(">"):
                    name = name[:-1]
                depth.append((name.lower(), name))
        self._error(f"<{tag_shown(opened)}> was not closed before the end of the file (Apache: "
                    f"Expected </{tag_shown(opened)}> before end of configuration); Apache "
                    "refuses the config", opened.path, opened.line)
        return pos

    def _condition(self, name: str, rest: str, ln: _Line) -> bool:
        """Is a conditional section active? Unknowable answers count as active."""
        args = split_args(rest)
        if name == "ifversion":
            try:
                result = if_version(args, self.version)
            except RegexRefused as exc:
                self._error(f"<IfVersion {excerpt(rest)}>: {exc}; certlint does not evaluate it "
                            "and reads the section as active", ln.path, ln.line)
                return True
            if result is None:
                self._error(f"<IfVersion {excerpt(rest)}>: cannot understand the version test",
                            ln.path, ln.line)
                return True
            return result
        if not args:
            self._error(f"<{name}> needs an argument", ln.path, ln.line)
            return True
        arg = args[0]
        negate = arg.startswith("!")
        arg = arg[1:] if negate else arg
        if name == "ifmodule":
            known, present = self._module_present(arg)
        elif name == "ifdefine":
            if arg in self.state.defines:
                known, present = True, True
            elif arg in self.state.undefined:
                known, present = True, False
            elif self.command_line:
                known, present = True, arg in self.command_line
            else:
                known, present = False, False  # maybe passed with -D on the command line
        elif name == "iffile":
            known, present = True, os.path.exists(self.resolve_path(arg))
        else:  # IfDirective / IfSection: what the binary supports is not knowable offline
            known, present = False, False
        if not known:
            return True
        return present != negate

    def _module_present(self, name: str) -> tuple[bool, bool]:
        key = name.lower()
        static = {f"mod_{m}.c" for m in STATIC_MODULES} | {f"{m}_module" for m in STATIC_MODULES}
        static |= {"core.c", "http_core.c", "core_module", "http_module"}
        if key in static:
            return True, True
        if not self.state.modules_known:
            return False, False
        return True, key in self.state.modules

    def _define_macro(self, lines: list[_Line], pos: int, ln: _Line) -> int:
        """Store a `<Macro name params>` body as raw lines, expanded later by `Use`."""
        text = ln.text
        if not text.endswith(">"):
            self._error("<Macro directive missing closing '>'", ln.path, ln.line)
            text += ">"
        args = split_args(text[1:text.rindex(">")])[1:]
        body: list[_Line] = []
        depth = 1
        while pos < len(lines):
            cur = lines[pos]
            pos += 1
            low = cur.text.lower()
            if low.startswith("<macro") and (len(low) == 6 or low[6] in " \t>"):
                depth += 1
            elif low.startswith("</macro"):
                depth -= 1
                if depth == 0:
                    break
            body.append(cur)
        else:
            self._error(f"<Macro {excerpt(' '.join(args[:1]))}> was not closed before the end "
                        "of the file; Apache refuses the config", ln.path, ln.line)
        if not args:
            self._error("<Macro> needs a name", ln.path, ln.line)
            return pos
        self.state.macros[args[0].lower()] = _Macro(args[0], args[1:], body, ln.path, ln.line)
        return pos

    def _use(self, args: list[str], ln: _Line, stack: list[str]) -> list[_Node]:
        if len(args) < 2:
            self._error("Use needs a macro name", ln.path, ln.line)
            return []
        macro = self.state.macros.get(args[1].lower())
        if macro is None:
            self._error(f"Use: macro '{excerpt(args[1])}' is not defined (mod_macro)", ln.path,
                        ln.line)
            return []
        values = args[2:]
        if len(values) != len(macro.params):
            self._error(f"Use {macro.name}: macro takes {len(macro.params)} arguments, "
                        f"{len(values)} given (mod_macro refuses it)", ln.path, ln.line)
            return []
        if len(stack) >= MAX_INCLUDE_DEPTH:
            self._error(f"Use {macro.name}: macros and includes nested more than "
                        f"{MAX_INCLUDE_DEPTH} deep", ln.path, ln.line)
            return []
        marker = f"macro:{macro.name.lower()}"
        if marker in stack:
            self._error(f"Use {macro.name}: recursive use of macro '{macro.name}' (mod_macro "
                        "refuses it)", ln.path, ln.line)
            return []
        pairs = sorted(zip(macro.params, values, strict=True), key=lambda p: -len(p[0]))
        body = []
        for line in macro.body:
            text = line.text
            for param, value in pairs:
                if param:
                    text = text.replace(param, value)
            body.append(_Line(text, line.path, line.line, line.end))
        nodes, _pos = self._parse_lines(body, 0, None, stack + [marker])
        return nodes

    # -- directives with effects while reading ------------------------------------------

    def _directive(self, name: str, args: list[str], ln: _Line, stack: list[str]
                   ) -> list[_Node]:
        values = args[1:]
        if name in ("include", "includeoptional"):
            if not values:
                self._error(f"{args[0]} needs a path", ln.path, ln.line)
                return []
            return self._include(values[0], name == "includeoptional", ln, stack)
        if name == "use":
            return self._use(args, ln, stack)
        if check_directive(self, name, args, ln):
            return []
        if name in ONE_ARGUMENT and len(values) != 1:
            from certlint.parsers.apache_names import spelled

            self._error(f"{spelled(name)} takes one argument, {len(values)} given: Apache stops "
                        "with a syntax error", ln.path, ln.line)
            return []
        if name == "define" and values:
            self.state.defines[values[0]] = values[1] if len(values) > 1 else ""
            if len(values) > 1:
                self.state.variables[values[0]] = values[1]
            self.state.undefined.discard(values[0])
        elif name == "undefine" and values:
            self.state.defines.pop(values[0], None)
            self.state.variables.pop(values[0], None)
            self.state.undefined.add(values[0])
        elif name == "loadmodule" and len(values) >= 2:
            self.state.modules_known = True
            self.state.modules.update(module_names(values[0], values[1]))
        elif name == "serverroot" and values:
            root = map_root(values[0], self.root) if os.path.isabs(values[0]) else \
                os.path.normpath(os.path.join(self.server_root, values[0]))
            if os.path.isdir(root):
                self.server_root = root
            else:
                self._error(f"ServerRoot must be a valid directory: '{values[0]}' is not one "
                            f"(certlint keeps {self.server_root})"
                            + root_hint(values[0], self.entry, self.root), ln.path, ln.line)
        return [_Node(name, tuple(values), ln.path, ln.line)]

    def _include(self, pattern: str, optional: bool, ln: _Line, stack: list[str]
                 ) -> list[_Node]:
        word = "IncludeOptional" if optional else "Include"
        if len(stack) >= MAX_INCLUDE_DEPTH:
            self._error(f"{word} {pattern}: Exceeded maximum include depth of "
                        f"{MAX_INCLUDE_DEPTH}, There appears to be a recursion.", ln.path,
                        ln.line)
            return []
        target = self.resolve_path(pattern)
        reads.looked_up(target)  # a file added to (or removed from) its folder matters
        if GLOB_CHARS.search(target):
            matches = sorted(glob.glob(target))
            if not matches:
                if not optional:
                    self._error(f"Include: No matches for the wildcard "
                                f"'{os.path.basename(target)}' in '{os.path.dirname(target)}', "
                                "failing", ln.path, ln.line)
                return []
        elif os.path.exists(follow_root_links(target, self.root)):
            matches = [target]
        else:
            if not optional:
                self._error(f"Include {pattern}: Could not open configuration file {target}: "
                            "No such file or directory", ln.path, ln.line)
            return []
        nodes: list[_Node] = []
        for match in matches:
            nodes.extend(self._include_path(match, pattern, ln, stack, 0))
        return nodes

    def _include_path(self, path: str, pattern: str, ln: _Line, stack: list[str],
                      dir_depth: int) -> list[_Node]:
        # with --root, Debian's absolute sites-enabled links point into the checkout; the
        # link's own path is what findings show
        source = follow_root_links(path, self.root)
        if os.path.isdir(source):
            if dir_depth >= MAX_INCLUDE_DEPTH or self._realpath(path) in stack:
                self._error(f"Include {pattern}: directory {path} is nested too deep or loops "
                            "back on itself", ln.path, ln.line)
                return []
            try:
                entries = sorted(os.listdir(source))
                reads.listed(source)
            except OSError as exc:
                self._error(f"Include {pattern}: cannot read directory {path}: "
                            f"{exc.strerror or exc}", ln.path, ln.line)
                return []
            nodes: list[_Node] = []
            inner = stack + [self._realpath(path)]
            self._dir_entries = getattr(self, "_dir_entries", 0) + len(entries)
            if self._dir_entries > MAX_DIRECTORY_ENTRIES:
                # `Include /`: httpd stops at the first file that is no config; certlint
                # would read the whole disk
                if self._dir_entries - len(entries) <= MAX_DIRECTORY_ENTRIES:
                    self._error(f"Include {pattern}: more than {MAX_DIRECTORY_ENTRIES} files in "
                                "included directories; certlint stops reading here (is the "
                                "pattern too wide?)", ln.path, ln.line)
                return []
            for entry in entries:
                nodes.extend(self._include_path(os.path.join(path, entry), pattern, ln, inner,
                                                dir_depth + 1))
            return nodes
        real = self._realpath(source)
        if not os.path.exists(real) and os.path.islink(path):
            if self.root and source != path:  # e.g. a link into /usr/share, not checked out
                self.config.errors.append(ConfigError(
                    f"Include {pattern}: {path} links to /{os.path.relpath(source, self.root)}"
                    ", which is not in the tree under --root; certlint skips it (httpd on the "
                    "server reads it)", ln.path, ln.line, severity="warning"))
            elif not ln.text.lstrip().lower().startswith("includeoptional"):
                # IncludeOptional skips it silently (apache2 -t: Syntax OK)
                self._error(f"Include {pattern}: Could not open configuration file {path}: No "
                            f"such file or directory (a dangling symbolic link to "
                            f"{os.readlink(path)}): httpd will not start", ln.path, ln.line)
            return []
        if not os.path.isfile(real):
            self._error(f"Include {pattern}: {path} is not a regular file (a device, socket or "
                        "pipe): certlint does not read it", ln.path, ln.line)
            return []
        if real in stack:
            self._error(f"Include {pattern}: include loop: {path} is already being read "
                        f"(Apache: Exceeded maximum include depth of {MAX_INCLUDE_DEPTH}, There "
                        "appears to be a recursion.)", ln.path, ln.line)
            return []
        if path in self._texts:  # a snippet included by many vhosts is read once
            return self._parse_text(self._texts[path], path, stack + [real])
        before = len(self.config.errors)
        data = self.reader.read(source, self.config, shown=path)
        if data is None:
            for err in self.config.errors[before:]:
                err.message = f"Include {pattern}: {path}: {err.message}"
                err.path, err.line = ln.path, ln.line
            return []
        return self._parse_text(data, path, stack + [real])

    def _realpath(self, path: str) -> str:
        """`os.path.realpath`, resolving each folder once (thousands of includes share one)."""
        head, tail = os.path.split(path)
        if tail in ("", ".", "..") or not os.path.isabs(path):
            try:
                return os.path.realpath(path)
            except OSError:
                return os.path.abspath(path)
        try:
            real_head = self._real_dirs.get(head)
            if real_head is None:
                real_head = self._real_dirs[head] = os.path.realpath(head)
            full = os.path.join(real_head, tail)
            return os.path.realpath(full) if os.path.islink(full) else full
        except OSError:  # /proc/1/cwd and friends: a link nobody may follow
            return os.path.abspath(path)

    # -- paths ---------------------------------------------------------------------------

    def resolve_path(self, value: str) -> str:
        """A path as httpd opens it: ServerRoot-relative, absolute ones under --root."""
        if os.path.isabs(value):
            return map_root(value, self.root)
        return os.path.normpath(os.path.join(self.server_root, value))

    def file_ref(self, directive: Directive) -> FileRef:
        value = directive.value
        if value.lower().startswith(NON_FILE_PREFIXES):
            return FileRef(directive, None, f"'{value.split(':', 1)[0]}:' URI, not a file")
        return FileRef(directive, follow_root_links(self.resolve_path(value), self.root))

    # -- sites ---------------------------------------------------------------------------

    def _build(self, tree: list[_Node]) -> None:
        from certlint.parsers.apache_sites import build_sites
        from certlint.parsers.apache_syntax import check_sections

        check_sections(self, tree)
        build_sites(self, tree)


def tag_shown(opened: _Line) -> str:
    """The section name as written on its opening line, for messages (a short excerpt)."""
    return excerpt(section_name(opened.text))


def parse_apache(path: str, root: str | None = None, **options) -> ServerConfig:
    """Parse an Apache entry point; errors are kept as data (`config.errors`)."""
    return ApacheParser(path, root, options.get("apache_version"), options.get("defines"),
                        options.get("env")).parse()


__all__ = ["parse_apache", "ApacheParser", "split_args"]
