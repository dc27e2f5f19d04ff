"""The check run: parse each entry point, run every rule over it, filter suppressions.

A rule that crashes becomes a `rule-crashed`-style diagnostic for that rule; the run goes on.
Config problems (missing includes, loops, syntax) become `config-error` findings.
"""

from __future__ import annotations

import fnmatch
import gc
import os
import re
from dataclasses import dataclass, field

from certlint.context import Context, Options
from certlint.model import SEVERITY_RANK, Finding, ServerConfig
from certlint.parsers import parse_config
from certlint.rules import all_rules

SUPPRESS = re.compile(r"certlint:\s*disable(-next-line)?\s*=\s*([\w\-, ]+)")


class EntryPointError(Exception):
    """The entry point itself cannot be read: a usage error (exit code 2)."""


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    configs: list[ServerConfig] = field(default_factory=list)
    probed: int = 0  # certlint probe: how many endpoints / chains were judged
    notes: list[str] = field(default_factory=list)  # stderr: an inferred --root, skipped certs

    def count(self, severity: str) -> int:
        return sum(1 for f in self.findings if f.severity == severity)

    def worst(self) -> int:
        return max((SEVERITY_RANK[f.severity] for f in self.findings), default=-1)


def run_check(paths: list[str], options: Options | None = None,
              context: Context | None = None) -> Report:
    options = options or Options()
    report = Report()
    ctx = context or Context(options)
    collecting = gc.isenabled()
    gc.disable()  # a run allocates many long-lived objects and few cycles: ~5% on big fleets
    try:
        _check_paths(paths, options, ctx, report)
    finally:
        if collecting:
            gc.enable()
    for problem in ctx.trust.errors:
        raise EntryPointError(problem)
    if options.ignore or options.per_path_ignores:
        report.findings = [f for f in report.findings if not ignored(f, options)]
    report.notes.extend(ctx.trust.notes)
    report.findings.sort(key=lambda f: (f.path, f.line, f.column, f.rule, f.site))
    return report


def ignored(finding: Finding, options: Options) -> bool:
    """--ignore RULE, or a `per-path-ignores` glob of the project config matching the file."""
    if finding.rule in options.ignore:
        return True
    for pattern, rules in options.per_path_ignores:
        if (finding.rule in rules or "all" in rules) and fnmatch.fnmatchcase(finding.path,
                                                                             pattern):
            return True
    return False


ENTRY_NAMES = {"nginx": ("nginx.conf",),
               "apache": ("apache2.conf", "httpd.conf", "conf/httpd.conf")}


def entry_points(path: str, server: str | None = None) -> list[str]:
    """A folder given on the command line (`certlint check /etc/nginx`) stands for the entry
    point(s) in it, as the servers name them; any other path stands for itself."""
    if not os.path.isdir(path):
        return [path]
    kinds = [server] if server else ["nginx", "apache"]
    found = [os.path.join(path, name) for kind in kinds for name in ENTRY_NAMES[kind]
             if os.path.isfile(os.path.join(path, name))]
    if not found:
        names = ", ".join(n for kind in kinds for n in ENTRY_NAMES[kind])
        raise EntryPointError(f"{path} is a folder without an entry point ({names}): name the "
                              "main config file")
    return _one_per_kind(found)


def _one_per_kind(found: list[str]) -> list[str]:
    """nginx.conf, and the first Apache name found (apache2.conf before httpd.conf)."""
    out, apache = [], False
    for entry in found:
        if os.path.basename(entry) == "nginx.conf":
            out.append(entry)
        elif not apache:
            out.append(entry)
            apache = True
    return out


