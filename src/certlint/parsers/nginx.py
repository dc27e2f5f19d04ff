"""nginx config parser: crossplane per file, includes followed by us, `Site`s with inheritance.

crossplane 0.5.8 is used file by file (`single=True`): its own include handling parses each file
once, in the context of its first include, and loses files in combined mode. We expand every
`include` ourselves, so a TLS snippet included by ten servers gives all ten their certificate.
Files go through a fast tokenizer that yields crossplane's own statements (nginx_fast.py) and
through crossplane itself when anything is unusual. An `nginx -T` dump (with its
`# configuration file PATH:` markers) is accepted as an entry point, also on standard input
(`-`). Hostile trees (include loops and explosions, absurd nesting, FIFOs) end in findings.
"""

from __future__ import annotations

import fnmatch
import glob
import os
import re
import stat
import sys

import crossplane

from certlint import reads
from certlint.model import ConfigError, Directive, FileRef, ServerConfig
from certlint.parsers import nginx_fast, nginx_syntax
from certlint.parsers.common import MAX_CONFIG_BYTES, ConfigFileReader, map_root
from certlint.parsers.nginx_sites import Node, build_sites
from certlint.parsers.nginx_versions import (
    DEFAULT_NGINX_VERSION,
    client_verify_errors,
    version_errors,
)

MAX_INCLUDE_DEPTH = 64
# files read through includes in one run, counting repeats: a snippet included by every one of
# 10,000 servers is 10,000; ten files that each include the next one ten times is 10^10
MAX_INCLUDED_FILES = 200_000
# statements read (checked before tokenizing) and after include expansion: a 5,000-site fleet
# has about 60,000; 300,000 keeps a hostile tree within 10 s and 1 GB (SECURITY.md promise 10)
MAX_STATEMENTS = 300_000
DUMP_MARKER = re.compile(r"^# configuration file (.+):\s*$", re.M)
NGINX_OWN_LINES = re.compile(
    r"^nginx: (?:\[(?:emerg|alert|crit|error|warn|notice|info|debug)\] [^\n]*"
    r"|(?:the )?configuration file [^\n]* (?:syntax is ok|test is successful))\r?\n", re.M)
