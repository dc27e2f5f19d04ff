"""The command line: thin wrappers that parse options, call the library, pick a reporter and set
the exit code (0 clean, 1 findings at or above --fail-on, 2 usage or unreadable entry point)."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import gc
import os
import re
import sys
from typing import TYPE_CHECKING

import click

from certlint import __version__
from certlint.defaults import DEFAULT_APACHE_VERSION
from certlint.model import SEVERITY_RANK
from certlint.parsers.nginx_versions import DEFAULT_NGINX_VERSION

if TYPE_CHECKING:  # the CLI imports no PKI code before a command needs it
    from certlint.context import Options

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


def parse_now(value: str | None) -> dt.datetime:
    if not value:
        return dt.datetime.now(dt.timezone.utc)
    try:
        when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not a date (use YYYY-MM-DD)") from exc
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return when


def _apache_version(_ctx, _param, value: str) -> str:
    """A full Apache version: the advice (and the fix) change at 2.4.8, so `2.4` or a typo
    must not silently pick one side."""
    text = (value or "").strip()
    if text.lower().startswith("apache/"):
        text = text[7:]
    text = text.split()[0] if text.split() else ""
    full = re.fullmatch(r"(\d+\.\d+\.\d+)(?:[-+~_][\w.~+-]*)?", text)  # 2.4.62-1~deb12u2
    if full:
        return full[1]
    if re.fullmatch(r"\d+\.\d+", text):
        raise click.BadParameter(f"{value!r} is not precise enough: give the full version such "
                                 f"as {DEFAULT_APACHE_VERSION} (`apache2 -v` or `httpd -v` "
                                 "prints it); the advice changes at 2.4.8")
    raise click.BadParameter(f"{value!r} is not an Apache version (use e.g. "
                             f"{DEFAULT_APACHE_VERSION}, as `apache2 -v` prints it)")


_HOST = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*"
                   r"[A-Za-z0-9])?)*\.?")


def _resolver_ok(value: str) -> bool:
    """An address nginx's `resolver` takes: IP, [IPv6], host name, each with an optional
    :port. Nothing else reaches the config (a `;` would end the directive)."""
    import ipaddress

    host, port = value, None
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        if rest:
            if not rest.startswith(":"):
                return False
            port = rest[1:]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return False
    else:
        try:
            ipaddress.ip_address(value)
            return True
        except ValueError:
            pass
        if value.count(":") == 1:
            host, port = value.split(":")
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            if not _HOST.fullmatch(host):
                return False
    return port is None or (port.isdigit() and 0 < int(port) < 65536)


def _resolvers(_ctx, _param, values) -> tuple[str, ...]:
    for value in values:
        if not _resolver_ok(value.strip()):
            raise click.BadParameter(
                f"{value!r} is not a resolver address: give one IP address or host name per "
                "--resolver, optionally with :port (e.g. --resolver 127.0.0.53 --resolver "
                "[2001:db8::53]:53)")
    return tuple(v.strip() for v in values)


def common_options(fn):
    """Options shared by `check` and `fix`."""
    options = [
        click.argument("paths", nargs=-1, type=click.Path()),
        click.option("--server", type=click.Choice(["nginx", "apache"]),
                     help="Server kind of the entry points (default: detected)."),
        click.option("--root", type=click.Path(exists=True, file_okay=False),
                     help="Resolve absolute paths under DIR (a checked-out /etc tree)."),
        click.option("--ca-bundle", "ca_bundles", multiple=True, type=click.Path(),
                     help="PEM file of extra trusted roots (repeatable)."),
        click.option("--expiry-warn-days", default=30, show_default=True,
                     type=click.IntRange(0, 36500),
                     help="Warn when a certificate expires within N days (or a third of its "
                          "lifetime, whichever is shorter)."),
        click.option("--apache-version", default=DEFAULT_APACHE_VERSION, show_default=True,
                     callback=_apache_version,
                     help="Apache version to give advice for (as `apache2 -v` prints it)."),
        click.option("--nginx-version", default=DEFAULT_NGINX_VERSION, show_default=True,
                     expose_value=False, callback=_remember_nginx_version,
                     help="nginx version to judge directives for (as `nginx -v` prints it): "
                          "`ssl on;` is refused from 1.25.1, `http2 on;` needs 1.25.1, ..."),
        click.option("--now", "now", default=None,
                     help="Judge validity as of this date (YYYY-MM-DD or ISO time)."),
        click.option("--ignore", "ignored", multiple=True, metavar="RULE[,RULE]",
                     help="Do not report these rules (repeatable), e.g. cert-file-missing in a "
                          "repo that holds configs but not the keys."),
        click.option("--fail-on", default="error", show_default=True,
                     type=click.Choice(["error", "warning", "info"]),
                     help="Lowest severity that makes the exit code 1."),
        click.option("--lang", type=click.Choice(["en", "ja"]), default=None,
                     expose_value=False, callback=_remember_lang,
                     help="Language of --format remediation (default: ja when the locale "
                          "(LC_ALL, LC_MESSAGES, LANG) is Japanese, else en)."),
        click.option("--define", metavar="NAME", multiple=True, expose_value=False,
                     callback=_remember_defines,
                     help="Apache: a name httpd is started with (-D NAME), repeatable. Given "
                          "once, <IfDefine> of names never defined counts as off (without it, "
                          "both branches are read)."),
        click.option("--no-cache", is_flag=True,
                     help="Do not use the on-disk caches (check: results of earlier runs; fix: "
                          "AIA downloads)."),
        click.option("--env", "env", metavar="NAME=VALUE", multiple=True, expose_value=False,
                     callback=_remember_env,
                     help="Apache: a variable of httpd's environment for ${NAME} (repeatable). "
                          "certlint never reads its own environment for ${NAME}."),
        click.option("--debug", is_flag=True,
                     help="Show the Python traceback of an internal error (for bug reports)."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _remember_lang(ctx: click.Context, _param, value) -> None:
    ctx.meta["certlint.lang"] = value


def remediation_args(paths) -> dict:
    """What the remediation document needs beyond the report: the language and the entry points
    (its suggested `certlint fix` command repeats them)."""
    current = click.get_current_context(silent=True)
    lang = current.meta.get("certlint.lang") if current is not None else None
    return {"lang": lang, "argv": list(paths)}


def _remember_nginx_version(ctx: click.Context, _param, value: str) -> None:
    """--nginx-version X.Y.Z (or `nginx/X.Y.Z` as `nginx -v` prints it)."""
    from certlint.parsers.nginx_versions import parse_version

    text = (value or "").strip().split()[-1] if (value or "").strip() else ""
    if text.lower().startswith("nginx/"):
        text = text[6:]
    if parse_version(text) is None:
        raise click.BadParameter(f"{value!r} is not an nginx version (use e.g. "
                                 f"{DEFAULT_NGINX_VERSION}, as `nginx -v` prints it)",
                                 param_hint="'--nginx-version'")
    ctx.meta["certlint.nginx_version"] = text


def network_options(fn):
    """Options of every command that may use the network (fix, check --online, probe)."""
    options = [
        click.option("--aia-public-only/--aia-private", "aia_public_only", default=None,
                     help="Refuse (or allow) AIA, OCSP and CRL URLs on private or loopback "
                          "hosts. Default: refused when the CI variable is set, else allowed."),
        click.option("--network-budget", default=60.0, show_default=True, metavar="SECONDS",
                     type=click.FloatRange(0, 86400),
                     help="Seconds of network for the whole run; later fetches are skipped "
                          "with a message."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def apply_network_options(options: Options, aia_public_only, network_budget) -> None:
    from certlint.pki.network import public_only_default

    options.aia_public_only = public_only_default(aia_public_only)
    options.network_budget = network_budget


def _remember_defines(ctx: click.Context, _param, value) -> None:
    """--define reaches Options through the click context (check and fix keep their
    parameter lists)."""
    ctx.meta["certlint.defines"] = list(value or ())


def _remember_env(ctx: click.Context, _param, value) -> None:
    """--env NAME=VALUE: the only values of httpd's environment certlint uses (SECURITY.md
    promise 4)."""
    env: dict[str, str] = {}
    for item in value or ():
        name, sep, text = item.partition("=")
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise click.BadParameter(f"{item!r} is not NAME=VALUE (e.g. --env "
                                     "APACHE_LOG_DIR=/var/log/apache2)", param_hint="'--env'")
        env[name] = text
    ctx.meta["certlint.env"] = env


def make_options(server, root, ca_bundles, expiry_warn_days, apache_version, now, debug,
                 ignored=()):
    from certlint.context import Options

    current = click.get_current_context(silent=True)
    defines = current.meta.get("certlint.defines", []) if current is not None else []
    env = current.meta.get("certlint.env", {}) if current is not None else {}
    nginx_version = (current.meta.get("certlint.nginx_version") if current is not None
                     else None) or DEFAULT_NGINX_VERSION
    project = current.meta.get("certlint.project") if current is not None else None
    return Options(now=parse_now(now), expiry_warn_days=expiry_warn_days,
                   ca_bundles=list(ca_bundles), apache_version=apache_version, root=root,
                   server=server, debug=debug, defines=defines, env=env,
                   nginx_version=nginx_version, ignore=_ignored_rules(ignored),
                   per_path_ignores=list(project.per_path_ignores) if project else [])


def _esc(message: str) -> str:
    from certlint.report.escape import text

    return text(message)


def guarded(fn):
    """No traceback reaches a user: unexpected errors become one line and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except click.exceptions.Exit:
            raise
        except click.ClickException:
            raise
        except KeyboardInterrupt:
            click.echo("certlint: interrupted", err=True)
            sys.exit(130)
        except Exception as exc:  # noqa: BLE001
            if kwargs.get("debug"):
                raise
            click.echo(_esc(f"certlint: internal error: {exc.__class__.__name__}: {exc} "
                            "(run with --debug for details)"), err=True)
            sys.exit(EXIT_USAGE)

    return wrapper


