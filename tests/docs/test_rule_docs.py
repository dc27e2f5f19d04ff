"""Rule documents: one per registered rule, each with the fixed front matter and sections that
`certlint explain`, SARIF rule help and the remediation document read."""

from __future__ import annotations

import os
import re

import pytest

from certlint.docs import load_docs, parse_doc
from certlint.report.remediation import sections
from certlint.rules import all_rules
from tests.support.paths import REPO

RULES_DIR = os.path.join(REPO, "rules")
# findings the engine itself emits (not a registered check) but that users still see and explain
ENGINE_RULES = {"config-error"}
SEVERITIES = {"error", "warning", "info"}
SERVER_SECTION = {"nginx": "How to fix on nginx", "apache": "How to fix on Apache"}
DOC_FILES = sorted(f for f in os.listdir(RULES_DIR) if f.endswith(".md"))


def expected_sections(servers) -> list[str]:
    return (["What it checks", "What breaks"]
            + [SERVER_SECTION[s] for s in ("nginx", "apache") if s in servers]
            + ["References"])


def test_registered_rules_and_rule_docs_agree_one_to_one():
    registered = set(all_rules()) | ENGINE_RULES
    documented = {f[:-3] for f in DOC_FILES}
    assert not registered - documented, (
        f"rules without a document in rules/: {sorted(registered - documented)}")
    assert not documented - registered, (
        f"documents in rules/ without a registered rule: {sorted(documented - registered)}")
    assert set(load_docs()) == registered


@pytest.mark.parametrize("filename", DOC_FILES)
def test_rule_doc_front_matter(filename):
    with open(os.path.join(RULES_DIR, filename), encoding="utf-8") as fh:
        doc = parse_doc(fh.read())
    for key in ("name", "severity", "servers", "fixable", "summary"):
        assert key in doc.meta, f"{filename}: front matter lacks '{key}'"
    assert doc.name == filename[:-3], f"{filename}: name is {doc.name!r}"
    assert doc.severity in SEVERITIES, f"{filename}: severity {doc.severity!r}"
    assert doc.servers and set(doc.servers) <= {"nginx", "apache"}, f"{filename}: servers"
    assert doc.meta["fixable"] in ("true", "false"), f"{filename}: fixable must be true/false"
    assert doc.summary.strip(), f"{filename}: empty summary"
    registered = all_rules().get(doc.name)
    if registered is not None:
        assert set(doc.servers) == set(registered.servers), (
            f"{filename}: servers {doc.servers} but the rule runs on {registered.servers}")


@pytest.mark.parametrize("filename", DOC_FILES)
def test_rule_doc_sections(filename):
    with open(os.path.join(RULES_DIR, filename), encoding="utf-8") as fh:
        doc = parse_doc(fh.read())
    titles = re.findall(r"^## (.+?)\s*$", doc.body, re.M)
    assert titles == expected_sections(doc.servers), (
        f"{filename}: sections must be exactly {expected_sections(doc.servers)}, got {titles}")
    text = sections(doc.body)
    for title in titles:
        assert text[title.lower()].strip(), f"{filename}: section '{title}' is empty"
    quoted = "`" in text["what breaks"] or re.search(r"^(    |\t)\S", text["what breaks"], re.M)
    assert quoted, (f"{filename}: 'What breaks' should quote the real error text "
                    "(in backticks or an indented code block)")
    assert re.search(r"https?://\S+", text["references"]), f"{filename}: no reference URL"


@pytest.mark.parametrize("name", sorted(load_docs()))
def test_explain_prints_each_rule(certlint, name):
    result = certlint("explain", name)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"# {name}\n")
    assert "## What it checks" in result.stdout
    assert "## References" in result.stdout


def test_explain_unknown_rule_is_a_usage_error(certlint):
    result = certlint("explain", "nope")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "unknown rule 'nope'" in result.stderr


def test_rules_lists_every_documented_rule(certlint):
    result = certlint("rules")
    assert result.exit_code == 0
    listed = {line.split()[0] for line in result.stdout.splitlines() if line.strip()}
    assert listed == set(load_docs())


def test_readme_rule_table_is_current(certlint):
    with open(os.path.join(REPO, "README.md"), encoding="utf-8") as fh:
        readme = fh.read()
    m = re.search(r"<!-- rules:start -->\n(.*?)<!-- rules:end -->", readme, re.S)
    assert m, "README.md lacks the <!-- rules:start --> / <!-- rules:end --> markers"
    table = certlint("rules", "--format", "markdown").stdout.strip() + "\n"
    assert m.group(1) == table, (
        "the rule table in README.md is out of date: run `python scripts/update_readme.py`")