def _not_a_config(path: str) -> str | None:
    """Why an entry point is plainly no server config (a certificate, key or binary file passed
    by mistake), or None."""
    from certlint.safe_io import read_head

    try:  # only a regular file is looked into; the parser says what is wrong with others
        head = read_head(path, 4096)
    except OSError:
        return None
    if head.lstrip().startswith(b"-----BEGIN "):
        return ("is a PEM file (certificates or keys), not a server config: pass the nginx.conf "
                "or apache2.conf/httpd.conf that names it")
    if head[:2] in (b"\x30\x82", b"\x30\x80", b"\x30\x81"):  # DER: .der, .p12, .pfx
        return ("is a binary (DER) certificate or key file, not a server config: pass the "
                "nginx.conf or apache2.conf/httpd.conf that names it")
    return None


def _entry_under_root(path: str, root: str | None) -> str:
    """`--root repo /etc/nginx/nginx.conf`: the checkout's copy, not this machine's file (whose
    includes would then be read from the checkout: a mix of both)."""
    if not root or not os.path.isabs(path):
        return path
    root = os.path.abspath(root)
    if os.path.commonpath([root, os.path.abspath(path)]) == root:
        return path
    inside = os.path.join(root, os.path.normpath(path).lstrip("/"))
    if not os.path.exists(inside):
        # never this machine's file instead: its includes would be read from the checkout
        raise EntryPointError(f"{path}: not in the tree under --root {root} ({inside} does not "
                              "exist); name the entry point inside the checkout, or pass "
                              "--root / to check this machine's config")
    return inside


def _check_paths(paths: list[str], options: Options, ctx: Context, report: Report) -> None:
    paths = [entry for path in paths
             for entry in entry_points(_entry_under_root(path, options.root), options.server)]
    seen: set[str] = set()
    for path in paths:
        real = path if path == "-" else os.path.realpath(path)
        if real in seen:  # `etc/nginx etc/nginx/nginx.conf`: one config, reported once
            continue
        seen.add(real)
        if path == "-" and options.server == "apache":
            raise EntryPointError("-: standard input is read as an `nginx -T` dump or nginx "
                                  "config; for Apache pass the apache2.conf/httpd.conf file")
        path = _entry_under_root(path, options.root)
        why = _not_a_config(path)
        if why:
            raise EntryPointError(f"{path}: {why}")
        config = _parse(path, options, report)
        fatal = [e for e in config.errors if e.fatal]
        if fatal:
            raise EntryPointError(f"{fatal[0].path}: {fatal[0].message}")
        report.configs.append(config)
        report.findings.extend(check_config(config, ctx))


def _parse(path: str, options: Options, report: Report) -> ServerConfig:
    """Parse one entry point; without --root, a checkout's entry point that names absolute
    paths gets its root inferred (said in `report.notes`) or is refused (exit 2), so that this
    machine's files are never read by accident."""
    def parse(root):
        return parse_config(path, server=options.server, root=root,
                            apache_version=options.apache_version, defines=options.defines,
                            nginx_version=options.nginx_version, env=options.env)

    if options.root is not None or path == "-":
        return parse(options.root)
    from certlint import hostpaths
    from certlint.parsers.common import recording

    with recording() as absolute:
        config = parse(None)
    if config.extra.get("dump") or any(e.fatal for e in config.errors):
        return config
    verdict = hostpaths.judge(path, absolute, config.files)
    if verdict.root is not None:
        options.root = verdict.root
        report.notes.append(
            f"{path} names {verdict.because}: reading it and every absolute path under "
            f"{verdict.root} (the root inferred from where {os.path.basename(path)} lies; "
            "pass --root to choose another)")
        return parse(verdict.root)
    if verdict.foreign is not None:
        raise EntryPointError(
            f"{path} names {verdict.foreign}, which would be read from this machine, not from "
            f"the tree {path} lies in: pass --root DIR (the folder that stands for / in the "
            "checkout), or --root / to read this machine's files")
    return config