@click.group()
@click.version_option(__version__, prog_name="certlint")
@click.pass_context
def cli(ctx: click.Context):
    """Lint and fix the TLS certificate setup of nginx and Apache httpd configs.

    Settings come from the command line, then from the nearest `.certlint.toml` (or
    `[tool.certlint]` in pyproject.toml) above the current folder; `certlint config` shows them.
    """
    if ctx.invoked_subcommand not in ("check", "fix", "config"):
        return
    from certlint import project

    try:
        found = project.find()
        config = project.load(found) if found else None
    except project.ProjectConfigError as exc:
        click.echo(f"certlint: {exc}", err=True)
        ctx.exit(EXIT_USAGE)
    ctx.meta["certlint.project"] = config
    if config is not None:
        ctx.default_map = {name: config.default_map(name) for name in ("check", "fix", "config")}


def _project():
    current = click.get_current_context(silent=True)
    return current.meta.get("certlint.project") if current is not None else None


def _entry_paths(paths) -> list[str]:
    """The entry points named on the command line, else the config file's `paths`."""
    if paths:
        return list(paths)
    config = _project()
    where = f"in {config.path}" if config is not None else "in a .certlint.toml"
    raise click.UsageError(f"no config to check: name the entry point(s) (nginx.conf, "
                           f"apache2.conf, ...) or set `paths` {where}")


