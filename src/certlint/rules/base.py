"""What a rule is: a name, a scope and a check function, registered with `@rule`.

A check is a generator. Site rules get `(site, ctx)`, config rules get `(config, ctx)`; both
yield `Finding`s built with `ctx.finding(...)`. Metadata (severity, servers, fixable) and prose
live in the rule's document in the top-level `rules/` folder, not here.

`sources` says which sites a rule runs on: "config" (sites parsed from nginx/Apache configs) and
"probe" (sites probed live or read from a transcript/PEM bundle, which have a served chain and no
directives). Rules that read only the served chain run on both; rules that need directives
(resolver, stapling cache, CRL and key files) stay "config" only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from certlint.model import Finding


@dataclass(frozen=True)
class Rule:
    name: str
    check: Callable[..., Iterable[Finding]]
    scope: str = "site"  # "site" | "config"
    servers: tuple[str, ...] = ("nginx", "apache")
    sources: tuple[str, ...] = ("config",)


REGISTRY: dict[str, Rule] = {}


CHAIN_SOURCES = ("config", "probe")  # rules that read only the served chain


def rule(name: str, scope: str = "site", servers: tuple[str, ...] = ("nginx", "apache"),
         sources: tuple[str, ...] = ("config",)):
    """Register a check function under its public rule name (one function may own several)."""

    def register(fn):
        if name in REGISTRY and REGISTRY[name].check is not fn:
            raise RuntimeError(f"rule {name} registered twice")
        REGISTRY[name] = Rule(name, fn, scope, servers, sources)
        return fn

    return register