def check_config(config: ServerConfig, ctx: Context) -> list[Finding]:
    ctx.config = config
    findings: list[Finding] = []
    from certlint.locations import column

    dump = bool(config.extra.get("dump"))
    for error in config.errors:
        findings.append(Finding("config-error", error.severity, error.path, error.line or 1,
                                error.message, column=1 if dump else column(
                                    error.path, error.line, root=ctx.options.root)))
    disabled = {id(site): _block_disabled(site, config) for site in config.sites}
    rules = [r for r in all_rules().values()
             if config.server in r.servers and "config" in r.sources]
    for rule in rules:
        if rule.scope == "config":
            findings.extend(_run_rule(rule, config, config, ctx))

    site_rules = [r for r in rules if r.scope != "config"]

    def check_sites(sites) -> list[Finding]:
        # the innermost loop of a run (rules x sites): no call but the rule's own
        out: list[Finding] = []
        for rule in site_rules:
            name, check = rule.name, rule.check
            for site in sites:
                off = disabled[id(site)]
                if off and (name in off or "all" in off):
                    continue
                try:
                    out.extend(list(check(site, ctx)))  # all or nothing, as _run_rule
                except Exception as exc:  # noqa: BLE001 - one broken rule must not stop the run
                    out.append(_rule_failed(rule, site, config, ctx, exc))
        if workers > 1:
            for finding in out:
                finding.fix = None  # `check` shares its work; fix plans stay with `fix`
        return out

    from certlint.parallel import map_shares, workers_for

    # --online: one process, so the run's network budget and its one-request-per-URL hold
    workers = 1 if getattr(ctx.options, "online", False) else workers_for(len(config.sites),
                                                                          ctx.options.jobs)
    if workers > 1:
        ctx.trust.warm()  # load the trust store once, before the workers share it
    findings.extend(map_shares(config.sites, check_sites, workers))
    return _dedupe([f for f in findings if not _line_disabled(f, config)])


def _run_rule(rule, target, config: ServerConfig, ctx: Context) -> list[Finding]:
    try:
        return list(rule.check(target, ctx))
    except Exception as exc:  # noqa: BLE001 - one broken rule must not stop the run
        return [_rule_failed(rule, target, config, ctx, exc)]


def _rule_failed(rule, target, config: ServerConfig, ctx: Context, exc: Exception) -> Finding:
    """The finding that says a rule broke on this target (the others still ran)."""
    origin = getattr(target, "origin", None)
    if ctx.options.debug:
        import traceback

        traceback.print_exc()
    return Finding(
        rule.name, "error", origin.path if origin else config.entry,
        origin.line if origin else 1,
        f"internal error in rule {rule.name}: {exc.__class__.__name__}: {exc} "
        "(please report this; other rules still ran)",
    )


def _block_disabled(site, config: ServerConfig) -> set[str]:
    """Rules disabled by `# certlint: disable=RULE` comment lines right before the block."""
    rules = {r.strip() for r in site.suppressed}
    comments = config.comments.get(site.origin.path, {})
    line = site.origin.line - 1
    while line in comments:
        m = SUPPRESS.search(comments[line])
        if m and not m.group(1):
            rules.update(r.strip() for r in m.group(2).split(","))
        line -= 1
    return rules


def _line_disabled(finding: Finding, config: ServerConfig) -> bool:
    """`# certlint: disable-next-line=RULE` on the line above the finding's directive, or
    `# certlint: disable=RULE` at the end of the directive's own line (nginx allows that)."""
    comments = config.comments.get(finding.path, {})
    m = SUPPRESS.search(comments.get(finding.line - 1, ""))
    if m and m.group(1) and _matches(finding.rule, m.group(2).split(",")):
        return True
    m = SUPPRESS.search(comments.get(finding.line, ""))
    return bool(m and not m.group(1) and _matches(finding.rule, m.group(2).split(",")))


def _matches(rule: str, names) -> bool:
    if not names:
        return False
    names = {r.strip() for r in names}
    return rule in names or "all" in names


def _dedupe(findings: list[Finding]) -> list[Finding]:
    seen = set()
    out = []
    for f in findings:
        key = (f.rule, f.path, f.line, f.column, f.message, f.site)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out