@cli.command()
@common_options
@click.option("--format", "fmt", default="text", show_default=True,
              type=click.Choice(["text", "json", "sarif", "github", "remediation"]),
              help="Output: text lines, JSON, SARIF 2.1.0, GitHub annotations, or a "
                   "Markdown remediation document for customers.")
@click.option("--color/--no-color", default=None, help="Colour text output (default: on a TTY).")
@click.option("--online", is_flag=True,
              help="Also do what the server does on the network: OCSP requests for stapling "
                   "sites (through the configured nginx resolver), CRLs of client CAs.")
@network_options
@guarded
def check(paths, server, root, ca_bundles, expiry_warn_days, apache_version, now, fmt, debug,
          fail_on, color, no_cache=False, ignored=(), online=False, aia_public_only=None,
          network_budget=60.0):
    """Lint config entry points (nginx.conf, apache2.conf/httpd.conf, a folder holding one, or
    an `nginx -T` dump)."""
    entries = _entry_paths(paths)
    cache_key = None
    # --online asks the network now: its answers are never served from the cache
    use_cache = not no_cache and not online and fmt != "remediation"
    if use_cache:
        from certlint import cache  # hashing and pickling: not for a --no-cache run

        use_cache = cache.enabled(entries)
    if use_cache:
        project = _project()
        current = click.get_current_context()
        # every option that can change a finding (all but how the report is shown), also
        # options other commands add later; paths as absolute paths
        settings = {name: value for name, value in current.params.items()
                    if name not in ("fmt", "color", "fail_on", "debug", "no_cache", "paths")}
        settings.update(
            entries=[os.path.abspath(p) for p in entries],
            root=os.path.abspath(root) if root else None,
            ca_bundles=[os.path.abspath(p) for p in ca_bundles],
            ignored=sorted(ignored), defines=current.meta.get("certlint.defines", []),
            env=sorted(current.meta.get("certlint.env", {}).items()),
            nginx_version=current.meta.get("certlint.nginx_version"),
            per_path_ignores=sorted((g, sorted(r)) for g, r in project.per_path_ignores)
            if project else [])
        cache_key = cache.key(settings)
        hit = cache.lookup(cache_key)
        if hit is not None:
            _output(hit, fmt, color, fail_on)
    from certlint import reads
    from certlint.engine import EntryPointError, run_check
    from certlint.locations import relocate
    from certlint.parallel import cpu_count

    options = make_options(server, root, ca_bundles, expiry_warn_days, apache_version, now, debug,
                           ignored)
    options.jobs = cpu_count()  # big trees: every core checks a share of the sites
    options.online = online
    apply_network_options(options, aia_public_only, network_budget)
    try:
        with reads.recording() if cache_key else contextlib.nullcontext() as seen:
            report = run_check(entries, options)
    except EntryPointError as exc:
        click.echo(_esc(f"certlint: {exc}"), err=True)
        sys.exit(EXIT_USAGE)
    relocate(report.findings, options.root)
    if cache_key is not None:
        cache.store(cache_key, seen, report, options.root, options.expiry_warn_days)
    _output(report, fmt, color, fail_on,
            {"options": options, **remediation_args(paths)} if fmt == "remediation" else None)


