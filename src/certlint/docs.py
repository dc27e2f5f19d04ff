"""Rule documents: `rules/<name>.md` with a small front matter, shipped inside the wheel.

Front matter is `key: value` lines between `---` fences (lists as `[a, b]`); the body is the
prose shown by `certlint explain`, in SARIF rule help and in remediation documents.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources


@dataclass(frozen=True)
class RuleDoc:
    name: str
    severity: str
    servers: tuple[str, ...]
    fixable: bool
    summary: str
    body: str
    meta: dict = field(default_factory=dict, compare=False, hash=False)


def _docs_dir():
    """`certlint/_rules` inside an installed wheel, else the repository's `rules/` folder."""
    try:
        packaged = resources.files("certlint") / "_rules"
        if packaged.is_dir():
            return packaged
    except (ModuleNotFoundError, FileNotFoundError):
        pass
    here = os.path.dirname(os.path.abspath(__file__))
    return _Path(os.path.normpath(os.path.join(here, "..", "..", "rules")))


class _Path:
    """Minimal Traversable over a plain folder (editable installs and source checkouts)."""

    def __init__(self, path: str):
        self.path = path

    def is_dir(self) -> bool:
        return os.path.isdir(self.path)

    def iterdir(self):
        for name in sorted(os.listdir(self.path)):
            yield _Path(os.path.join(self.path, name))

    @property
    def name(self) -> str:
        return os.path.basename(self.path)

    def read_text(self, encoding: str = "utf-8") -> str:
        with open(self.path, encoding=encoding) as fh:
            return fh.read()


def parse_doc(text: str) -> RuleDoc:
    if not text.startswith("---"):
        raise ValueError("rule document must start with a '---' front matter")
    _, front, body = text.split("---", 2)
    meta: dict = {}
    for line in front.strip().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, _, value = line.partition(":")
        value = value.strip()
        if value.startswith("[") and value.endswith("]"):
            meta[key.strip()] = tuple(v.strip() for v in value[1:-1].split(",") if v.strip())
        else:
            meta[key.strip()] = value
    return RuleDoc(
        name=meta["name"],
        severity=meta["severity"],
        servers=tuple(meta.get("servers", ("nginx", "apache"))),
        fixable=str(meta.get("fixable", "false")).lower() == "true",
        summary=meta.get("summary", ""),
        body=body.strip() + "\n",
        meta=meta,
    )


@lru_cache(maxsize=1)
def load_docs() -> dict[str, RuleDoc]:
    """Every rule document, keyed by rule name."""
    folder = _docs_dir()
    docs: dict[str, RuleDoc] = {}
    if not folder.is_dir():
        return docs
    for entry in folder.iterdir():
        if entry.name.endswith(".md"):
            doc = parse_doc(entry.read_text(encoding="utf-8"))
            docs[doc.name] = doc
    return docs
