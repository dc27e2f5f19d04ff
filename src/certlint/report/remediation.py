"""Customer-facing remediation document (Markdown that reads as a plain-text email), per site,
in English or Japanese, rendered from the findings' structured facts (`Finding.facts`), never by
rewording their English messages.

The Python side works out every site-specific value (paths as the server sees them, the file
names of the corrected chain, the directive line before and after, test/reload/verify commands,
the `certlint fix` command with the options of this run); the wording lives in templates per
language (`templates/remediation/<lang>/`), so a translator never touches code. A rule without a
step template of its own gets its rule document's "How to fix" section in that language (for
Japanese `rules/ja/<rule>.md`; nothing when it has none, never the English prose).

Every value from input goes through the Markdown escapes (`finalize`), a code span (`code`), or
a shell-quoted, fenced code block (`sh`, `conf`, `fenced`): no HTML or Markdown from a config
or certificate reaches the document as markup.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shlex

import jinja2
from markupsafe import Markup

from certlint import __version__
from certlint.docs import load_docs
from certlint.report.escape import markdown, markdown_code, text
from certlint.report.remediation_steps import steps

SECTION = re.compile(r"^## (.+?)\s*$", re.M)
SERVER_LABEL = {"nginx": "nginx", "apache": "Apache httpd"}
LANGS = ("en", "ja")
FIX_SECTIONS = {"en": ("how to fix on nginx", "how to fix on apache"),
                "ja": ("nginx での対処", "apache での対処")}
RANK = {"error": 0, "warning": 1, "info": 2}
# problems whose steps change the served files by hand: the document ends with reload and check
RELOAD_RULES = ("chain-wrong-order", "chain-contains-root", "key-mismatch")


def sections(body: str) -> dict[str, str]:
    """A rule document's `## Title` sections, by lower-cased title."""
    parts = SECTION.split(body)
    return {parts[i].strip().lower(): parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}


def default_lang(environ=None) -> str:
    """`ja` when the locale is Japanese (LC_ALL, then LC_MESSAGES, then LANG, as POSIX reads
    them), else `en`."""
    environ = os.environ if environ is None else environ
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(name)
        if value:
            return "ja" if value.lower().startswith("ja") else "en"
    return "en"


# -- escaping ---------------------------------------------------------------------------------


def _finalize(value):
    """Every value printed by a template is Markdown-escaped, except trusted text (rule
    documents, wrapped in `Markup`) and what the filters below made."""
    if isinstance(value, Markup) or not isinstance(value, str):
        return value
    return markdown(value)


def _code(value, table: bool = False) -> Markup:
    return Markup(markdown_code(value, table))


def _sh(value) -> Markup:
    """One shell word inside a command block (quoted when needed; control characters shown as
    escapes so a value cannot end the line)."""
    return Markup(shlex.quote(text(value)))


def _conf(value) -> Markup:
    """A config line or other literal inside a fenced block: one visible line."""
    return Markup(text(value))


def _lines(value) -> Markup:
    """Several lines (a diff) inside a fenced block: each line made visible on its own."""
    return Markup("\n".join(text(line) for line in str(value).split("\n")))


def _fenced(body, info: str = "") -> Markup:
    """A fenced code block whose fence is longer than any backtick run inside it."""
    body = str(body).strip("\n")
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return Markup(f"{fence}{info}\n{body}\n{fence}")


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("certlint", "templates"),
        autoescape=False, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined, finalize=_finalize)
    env.filters["code"] = _code
    env.filters["sh"] = _sh
    env.filters["conf"] = _conf
    env.filters["lines"] = _lines
    env.filters["fenced"] = _fenced
    return env


# -- paths and lines --------------------------------------------------------------------------


def _to_disk(path: str | None, root: str | None) -> str | None:
    """A server-side path back to the file certlint read (under --root)."""
    if not path:
        return path
    if root and os.path.isabs(path):
        inside = os.path.join(os.path.abspath(root), path.lstrip("/"))
        if os.path.exists(inside):
            return inside
    return path


def _to_server(path: str | None, root: str | None) -> str | None:
    if not path or not root:
        return path
    base = os.path.abspath(root)
    full = os.path.abspath(path)
    if full.startswith(base.rstrip(os.sep) + os.sep):
        return "/" + os.path.relpath(full, base).replace(os.sep, "/")
    return path