def _output(report, fmt: str, color, fail_on: str, remediation: dict | None = None):
    """Notes on stderr, the report on stdout, and the exit code."""
    from certlint.report import render

    for note in report.notes:
        click.echo(_esc(f"certlint: {note}"), err=True)
    if color is None:
        color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    # bytes: a non-UTF-8 file name (kept as surrogates) goes out as it is on disk, whatever
    # the terminal's encoding, instead of failing the whole report; color=: click would strip
    # the codes again whenever stdout is not a terminal (--color)
    extra = remediation or {}
    click.echo(render(report, fmt, color=color, **extra).encode("utf-8", "surrogateescape"),
               nl=False, color=color)
    threshold = SEVERITY_RANK[fail_on]
    sys.exit(EXIT_FINDINGS if report.worst() >= threshold else EXIT_OK)


def _ignored_rules(values) -> set[str]:
    """--ignore values (repeatable, comma-separated), each a known rule name."""
    if not values:
        return set()
    import difflib

    from certlint.docs import load_docs

    known = set(load_docs())
    out: set[str] = set()
    for value in values:
        for name in filter(None, (v.strip().lower() for v in value.split(","))):
            if name not in known:
                near = difflib.get_close_matches(name, sorted(known), n=1)
                hint = f" (did you mean {near[0]!r}?)" if near else ""
                raise click.BadParameter(f"unknown rule {name!r}{hint}",
                                         param_hint="'--ignore'")
            out.add(name)
    return out


