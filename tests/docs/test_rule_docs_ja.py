"""Japanese rule documents (`rules/ja/<rule>.md`): one per rule, with the fixed front matter and
sections, no English prose left over, the English document's commands, code and error messages
kept verbatim, loadable with `load_docs("ja")` and printed by `certlint explain --lang ja`."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from certlint.docs import SECTION_TITLES, load_docs, parse_doc
from certlint.rules import all_rules
from tests.support.paths import REPO

RULES_DIR = os.path.join(REPO, "rules")
JA_DIR = os.path.join(RULES_DIR, "ja")
ENGINE_RULES = {"config-error"}  # emitted by the engine itself, explained like a rule
RULES = sorted(set(all_rules()) | ENGINE_RULES)
SERVER_NAME = {"nginx": "nginx", "apache": "Apache"}

JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]")
FENCE = re.compile(r"^```.*?^```[ \t]*$", re.M | re.S)
CODE_SPAN = re.compile(r"`[^`]*`")
URL = re.compile(r"https?://[^\s`<>（）]*[^\s`<>（）.,:;]")
ASCII_WORD = re.compile(r"[A-Za-z][A-Za-z'-]+")
# "- Node.js: `...`" and "- Java: `...`" are fine; "The server starts anyway." is not
MAX_ASCII_WORDS = 3


def read(path: str) -> str:
    with open(path, encoding="utf-8") as fh:
        return fh.read()


def front_matter(text: str) -> tuple[dict[str, str], str]:
    assert text.startswith("---\n"), "must start with a '---' front matter"
    _, front, body = text.split("---", 2)
    meta = {}
    for line in front.strip().splitlines():
        key, _, value = line.partition(":")
        meta[key.strip()] = value.strip()
    return meta, body


def sections(body: str) -> list[tuple[str, str]]:
    parts = re.split(r"^## (.+?)[ \t]*$", body, flags=re.M)
    return [(parts[i], parts[i + 1].strip()) for i in range(1, len(parts) - 1, 2)]


def english_paragraphs(text: str) -> list[str]:
    """Prose paragraphs and list items, outside code blocks, code spans and URLs, that hold no
    Japanese character and more than MAX_ASCII_WORDS ASCII words."""
    prose = FENCE.sub("\n\n", text)
    found = []
    for block in re.split(r"\n[ \t]*\n|\n(?=[ \t]*(?:[-*]|\d+\.)[ \t])", prose):
        if block.strip("\n").startswith(("## ", "    ", "\t")):  # titles, indented code
            continue
        bare = URL.sub(" ", CODE_SPAN.sub(" ", block))
        if not JAPANESE.search(bare) and len(ASCII_WORD.findall(bare)) > MAX_ASCII_WORDS:
            found.append(block.strip())
    return found


def code_of(text: str) -> tuple[list[str], set[str]]:
    """Fenced code blocks, indented code lines and inline code spans (whitespace normalised)."""
    blocks = [b.strip() for b in FENCE.findall(text)]
    blocks += [line.strip() for line in FENCE.sub("", text).splitlines()
               if line.startswith("    ") and line.strip()]
    spans = {" ".join(s.split()) for s in CODE_SPAN.findall(FENCE.sub("", text))}
    return blocks, spans


def test_every_rule_has_a_japanese_document_and_no_orphans():
    present = {f[:-3] for f in os.listdir(JA_DIR) if f.endswith(".md")}
    missing = set(RULES) - present
    assert not missing, f"rules without rules/ja/<rule>.md: {sorted(missing)}"
    assert not present - set(RULES), (
        f"rules/ja documents without a rule: {sorted(present - set(RULES))}")
    assert set(load_docs("ja")) == set(RULES)


@pytest.mark.parametrize("rule", RULES)
def test_japanese_document_shape(rule):
    path = os.path.join(JA_DIR, f"{rule}.md")
    assert os.path.isfile(path), f"{rule}: rules/ja/{rule}.md is missing"
    meta, body = front_matter(read(path))
    assert meta.get("name") == rule, f"{rule}: front matter name is {meta.get('name')!r}"
    assert JAPANESE.search(meta.get("summary", "")), f"{rule}: summary must be Japanese"
    assert set(meta) == {"name", "summary"}, (
        f"{rule}: front matter holds only name and summary (the rest comes from English)")
    got = sections(body)
    assert [t for t, _ in got] == list(SECTION_TITLES["ja"]), (
        f"{rule}: sections must be exactly {SECTION_TITLES['ja']}, got {[t for t, _ in got]}")
    for title, text in got:
        assert text, f"{rule}: section '{title}' is empty"
    english = parse_doc(read(os.path.join(RULES_DIR, f"{rule}.md")))
    text = dict(got)
    for server in ("nginx", "apache"):
        title = f"{SERVER_NAME[server]} での対処"
        if server not in english.servers:
            assert "該当しません" in text[title], (
                f"{rule}: runs on {english.servers} only; '{title}' must say it does not apply")


@pytest.mark.parametrize("rule", RULES)
def test_japanese_document_has_no_english_prose(rule):
    meta, body = front_matter(read(os.path.join(JA_DIR, f"{rule}.md")))
    left = english_paragraphs(meta.get("summary", "") + "\n\n" + body)
    assert not left, f"{rule}: English prose left in rules/ja/{rule}.md:\n" + "\n---\n".join(left)


@pytest.mark.parametrize("rule", RULES)
def test_japanese_document_keeps_code_messages_and_references_verbatim(rule):
    """Commands, directives, paths and quoted error messages are copied, never translated."""
    english = read(os.path.join(RULES_DIR, f"{rule}.md")).split("---", 2)[2]
    japanese = read(os.path.join(JA_DIR, f"{rule}.md")).split("---", 2)[2]
    en_blocks, en_spans = code_of(english)
    ja_blocks, ja_spans = code_of(japanese)
    assert not [b for b in en_blocks if b not in ja_blocks], f"{rule}: a code block differs"
    assert not en_spans - ja_spans, f"{rule}: code spans missing: {sorted(en_spans - ja_spans)}"
    en_urls, ja_urls = set(URL.findall(english)), set(URL.findall(japanese))
    assert not en_urls - ja_urls, f"{rule}: references missing: {sorted(en_urls - ja_urls)}"


@pytest.mark.parametrize("rule", RULES)
def test_japanese_document_has_the_english_structure(rule):
    """Section by section, as many list items, code blocks and indented log lines as the English
    document: a bullet or example added to one language shows up as missing in the other."""
    english = parse_doc(read(os.path.join(RULES_DIR, f"{rule}.md")))
    _, body = front_matter(read(os.path.join(JA_DIR, f"{rule}.md")))
    en = dict.fromkeys(SECTION_TITLES["en"], "") | dict(sections(english.body))
    ja = dict(sections(body))
    for en_title, ja_title in zip(SECTION_TITLES["en"], SECTION_TITLES["ja"], strict=True):
        if en_title.startswith("How to fix on") and not en[en_title]:
            continue  # a server the rule does not run on: the Japanese text says so briefly
        assert shape(ja[ja_title]) == shape(en[en_title]), (
            f"{rule}: '{ja_title}' has (list items, code blocks, indented lines) "
            f"{shape(ja[ja_title])}, the English '{en_title}' {shape(en[en_title])}")


def shape(text: str) -> tuple[int, int, int]:
    prose = FENCE.sub("", text)
    return (len(re.findall(r"^- ", prose, re.M)), len(FENCE.findall(text)),
            len(re.findall(r"^    \S", prose, re.M)))


# One spelling per term, the one Japanese operators use (issue 9): variant -> preferred
TERMS = {
    r"中間証明書|中間 CA 証明書|中間CA 証明書": "中間CA証明書",
    r"OCSP ステープリング|OCSPステイプリング": "OCSPステープリング",
    r"ブラウザ(?!ー)": "ブラウザー",
    r"サーバ(?!ー)": "サーバー",
    r"証明書連鎖|チェーン証明書": "証明書チェーン",
}


@pytest.mark.parametrize("rule", RULES)
def test_japanese_document_uses_the_operators_terms(rule):
    meta, body = front_matter(read(os.path.join(JA_DIR, f"{rule}.md")))
    prose = CODE_SPAN.sub(" ", FENCE.sub("", meta.get("summary", "") + "\n" + body))
    wrong = {m.group(0): good for bad, good in TERMS.items() for m in re.finditer(bad, prose)}
    assert not wrong, f"{rule}: use the usual terms: {wrong}"


def test_english_prose_detector_catches_a_leftover_paragraph():
    doc = ("## 影響\n\nサーバーは起動します。\n\n- curl: `curl: (60) SSL certificate problem`\n"
           "- The server starts, but clients fail to verify the chain.\n\n"
           "```sh\nnginx -t && nginx -s reload because this is code\n```\n\n"
           "- https://nginx.org/en/docs/http/configuring_https_servers.html#chains\n")
    assert english_paragraphs(doc) == [
        "- The server starts, but clients fail to verify the chain."]
    leftover = "The server starts anyway."
    assert english_paragraphs(f"## 影響\n\n{leftover}\n") == [leftover]
    assert english_paragraphs("Summary: 中間CA証明書が不足しています。\n") == []


def test_load_docs_ja_keeps_the_english_metadata():
    en, ja = load_docs()["apache-chain-file-missing"], load_docs("ja")["apache-chain-file-missing"]
    assert (ja.name, ja.severity, ja.servers, ja.fixable) == (
        en.name, en.severity, en.servers, en.fixable)
    assert ja.summary != en.summary and JAPANESE.search(ja.summary)
    assert ja.body.startswith("## 確認内容")
    with pytest.raises(ValueError):
        load_docs("fr")


def test_explain_lang_ja_prints_the_japanese_document(certlint):
    result = certlint("explain", "chain-incomplete", "--lang", "ja")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith("# chain-incomplete\n\n重大度: error · 対象サーバー: nginx, apache · "
                          "certlint fix による修正: 可\n\n")
    assert load_docs("ja")["chain-incomplete"].summary in out
    for title in SECTION_TITLES["ja"]:
        assert f"\n## {title}\n" in out
    assert "`curl: (60) SSL certificate problem: unable to get local issuer certificate`" in out
    assert "What it checks" not in out
    english = certlint("explain", "chain-incomplete")
    assert english.stdout.startswith("# chain-incomplete\n\nseverity: error")
    assert "## What it checks" in english.stdout
    bad = certlint("explain", "chain-incomplete", "--lang", "fr")
    assert bad.exit_code == 2


@pytest.mark.parametrize("rule", RULES)
def test_explain_lang_ja_for_every_rule(certlint, rule):
    result = certlint("explain", rule, "--lang", "ja")
    assert result.exit_code == 0, result.output
    assert "## 確認内容" in result.stdout and "## What it checks" not in result.stdout


def test_explain_lang_ja_in_a_c_locale_process():
    """The real command in a fresh process with a C locale writes the Japanese text as UTF-8."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "LANG", "PYTHONIO"))}
    env.update(LC_ALL="C", PYTHONPATH=os.path.join(REPO, "src"))
    proc = subprocess.run([sys.executable, "-m", "certlint", "explain", "key-mismatch",
                           "--lang", "ja"], capture_output=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    out = proc.stdout.decode("utf-8")
    assert out.startswith("# key-mismatch\n") and "## 影響" in out


def test_explain_lang_ja_falls_back_to_english_with_a_note(certlint, monkeypatch):
    """A rule whose Japanese text has not landed yet still explains (in English), saying so."""
    import certlint.docs as docs

    real = docs.load_docs
    monkeypatch.setattr(docs, "load_docs", lambda lang="en": {} if lang == "ja" else real(lang))
    result = certlint("explain", "key-mismatch", "--lang", "ja")
    assert result.exit_code == 0
    assert result.stdout.startswith("# key-mismatch\n\nseverity: error")
    assert "no Japanese text for 'key-mismatch' yet" in result.stderr