def _line(path: str | None, number: int | None) -> str | None:
    if not path or not number:
        return None
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            for n, line in enumerate(fh, 1):
                if n == number:
                    return line.rstrip("\r\n")
    except OSError:
        return None
    return None


def _sibling(path: str, suffix: str) -> str:
    """`/etc/ssl/site.crt` -> `/etc/ssl/site.<suffix>.pem` (the name `certlint fix` uses)."""
    folder, stem = os.path.split(path)
    for ext in (".pem", ".crt", ".cer", ".cert"):
        if stem.lower().endswith(ext):
            stem = stem[: -len(ext)]
            break
    return (folder + "/" if folder else "") + f"{stem}.{suffix}.pem"


def _replace_last(line: str, old: str, new: str) -> str | None:
    at = line.rfind(old)
    if at < 0:
        return None
    return line[:at] + new + line[at + len(old):]


# -- the document model -----------------------------------------------------------------------


class Document:
    """Everything the templates print, worked out from the report, the run's options and (for
    `certlint fix`) the fix run."""

    def __init__(self, report, options, lang: str, command: str = "check", fix_run=None,
                 argv: list[str] | None = None, probe: dict | None = None):
        self.report = report
        self.options = options
        self.lang = lang
        self.command = command
        self.fix_run = fix_run
        self.argv = argv or []
        self.probe = probe or {}
        self.root = getattr(options, "root", None)
        self.docs = load_docs()
        self.local_docs = load_docs(lang) if lang != "en" else self.docs

    def server_of(self, finding) -> str:
        facts = finding.facts or {}
        if facts.get("server") in ("nginx", "apache", "probe"):
            return facts["server"]
        for c in self.report.configs:
            if finding.path in c.files:
                return c.server
        servers = {c.server for c in self.report.configs}
        return servers.pop() if len(servers) == 1 else "both"

    def build(self) -> dict:
        sites: dict[str, dict] = {}
        findings = self.report.findings
        if self.fix_run is not None:  # what the fix would do: the findings it repairs
            fixed = {id(f) for f in self.fix_run.fixed}
            findings = [f for f in findings if id(f) in fixed]
        for f in sorted(findings, key=lambda f: (RANK.get(f.severity, 3),
                                                              f.site, f.rule)):
            label = f.site or self._where(f)
            key = f"{label}\0{self.server_of(f)}"  # one name served by nginx and by Apache
            site = sites.get(key)
            if site is None:
                site = sites[key] = self._site(f, label)
            site["problems"].append(self._problem(f))
        for site in sites.values():
            site["fixable"] = [p for p in site["problems"] if p["fixable"]]
            site["errors"] = sum(1 for p in site["problems"] if p["severity"] == "error")
            if any(p["changes_config"] or p.get("steps") or (
                    site["server"] == "probe" and p["facts"].get("missing_issuer"))
                    for p in site["problems"]):
                site["reload"] = True
        ordered = sorted(sites.values(), key=lambda s: (-s["errors"], s["label"]))
        total_sites = sum(len(c.sites) for c in self.report.configs) or len(ordered)
        now = getattr(self.options, "now", None)
        return {
            "version": __version__,
            "generated": (now or dt.datetime.now(dt.timezone.utc)).strftime("%Y-%m-%d"),
            "sites_checked": total_sites,
            "sites": ordered,
            "summary": {s: sum(1 for f in findings if f.severity == s)
                        for s in ("error", "warning", "info")},
            "command": self.command,
            "fix_command": self._fix_command(),
            "probe": self.probe,
        }

    def _where(self, f) -> str:
        return _to_server(f.path, self.root) or ""

    def _site(self, f, label: str) -> dict:
        facts = f.facts or {}
        server = self.server_of(f)
        hosts = list(facts.get("hosts") or [])
        name = label.rsplit(":", 1)[0] if ":" in label else label
        name = name.split(" ", 1)[0].strip("[]")
        if not hosts and name and name != "_":
            hosts = [name]
        port = facts.get("port") or (int(label.rsplit(":", 1)[1].split(" ")[0])
                                     if ":" in label and label.rsplit(":", 1)[1]
                                     .split(" ")[0].isdigit() else 443)
        host = hosts[0] if hosts else "HOST"
        return {
            "label": label, "server": server, "hosts": hosts, "host": host, "port": port,
            "problems": [], "reload": False,
            "url": f"https://{host}/" if port == 443 else f"https://{host}:{port}/",
        }

    def _problem(self, f) -> dict:
        facts = dict(f.facts or {})
        doc = self.docs.get(f.rule)
        local = self.local_docs.get(f.rule)
        server = self.server_of(f)
        template = f"remediation/{self.lang}/rules/{f.rule}.md.j2"
        problem = {
            "rule": f.rule, "severity": f.severity, "message": f.message,
            "fixable": bool(f.fixable), "facts": facts, "server": server,
            "title": Markup(((local.summary if local and local.summary else None)
                             or (doc.summary if doc else f.rule)).rstrip(".。")),
            "where": self._where(f), "line": f.line,
            "template": template, "generic": self._generic(local, server),
            "changes_config": bool(f.fixable), "steps": {},
        }
        cert = facts.get("cert") or {}
        if cert.get("file"):
            problem.update(self._chain_files(f, facts, cert, server))
            if f.rule in RELOAD_RULES:
                problem["steps"] = steps(f.rule, facts, problem)
                problem["apache_version"] = self._old_apache(server)
        if facts.get("bundle_out"):  # probe --bundle-out: the file to send along
            problem["attachment"] = os.path.basename(facts["bundle_out"])
            problem["attachment_intermediates"] = [
                os.path.basename(p) for p in facts.get("bundle_intermediates") or []]
        if f.fix is not None and getattr(f.fix, "edits", None):
            problem["diff"] = self._plan_diff([f.fix])
        planned = self._planned(f)
        if planned:
            problem.update(planned)
        return problem

    def _old_apache(self, server: str) -> str | None:
        """The Apache version of this run when it reads only the first certificate of
        SSLCertificateFile (before 2.4.8), else None."""
        from certlint.parsers.apache_conditions import version_at_least
        from certlint.rules.apache_chain import CHAIN_IN_CERT_FILE

        version = getattr(self.options, "apache_version", None)
        if server != "apache" or not version or version_at_least(version, CHAIN_IN_CERT_FILE):
            return None
        return version

    def _generic(self, local, server: str) -> Markup:
        """The rule document's fix section(s) in this language (trusted text), or nothing."""
        if local is None:
            return Markup("")
        text_ = sections(local.body)
        nginx, apache = FIX_SECTIONS[self.lang]
        if server == "nginx":
            picked = [text_.get(nginx, "")]
        elif server == "apache":
            picked = [text_.get(apache, "")]
        else:
            picked = [text_.get(nginx, ""), text_.get(apache, "")]
        return Markup("\n\n".join(p for p in picked if p))

    def _chain_files(self, f, facts: dict, cert: dict, server: str) -> dict:
        """The corrected chain's file names and the directive line before and after."""
        cert_file = cert["file"]
        out = {"cert_file": cert_file, "fullchain": _sibling(cert_file, "fullchain"),
               "chainfile": _sibling(cert_file, "chain"),
               "cert_directive": cert.get("directive"), "config_file": cert.get("config_file"),
               "config_line": cert.get("config_line")}
        disk = _to_disk(cert.get("config_file"), self.root)
        old = _line(disk, cert.get("config_line"))
        out["old_line"] = old
        value = cert.get("value") or ""
        base = os.path.basename(value)
        out["new_line"] = (_replace_last(old, base, os.path.basename(out["fullchain"]))
                           if old and base else None)
        if old is not None:
            indent = old[: len(old) - len(old.lstrip())]
            folder = value[: len(value) - len(base)]
            out["chain_line"] = (f"{indent}SSLCertificateChainFile "
                                 f"{folder}{os.path.basename(out['chainfile'])}")
        key = facts.get("key") or {}
        out["key_file"] = key.get("file")
        out["key_directive"] = key.get("directive")
        out["key_config_file"] = key.get("config_file")
        out["key_config_line"] = key.get("config_line")
        out["key_line"] = _line(_to_disk(key.get("config_file"), self.root),
                                key.get("config_line"))
        return out

    # -- fix runs ------------------------------------------------------------------------------

    def _plans_for(self, f) -> list:
        if self.fix_run is None:
            return []
        return [p for p in self.fix_run.plans
                if p.site == f.site and f.rule in p.rule.split(",")]

    def _planned(self, f) -> dict:
        """What `certlint fix` would do for this finding: the config diff, the files it would
        create and the intermediates it found (subject, SHA-256, verified by signature)."""
        plans = self._plans_for(f)
        if not plans:
            if self.fix_run is not None:
                why = next((w for g, w in self.fix_run.remaining if g is f), None)
                return {"not_fixed": why} if why else {}
            return {}
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes

        from certlint.fix.plan import NewFile

        served = set((f.facts or {}).get("served") or [])
        leaf = ((f.facts or {}).get("leaf") or {}).get("sha256")
        new_files, found = [], []
        for plan in plans:
            for edit in plan.edits:
                if not isinstance(edit, NewFile):
                    continue
                new_files.append(_to_server(edit.path, self.root))
                try:
                    certs = x509.load_pem_x509_certificates(edit.content)
                except ValueError:
                    continue
                for c in certs:
                    sha = c.fingerprint(hashes.SHA256()).hex(":").upper()
                    subject = c.subject.rfc4514_string()
                    if sha != leaf and subject not in served and all(
                            i["sha256"] != sha for i in found):
                        found.append({"subject": subject, "sha256": sha})
        return {"diff": self._plan_diff(plans), "new_files": new_files,
                "intermediates": found, "planned": True}

    def _plan_diff(self, plans) -> str | None:
        """The config edits of some plans as a unified diff (paths relative to --root, so they
        read /etc/...); new files are listed apart, never their bytes."""
        from certlint.fix.apply import EditError, Workspace
        from certlint.fix.output import render_diff

        ws = Workspace(set(), self.root)
        try:
            ws.accept_all(list(plans))
        except EditError:
            return None
        base = os.path.abspath(self.root) if self.root else "/"
        lines = [line for line in render_diff(ws, base).splitlines()
                 if not line.startswith("would create ")]
        if self.root:
            lines = [re.sub(r"^(---|\+\+\+) ([ab])/", r"\1 \2/", line) for line in lines]
        return "\n".join(lines) or None

    # -- the certlint fix command ------------------------------------------------------------

    def _fix_command(self) -> str:
        """`certlint fix` with the options this run was given (root, CA bundles, Apache
        version, server kind, entry points), as shell words."""
        o = self.options
        words = ["certlint", "fix"]
        if getattr(o, "root", None):
            words += ["--root", o.root]
        for bundle in getattr(o, "ca_bundles", []) or []:
            words += ["--ca-bundle", bundle]
        if getattr(o, "server", None):
            words += ["--server", o.server]
        if any(c.server == "apache" for c in self.report.configs):
            words += ["--apache-version", o.apache_version]
        if self.command == "fix":
            if getattr(o, "offline", False):
                words.append("--offline")
            for folder in getattr(o, "intermediates", []) or []:
                words += ["--intermediates", folder]
            if getattr(o, "aia_public_only", False):
                words.append("--aia-public-only")
            for addr in getattr(o, "resolvers", []) or []:
                words += ["--resolver", addr]
        for name in getattr(o, "defines", []) or []:
            words += ["--define", name]
        for name, value in (getattr(o, "env", {}) or {}).items():
            words += ["--env", f"{name}={value}"]
        for path in self.argv:
            words.append(path)
        return " ".join(shlex.quote(text(w)) for w in words)


def render(report, options=None, lang: str | None = None, command: str = "check",
           fix_run=None, argv: list[str] | None = None, probe: dict | None = None) -> str:
    lang = lang or default_lang()
    if lang not in LANGS:
        lang = "en"
    if options is None:
        from certlint.context import Options

        options = Options()
    model = Document(report, options, lang, command, fix_run, argv, probe).build()
    env = environment()
    known = set(env.list_templates())
    for site in model["sites"]:
        for problem in site["problems"]:
            if problem["template"] not in known:
                problem["template"] = None
    doc = env.get_template(f"remediation/{lang}/document.md.j2").render(**model)
    return re.sub(r"\n{3,}", "\n\n", doc).strip("\n") + "\n"