@cli.command()
@common_options
@click.option("--format", "fmt", default="text", show_default=True,
              type=click.Choice(["text", "json", "remediation"]),
              help="Output: the diff and a summary (text), JSON, or a Markdown remediation "
                   "document for what the fix changes.")
@click.option("--write", is_flag=True, help="Apply the fixes (atomic writes; nothing deleted).")
@click.option("--patch", "patch_file", type=click.Path(dir_okay=False),
              help="Save one `git apply`-able patch (new files and config edits) to FILE.")
@click.option("--offline", is_flag=True, help="Never use the network (AIA downloads).")
@click.option("--intermediates", multiple=True, type=click.Path(file_okay=False),
              help="Folder of PEM intermediates consulted before the network (repeatable).")
@network_options
@click.option("--resolver", "resolvers", multiple=True, callback=_resolvers,
              help="DNS resolver address for stapling fixes (repeatable): an IP address "
                   "or host name, optionally with :port.")
@guarded
def fix(paths, server, root, ca_bundles, expiry_warn_days, apache_version, now, fmt, debug,
        fail_on, write, patch_file, offline, intermediates, aia_public_only, network_budget,
        resolvers, no_cache=False, ignored=()):
    """Plan fixes; show a diff (default), --write to apply, --patch FILE to save a patch.

    Exit code: 0 when nothing at or above --fail-on remains (a dry run: and nothing to change),
    1 when such problems remain, fixable or not (a dry run: also when changes are pending),
    2 usage.
    """
    from certlint.fix.cli import run_fix_command

    options = make_options(server, root, ca_bundles, expiry_warn_days, apache_version, now, debug,
                           ignored)
    options.offline = offline
    options.intermediates = list(intermediates)
    apply_network_options(options, aia_public_only, network_budget)
    options.use_cache = not no_cache
    options.resolvers = list(resolvers)
    sys.exit(run_fix_command(_entry_paths(paths), options, fmt=fmt, write=write,
                             patch_file=patch_file, fail_on=fail_on,
                             remediation=remediation_args(paths)))


@cli.command("config")
@common_options
@click.option("--format", "fmt", default="text", show_default=True,
              type=click.Choice(["text", "json", "sarif", "github", "remediation"]),
              help="The output format check would use.")
@guarded
def show_config(paths, server, root, ca_bundles, expiry_warn_days, apache_version, now, fmt,
                debug, fail_on, no_cache=False, ignored=()):
    """Print the settings in effect and where each came from (command line, config file,
    default). Takes check's options, to show what a command line would change."""
    from click.core import ParameterSource

    from certlint.project import FIX_ONLY, KEYS, PARAMS

    ctx = click.get_current_context()
    project = _project()
    origin = project.path if project is not None else None
    click.echo(f"# config file: {origin or 'none found (looked for .certlint.toml and '}"
               + ("" if origin else "[tool.certlint] in pyproject.toml from here up)"))
    values = {"paths": list(paths), "root": root, "ca-bundle": list(ca_bundles),
              "ignore": sorted(_ignored_rules(ignored)), "fail-on": fail_on,
              "expiry-warn-days": expiry_warn_days, "apache-version": apache_version,
              "server": server, "define": list(ctx.meta.get("certlint.defines", [])),
              "format": fmt,
              "nginx-version": ctx.meta.get("certlint.nginx_version", DEFAULT_NGINX_VERSION)}
    width = 0
    lines = []
    for key in KEYS:
        if key == "per-path-ignores":
            value = ({os.path.relpath(g, project.folder): sorted(r)
                      for g, r in project.per_path_ignores} if project else {})
            source = origin if project and project.per_path_ignores else "default"
        elif key in values:
            value = values[key]
            kind = ctx.get_parameter_source(PARAMS[key])
            source = {ParameterSource.COMMANDLINE: "command line",
                      ParameterSource.DEFAULT_MAP: origin,
                      ParameterSource.ENVIRONMENT: "environment"}.get(kind, "default")
        elif project is not None and key in project.values:
            value, source = project.values[key], origin
        else:
            value, source = ({"offline": False, "aia-public-only": False,
                              "intermediates": []}.get(key), "default")
        if key in FIX_ONLY:
            source += " (fix only)"
        text = f"{key} = {_toml_value(value)}"
        width = max(width, len(text))
        lines.append((text, source))
    for text, source in lines:
        click.echo(f"{text:<{width}}  # {source}")