GLOB_CHARS = re.compile(r"[*?\[]")
NON_FILE_PREFIXES = ("data:", "engine:", "store:")
class NginxParser:
    """Parse one nginx entry point into a `ServerConfig`."""

    def __init__(self, entry: str, root: str | None = None,
                 nginx_version: str = DEFAULT_NGINX_VERSION):
        self.nginx_version = nginx_version
        self.stdin = entry == "-"
        self.entry = "<stdin>" if self.stdin else os.path.abspath(entry)
        self.root = os.path.abspath(root) if root else None
        self.prefix = os.getcwd() if self.stdin else os.path.dirname(self.entry)
        self.reader = ConfigFileReader()
        self.config = ServerConfig("nginx", self.entry, self.prefix)
        self._parsed: dict[str, list | None] = {}
        self._realpaths: dict[str, object] = {}
        self._kinds: dict[str, str] = {}
        self._included = 0
        self._globbed: dict[str, list[str]] = {}
        self._statements_seen = 0
        self._estimated = 0  # upper bound of statements in the files read (checked before)
        self._over_budget = False
        self._nesting = 0  # block depth while expanding, across includes
        self._nested_too_deep = False
        self._display: dict[str, str] = {}  # temp path -> original path (nginx -T dumps)
        self._virtual: dict[str, str] = {}  # original absolute path -> temp path (dumps)
        self.config.resolver = self.file_ref

    # -- reading files -------------------------------------------------------------------

    def parse(self) -> ServerConfig:
        if self.stdin:
            return self._parse_stdin()
        data = self.reader.read(self.entry, self.config, fatal=True)
        if data is None:
            return self.config
        text = data.decode("utf-8", "replace")
        if DUMP_MARKER.search(text):
            return self._parse_dump(text)
        tree = self._expand_file(self.entry, [], 0)
        self._build(tree)
        return self.config

    def _parse_stdin(self) -> ServerConfig:
        """`-` as the entry point: an `nginx -T` dump piped in (`ssh web1 nginx -T | certlint
        check -`), or a config whose relative paths resolve against the current folder."""
        try:
            data = sys.stdin.buffer.read(MAX_CONFIG_BYTES + 1)
        except (AttributeError, OSError, ValueError) as exc:  # closed (`<&-`) or unreadable
            why = getattr(exc, "strerror", None) or "closed"
            self.config.errors.append(ConfigError(
                f"standard input cannot be read ({why}): pipe a config or an `nginx -T` dump "
                "into certlint, or name the config file", "<stdin>", 0, fatal=True))
            return self.config
        if not data.strip() or len(data) > MAX_CONFIG_BYTES or b"\0" in data:
            why = ("nothing on standard input" if not data.strip() else
                   "standard input is binary or larger than certlint reads")
            self.config.errors.append(ConfigError(why, "<stdin>", 0, fatal=True))
            return self.config
        text = data.decode("utf-8", "replace")
        if DUMP_MARKER.search(text):
            self.entry = "<stdin>"
            return self._parse_dump(text)
        import tempfile  # stdin and dumps only: it pulls in shutil and the compressors

        with tempfile.TemporaryDirectory(prefix="certlint-stdin-") as tmp:
            path = os.path.join(tmp, "stdin.conf")
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(text)
            self._display[path] = "<stdin>"
            self._build(self._expand_file(path, [], 0))
        return self.config

    def _parse_dump(self, text: str) -> ServerConfig:
        """`nginx -T` output: split at the markers, parse each part as the file it was."""
        text = NGINX_OWN_LINES.sub("", text)  # `2>&1` may mix nginx's messages into the dump
        import tempfile

        self._tmp = tempfile.TemporaryDirectory(prefix="certlint-dump-")
        parts = DUMP_MARKER.split(text)
        first = None
        for i in range(1, len(parts) - 1, 2):
            original, body = parts[i].strip(), parts[i + 1]
            if body.startswith("\r\n"):
                body = body[2:]  # the marker line's own end: line numbers start after it
            elif body.startswith("\n"):
                body = body[1:]
            tmp_path = os.path.join(self._tmp.name, f"{i // 2}.conf")
            with open(tmp_path, "w", encoding="utf-8") as fh:
                fh.write(body)
            self._display[tmp_path] = original
            self._virtual[os.path.normpath(original)] = tmp_path
            first = first or original
        if first is None:
            self.config.errors.append(ConfigError("empty nginx -T dump", self.entry, fatal=True))
            return self.config
        self.prefix = os.path.dirname(first)
        self.config.prefix = self.prefix
        self.config.extra["dump"] = self.entry
        tree = self._expand_file(self._virtual[os.path.normpath(first)], [], 0)
        self._build(tree)
        self._tmp.cleanup()
        return self.config

    def _real(self, path: str) -> object:
        """The file's identity (device, inode), once per path string: the same file however it
        is reached (symlinks, `..`), for include loops and the parse cache. One stat, where
        realpath costs an lstat per path component."""
        real = self._realpaths.get(path)
        if real is None:
            try:
                info = os.stat(path)
                real = (info.st_dev, info.st_ino)
            except OSError:
                try:
                    real = os.path.realpath(path)
                except OSError:  # /proc/1/cwd: a link nobody may follow
                    real = os.path.abspath(path)
            self._realpaths[path] = real
        return real

    def _shown(self, path: str) -> str:
        return self._display.get(path, path)

    def _load(self, path: str) -> list | None:
        """crossplane's statements for one file (cached: a snippet is read once per run)."""
        key = self._real(path)
        if key in self._parsed:
            return self._parsed[key]
        shown = self._shown(path)
        data = self.reader.read(path, self.config, shown=shown)
        statements = None
        if data is not None and not self._within_budget(data, shown):
            data = None
        if data is not None:
            text = data.decode("utf-8", "replace")
            payload = self._statements(path, text, shown)
            if not payload.get("fast") and payload.get("config") is not None:
                # crossplane's lexer differs from nginx's (`${uri}/`, `"a"-b`, `a}b`): the
                # file's syntax errors are the ones nginx's own rules find (nginx_lexer.py)
                lexical = nginx_syntax.lexical_error(text)
                if lexical is not None:
                    self.config.errors.append(ConfigError(lexical[0], shown, lexical[1]))
            if payload["config"]:
                statements = payload["config"][0]["parsed"]
                for message, line in nginx_syntax.argument_errors(statements):
                    self.config.errors.append(ConfigError(message, shown, line))
                for message, line, severity in version_errors(statements, self.nginx_version):
                    self.config.errors.append(ConfigError(message, shown, line,
                                                          severity=severity))
                if data.startswith(b"\xef\xbb\xbf") and statements:
                    # nginx reads a BOM as part of the first directive name and refuses it
                    self.config.errors.append(ConfigError(
                        "file starts with a UTF-8 byte order mark: nginx reads it as part of the "
                        "first directive and fails with 'unknown directive'; save without BOM",
                        shown, 1))
                    statements[0]["directive"] = statements[0]["directive"].lstrip("\ufeff")
            self.config.files.append(shown)
        self._parsed[key] = statements
        return statements

    def _within_budget(self, data: bytes, shown: str) -> bool:
        """The statement cap, checked BEFORE a file is tokenized (SECURITY.md promise 10): its
        `;` and `{` bytes (counted in C, an upper bound of its statements) added to those of the
        files already read must stay under MAX_STATEMENTS, so a 60 MB one-line file or several
        big ones are refused without being parsed."""
        estimate = data.count(b";") + data.count(b"{")
        self._estimated += estimate
        if self._estimated <= MAX_STATEMENTS:
            return True
        if not self._over_budget:
            self._over_budget = True
            self.config.errors.append(ConfigError(
                f"more than {MAX_STATEMENTS} statements in the config files read so far (this "
                f"one holds up to {estimate}): certlint stops reading here (is it generated or "
                "hostile?)", shown, 0))
        return False

    def _statements(self, path: str, text: str, shown: str) -> dict:
        """crossplane's payload for one file: the fast tokenizer when it can, else crossplane;
        absurd nesting becomes an error instead of a recursion crash."""
        try:
            fast = nginx_fast.parse(path, text)
            if fast is not None:
                return {"errors": [], "config": [{"parsed": fast}], "fast": True}
            nginx_fast.check_nesting(text)
        except nginx_fast.NestingError as exc:
            self.config.errors.append(ConfigError(str(exc), shown, exc.line))
            return {"errors": [], "config": []}
        return crossplane.parse(path, single=True, comments=True, check_ctx=False,
                                check_args=False, catch_errors=True)

    def _expand_file(self, path: str, stack: list[str], depth: int) -> list[Node]:
        statements = self._load(path)
        if statements is None:
            return []
        return self._expand(statements, path, stack + [self._real(path)], depth)

    def _expand(self, statements: list, path: str, stack: list[str], depth: int) -> list[Node]:
        nodes: list[Node] = []
        shown = self._shown(path)
        self._statements_seen += len(statements)
        if self._statements_seen > MAX_STATEMENTS:
            if self._statements_seen - len(statements) <= MAX_STATEMENTS:
                self.config.errors.append(ConfigError(
                    f"more than {MAX_STATEMENTS} statements after expanding includes: "
                    "certlint stops reading here (an include explosion?)", shown,
                    statements[0]["line"] if statements else 0))
            return nodes
        comments = self.config.comments.setdefault(shown, {})
        for st in statements:
            name = st["directive"]
            if name == "#":
                comments[st["line"]] = st.get("comment", "")
                continue
            if name == "include" and st.get("args"):
                nodes.extend(self._include(st, path, stack, depth))
                continue
            children = None
            if "block" in st:
                if self._nesting >= nginx_fast.MAX_NESTING:
                    # through includes too: 95 blocks in each of 64 chained files must end in a
                    # finding, not a RecursionError (SECURITY.md promise 10)
                    if not self._nested_too_deep:
                        self._nested_too_deep = True
                        self.config.errors.append(ConfigError(
                            f"blocks nested more than {nginx_fast.MAX_NESTING} levels deep "
                            "(counting through includes): certlint skips what lies deeper",
                            shown, st["line"]))
                    continue
                self._nesting += 1
                try:
                    children = self._expand(st["block"], path, stack, depth)
                finally:
                    self._nesting -= 1
            nodes.append(Node(name, st.get("args", []), shown, st["line"], children))
        return nodes

    def _include(self, st: dict, path: str, stack: list[str], depth: int) -> list[Node]:
        shown = self._shown(path)
        pattern = st["args"][0]
        matches, target = self._include_targets(pattern)
        if depth >= MAX_INCLUDE_DEPTH:
            self.config.errors.append(ConfigError(
                f"include nesting deeper than {MAX_INCLUDE_DEPTH} levels at "
                f"'include {pattern}': is there a loop?", shown, st["line"]))
            return []
        if matches is not None:
            if matches and not (self.root or self._virtual
                                or getattr(self, "_host_warned", False)):
                from certlint.parsers.common import root_hint

                hint = root_hint(os.path.dirname(pattern), self.entry, self.root)
                if hint:  # repo/etc/nginx/nginx.conf including /etc/nginx/...: this host's
                    self._host_warned = True
                    self.config.errors.append(ConfigError(
                        f"include '{pattern}' reads this machine's files, not the copy beside "
                        f"the entry point{hint}", shown, st["line"], severity="warning"))
        elif self._virtual:
            self.config.errors.append(ConfigError(
                f"include '{pattern}': {target} is not in the nginx -T dump", shown, st["line"]))
            return []
        elif os.path.islink(target):
            self.config.errors.append(ConfigError(
                f"include '{pattern}': {target} is a symbolic link that cannot be followed (a "
                "link loop or a dangling link)", shown, st["line"]))
            return []
        else:
            from certlint.parsers.common import root_hint

            self.config.errors.append(ConfigError(
                f"include file not found: '{pattern}' (nginx: open() \"{target}\" failed "
                "(2: No such file or directory))"
                + root_hint(os.path.dirname(pattern), self.entry, self.root), shown, st["line"]))
            return []
        nodes: list[Node] = []
        self._included += len(matches)
        if self._included > MAX_INCLUDED_FILES:
            if self._included - len(matches) <= MAX_INCLUDED_FILES:
                self.config.errors.append(ConfigError(
                    f"more than {MAX_INCLUDED_FILES} files included in all (counting repeats): "
                    f"'include {pattern}' is part of an include explosion; certlint stops "
                    "following includes here", shown, st["line"]))
            return []
        for match in matches:
            kind = self._kind(match)
            if kind == "dir":
                # nginx reads every glob match, directories too, and fails on them
                self.config.errors.append(ConfigError(
                    f"include '{pattern}' matches the directory {self._shown(match)}: nginx "
                    f"fails with 'pread() \"{match}\" failed (21: Is a directory)' and will not "
                    "start; narrow the pattern (e.g. '*.conf') or move the directory",
                    shown, st["line"]))
                continue
            if self.root and match in self._display and kind in ("missing", "dangling"):
                # Debian's modules-enabled links into /usr/share: not part of a checked-out /etc
                self.config.errors.append(ConfigError(
                    f"include '{pattern}': {self._shown(match)} links to "
                    f"/{os.path.relpath(match, self.root)}, which is not in the tree under "
                    "--root; certlint skips it (nginx on the server reads it)",
                    shown, st["line"], severity="warning"))
                continue
            if not self._virtual and kind == "dangling":
                self.config.errors.append(ConfigError(
                    f"include '{pattern}': {self._shown(match)} is a dangling symbolic link (to "
                    f"{os.readlink(match)}): nginx fails with 'open() \"{match}\" failed (2: "
                    "No such file or directory)' and will not start", shown, st["line"]))
                continue
            if self._real(match) in stack:
                self.config.errors.append(ConfigError(
                    f"include loop: '{pattern}' includes {self._shown(match)} again, which is "
                    "already being read", shown, st["line"]))
                continue
            nodes.extend(self._expand_file(match, stack, depth + 1))
        return nodes

    def _include_targets(self, pattern: str) -> tuple[list[str] | None, str]:
        """The files an include reads (None: it names a file that is not there) and the path
        it resolves to. In an `nginx -T` dump, files come from the dump, globs included."""
        if self._virtual:
            full = pattern if os.path.isabs(pattern) else os.path.join(self.prefix, pattern)
            full = os.path.normpath(full)
            if GLOB_CHARS.search(full):
                hits = self._globbed.get(full)
                if hits is None:  # once per pattern: a fleet repeats it in every server
                    hits = self._globbed[full] = sorted(
                        p for p in self._virtual if _glob_match(p, full))
                return [self._virtual[h] for h in hits], full
            return ([self._virtual[full]] if full in self._virtual else None), full
        target = self.resolve_path(pattern)
        reads.looked_up(target)  # a file added to (or removed from) its folder matters
        if GLOB_CHARS.search(target):
            return [self._under_root(m) for m in sorted(glob.glob(target))], target
        target = self._under_root(target)
        return ([target] if self._kind(target) not in ("missing", "dangling") else None), target

    def _kind(self, path: str) -> str:
        """"dir", "file" (anything else that exists), "dangling" (a link to nothing) or
        "missing", asked once per path a parse (a fleet includes one snippet a thousand times)."""
        kind = self._kinds.get(path)
        if kind is None:
            try:
                info = os.lstat(path)
                if stat.S_ISLNK(info.st_mode):
                    info = os.stat(path)
            except OSError:
                kind = "dangling" if os.path.lexists(path) else "missing"
            else:
                kind = "dir" if stat.S_ISDIR(info.st_mode) else "file"
            self._kinds[path] = kind
        return kind

    def _under_root(self, path: str) -> str:
        """With --root, an absolute symlink (Debian's sites-enabled -> /etc/nginx/...) points
        into the checkout, not at this host's files; the link's own path is what is shown."""
        if not self.root or not os.path.islink(path):
            return path
        from certlint.parsers.common import follow_root_links

        shown, path = path, follow_root_links(path, self.root)
        if path != shown:
            self._display.setdefault(path, shown)
        return path

    def resolve_path(self, value: str) -> str:
        """A path as nginx opens it: relative to the conf prefix, absolute under --root."""
        if os.path.isabs(value):
            return map_root(value, self.root)
        return os.path.normpath(os.path.join(self.prefix, value))

    def file_ref(self, directive: Directive) -> FileRef:
        value = directive.value
        if "$" in value:
            return FileRef(directive, None, "the path holds nginx variables: it is resolved per "
                                            "handshake")
        if value.startswith(NON_FILE_PREFIXES):
            return FileRef(directive, None, f"'{value.split(':', 1)[0]}:' value, not a file")
        return FileRef(directive, self._under_root(self.resolve_path(value)))

    def _build(self, tree: list[Node]) -> None:
        build_sites(tree, self.config, self.file_ref)
        for message, directive in client_verify_errors(self.config.sites, self.nginx_version):
            self.config.errors.append(ConfigError(message, directive.path, directive.line))


def _glob_match(path: str, pattern: str) -> bool:
    """glob(3) semantics on a path string: `*` stays within one directory level and does not
    match a leading dot, as nginx's glob-based include does."""
    parts, pats = path.split("/"), pattern.split("/")
    if len(parts) != len(pats):
        return False
    for part, pat in zip(parts, pats, strict=True):
        if part.startswith(".") and not pat.startswith("."):
            return False
        if not fnmatch.fnmatchcase(part, pat):
            return False
    return True
