"""Rule documents: `rules/<name>.md` with a small front matter, shipped inside the wheel.

Front matter is `key: value` lines between `---` fences (lists as `[a, b]`); the body is the
prose shown by `certlint explain`, in SARIF rule help and in remediation documents.

Translations live in `rules/<lang>/<name>.md` (today `ja`): front matter `name` and `summary`
only, the body in the language's own section titles (see `SECTION_TITLES`). Severity, servers
and fixability always come from the English document, so a translation never changes behaviour.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cache

LANGS = ("en", "ja")
# Section titles of a rule document per language, in order: what it checks, what breaks,
# how to fix on nginx, how to fix on Apache, references.
SECTION_TITLES = {
    "en": ("What it checks", "What breaks", "How to fix on nginx", "How to fix on Apache",
           "References"),
    "ja": ("確認内容", "影響", "nginx での対処", "Apache での対処", "参考情報"),
}


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
    here = os.path.dirname(os.path.abspath(__file__))
    checkout = _Path(os.path.normpath(os.path.join(here, "..", "..", "rules")))
    for folder in (_Path(os.path.join(here, "_rules")), checkout):  # plain folders first
        if folder.is_dir():
            return folder
    try:  # a wheel inside a zip (zipapp): importlib.resources reads it
        from importlib import resources

        packaged = resources.files("certlint") / "_rules"
        if packaged.is_dir():
            return packaged
    except (ModuleNotFoundError, FileNotFoundError):
        pass
    return checkout


class _Path:
    """Minimal Traversable over a plain folder (editable installs and source checkouts)."""

    def __init__(self, path: str):
        self.path = path

    def __fspath__(self) -> str:
        return self.path

    __str__ = __fspath__

    def is_dir(self) -> bool:
        return os.path.isdir(self.path)

    def joinpath(self, *parts: str) -> _Path:
        return _Path(os.path.join(self.path, *parts))

    __truediv__ = joinpath

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


@cache
def load_docs(lang: str = "en") -> dict[str, RuleDoc]:
    """Every rule document in `lang` ("en" or "ja"), keyed by rule name.

    A translation is a `RuleDoc` like the English one: its own summary and body, the English
    document's severity, servers and fixability. Rules without a translation are absent from
    the returned mapping (callers fall back to `load_docs()`); a translation without an
    English document is ignored.
    """
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}; known: {', '.join(LANGS)}")
    folder = _docs_dir()
    if lang != "en":
        return _load_translations(folder / lang, load_docs("en"))
    docs: dict[str, RuleDoc] = {}
    if not folder.is_dir():
        return docs
    for entry in folder.iterdir():
        if entry.name.endswith(".md"):
            doc = parse_doc(entry.read_text(encoding="utf-8"))
            docs[doc.name] = doc
    return docs


def parse_translation(text: str, english: RuleDoc) -> RuleDoc:
    """A translated document: its summary and body over the English document's metadata."""
    if not text.startswith("---"):
        raise ValueError("rule document must start with a '---' front matter")
    _, front, body = text.split("---", 2)
    meta: dict = {}
    for line in front.strip().splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip():
            meta[key.strip()] = value.strip()
    return RuleDoc(
        name=meta.get("name", ""),
        severity=english.severity,
        servers=english.servers,
        fixable=english.fixable,
        summary=meta.get("summary", ""),
        body=body.strip() + "\n",
        meta=meta,
    )


def _load_translations(folder, english: dict[str, RuleDoc]) -> dict[str, RuleDoc]:
    docs: dict[str, RuleDoc] = {}
    if not folder.is_dir():
        return docs
    for entry in folder.iterdir():
        name = entry.name
        if name.endswith(".md") and name[:-3] in english:
            doc = parse_translation(entry.read_text(encoding="utf-8"), english[name[:-3]])
            if doc.name == name[:-3]:
                docs[doc.name] = doc
    return docs