def _toml_value(value) -> str:
    import json

    if value is None:
        return "(unset)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {json.dumps(v)}"
                               for k, v in value.items()) + "}"
    return json.dumps(value)


@cli.command()
@click.argument("targets", nargs=-1)
@click.option("--targets-file", type=click.Path(dir_okay=False, allow_dash=True),
              help="Read targets from FILE, one a line, '#' comments; '-' reads standard input.")
@click.option("--connect", metavar="HOST[:PORT]",
              help="Open the TCP connection there; SNI, the name check and the report use the "
                   "TARGET's name (as `openssl s_client -connect HOST:PORT -servername NAME`). "
                   "One target only.")
@click.option("--concurrency", default=16, show_default=True, type=click.IntRange(1, 256),
              help="Endpoints probed at the same time.")
@click.option("--timeout", default=10.0, show_default=True, type=click.FloatRange(0.1, 300),
              help="Seconds for connect + handshake, and separately for each AIA/OCSP/CRL fetch.")
@click.option("--pem-file", type=click.Path(dir_okay=False),
              help="Judge a PEM bundle exactly as a server would send it (TARGET names the "
                   "site).")
@click.option("--showcerts-file", type=click.Path(dir_okay=False),
              help="Judge an `openssl s_client -showcerts [-status]` transcript instead of "
                   "connecting (TARGET names the site).")
@click.option("--ca-bundle", "ca_bundles", multiple=True, type=click.Path(),
              help="PEM file of extra trusted roots (repeatable).")
@click.option("--expiry-warn-days", default=30, show_default=True,
              type=click.IntRange(0, 36500),
              help="Warn when a certificate expires within N days (or a third of its "
                   "lifetime, whichever is shorter).")
@click.option("--now", "now", default=None,
              help="Judge validity as of this date (YYYY-MM-DD or ISO time).")
@click.option("--offline", is_flag=True,
              help="Never fetch (AIA, OCSP, CRL): judge only what was served.")
@network_options
@click.option("--bundle-out", type=click.Path(file_okay=False),
              help="Write NAME.fullchain.pem (leaf, intermediates in issuing order, no root; "
                   "verified first) and each intermediate as its own PEM file into DIR.")
@click.option("--lang", type=click.Choice(["en", "ja"]), default=None, expose_value=False,
              callback=_remember_lang,
              help="Language of --format remediation (default: ja when the locale is "
                   "Japanese, else en).")
@click.option("--format", "fmt", default="text", show_default=True,
              type=click.Choice(["text", "json", "sarif", "github", "remediation"]),
              help="Output: text lines, JSON, SARIF 2.1.0, GitHub annotations, or a "
                   "Markdown remediation document for customers.")
@click.option("--fail-on", default="error", show_default=True,
              type=click.Choice(["error", "warning", "info"]),
              help="Lowest severity that makes the exit code 1.")
@click.option("--color/--no-color", default=None, help="Colour text output (default: on a TTY).")
@click.option("--ignore", "ignored", multiple=True, metavar="RULE[,RULE]",
              help="Do not report these rules (repeatable).")
@click.option("--debug", is_flag=True,
              help="Show the Python traceback of an internal error (for bug reports).")
@guarded
def probe(targets, targets_file, connect, concurrency, timeout, pem_file, showcerts_file,
          ca_bundles, expiry_warn_days, now, offline, aia_public_only, network_budget,
          bundle_out, fmt, fail_on, color, ignored, debug):
    """Judge what live endpoints serve (TARGET: NAME, NAME:PORT, https://NAME[:PORT][/path],
    [IPv6]:PORT; port 443 by default), or a transcript / PEM bundle, with the same rules as
    `check`. An endpoint that cannot be reached is an `endpoint-unreachable` finding."""
    from certlint.context import Options
    from certlint.probe.cli import run_probe_command

    options = Options(now=parse_now(now), expiry_warn_days=expiry_warn_days,
                      ca_bundles=list(ca_bundles), debug=debug, offline=offline)
    apply_network_options(options, aia_public_only, network_budget)
    options.timeout = timeout
    skip = _ignored_rules(ignored)
    if color is None:
        color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    sys.exit(run_probe_command(list(targets), options, fmt=fmt, fail_on=fail_on, ignored=skip,
                               color=color, pem_file=pem_file, showcerts_file=showcerts_file,
                               targets_file=targets_file, connect=connect,
                               concurrency=concurrency, timeout=timeout,
                               bundle_out=bundle_out,
                               remediation=remediation_args(list(targets))))


@cli.command()
@click.argument("rule")
@click.option("--lang", type=click.Choice(["en", "ja"]), default="en", show_default=True,
              help="Language of the document.")
def explain(rule, lang):
    """Print a rule's documentation."""
    from certlint.docs import load_docs

    docs = load_docs()
    doc = docs.get(rule) or docs.get(rule.strip().lower())
    if doc is None:
        import difflib

        near = difflib.get_close_matches(rule.strip().lower(), list(docs), n=1)
        hint = f"did you mean {near[0]!r}? " if near else ""
        click.echo(f"certlint: unknown rule {rule!r}; {hint}`certlint rules` lists them",
                   err=True)
        sys.exit(EXIT_USAGE)
    if lang == "ja":
        translated = load_docs("ja").get(doc.name)
        if translated is not None:
            fixable = "可" if doc.fixable else "不可"
            click.echo(f"# {doc.name}\n\n重大度: {doc.severity} · 対象サーバー: "
                       f"{', '.join(doc.servers)} · certlint fix による修正: {fixable}\n\n"
                       f"{translated.summary}\n\n{translated.body}", nl=False)
            return
        click.echo(f"certlint: no Japanese text for {doc.name!r} yet; showing the English one",
                   err=True)
    fixable = "yes" if doc.fixable else "no"
    click.echo(f"# {doc.name}\n\nseverity: {doc.severity} · servers: {', '.join(doc.servers)}"
               f" · fixable: {fixable}\n\n{doc.summary}\n\n{doc.body}", nl=False)


@cli.command("rules")
@click.option("--format", "fmt", default="text", type=click.Choice(["text", "json", "markdown"]))
def list_rules(fmt):
    """List the rule catalogue."""
    import json

    from certlint.docs import load_docs

    docs = sorted(load_docs().values(), key=lambda d: d.name)
    if fmt == "json":
        click.echo(json.dumps([{"name": d.name, "severity": d.severity,
                                "servers": list(d.servers), "fixable": d.fixable,
                                "summary": d.summary} for d in docs], indent=2))
    elif fmt == "markdown":
        click.echo("| rule | severity | servers | fixable | what it finds |\n|---|---|---|---|---|")
        for d in docs:
            click.echo(f"| `{d.name}` | {d.severity} | {', '.join(d.servers)} | "
                       f"{'yes' if d.fixable else 'no'} | {d.summary} |")
    else:
        width = max((len(d.name) for d in docs), default=10)
        for d in docs:
            click.echo(f"{d.name:<{width}}  {d.severity:<7}  {d.summary}")


def main():
    # one short-lived process: a run builds many long-lived objects and few cycles, so the
    # cyclic collector only walks them again and again, and once more at exit (about 10% of
    # a 10,000-vhost check). Library callers (run_check) keep their own collector settings.
    gc.disable()
    # a non-UTF-8 file name (kept as surrogates) is printed as its bytes, not a crash, even
    # under a strict UTF-8 locale (en_US.UTF-8)
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="surrogateescape")
    try:
        cli(prog_name="certlint")
    finally:
        gc.freeze()
