"""`certlint fix` tells the truth (issue 12, item 3): after fixing, every finding at or above
`--fail-on` that remains makes the exit code 1, as `ruff check --fix` does; the summary says
"N fixed, M remain (K cannot be fixed automatically: RULE at FILE:LINE, ...)"; `fix` takes
`--ignore` and `--fail-on`; its `--format` lists only what it writes; and the output says where
each added intermediate came from.
"""

from __future__ import annotations

import json
import os

import pytest

from tests.support import servers
from tests.support.ca_http import CaHttp, PublishedCA
from tests.support.pki import DAY, NOW, StandardPKI, cert_pem, write

SERVER = ("    server {{\n        listen 443 ssl;\n        server_name {name};\n"
          "        ssl_certificate {cert};\n        ssl_certificate_key {key};\n    }}\n")


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CERTLINT_CACHE_DIR", str(tmp_path / "aia-cache"))


def fleet(folder, *sites) -> str:
    """nginx.conf with one server per (name, served certs, key), files in certs/."""
    blocks = []
    for name, certs, key in sites:
        write(os.path.join(folder, "certs", f"{name}.pem"), cert_pem(*certs))
        write(os.path.join(folder, "certs", f"{name}.key"), key, 0o600)
        blocks.append(SERVER.format(name=name, cert=f"certs/{name}.pem",
                                    key=f"certs/{name}.key"))
    return write(os.path.join(folder, "nginx.conf"),
                 ("events {}\nhttp {\n" + "".join(blocks) + "}\n").encode())


@pytest.fixture
def mixed(tmp_path):
    """a.test serves only its leaf (fixable from --intermediates); b.test's certificate
    expired (no automatic fix)."""
    good = StandardPKI.make("a.test")
    expired = good.inter.leaf("b.test", not_before=NOW - 400 * DAY, not_after=NOW - 10 * DAY)
    conf = fleet(tmp_path / "tree", ("a.test", [good.leaf.cert], good.leaf.key_pem),
                 ("b.test", [expired.cert, good.inter.cert], expired.key_pem))
    write(tmp_path / "inters" / "inter.pem", good.inter.pem)
    root = write(tmp_path / "root.pem", good.root.pem)
    return conf, ["--offline", "--ca-bundle", root, "--intermediates",
                  str(tmp_path / "inters")]


def test_write_fixes_what_it_can_and_exits_1_for_the_expired_certificate(mixed, certlint):
    conf, args = mixed
    result = certlint("fix", "--write", *args, conf)

    assert result.exit_code == 1, result.output
    summary = result.stderr.strip().splitlines()[-1]
    assert summary == ("certlint: 1 fixed, 1 remain (1 cannot be fixed automatically: "
                       f"cert-expired at {conf}:12)"), summary
    # the chain really was fixed: nginx starts and check reports only the expired certificate
    code, after = certlint.json(conf, *[a for a in args if a != "--offline"][0:2])
    assert code == 1 and [f["rule"] for f in after["findings"]] == ["cert-expired"]
    assert servers.nginx_test(conf).ok


def test_dry_run_also_names_what_will_remain(mixed, certlint):
    conf, args = mixed
    result = certlint("fix", *args, conf)

    assert result.exit_code == 1, result.output
    assert "+++ b/" in result.stdout or "would create" in result.stdout
    assert result.stderr.strip().splitlines()[-1].startswith(
        "certlint: 1 fixable (dry run; --write applies), 1 remain (1 cannot be fixed "
        "automatically: cert-expired at ")


def test_ignore_and_fail_on_are_accepted_by_fix(mixed, certlint, tmp_path):
    conf, args = mixed
    ignored = certlint("fix", "--write", "--ignore", "cert-expired", *args, conf)
    assert ignored.exit_code == 0, ignored.output
    assert ignored.stderr.strip().splitlines()[-1] == "certlint: 1 fixed, 0 remain"

    # a certificate that expires in 10 days: a warning, below the default --fail-on error
    soon = StandardPKI.make("c.test", not_before=NOW - 365 * DAY, not_after=NOW + 10 * DAY)
    other = fleet(tmp_path / "soon", ("c.test", [soon.leaf.cert, soon.inter.cert],
                                      soon.leaf.key_pem))
    root = write(tmp_path / "soon-root.pem", soon.root.pem)
    default = certlint("fix", "--offline", "--ca-bundle", root, other)
    assert default.exit_code == 0, default.output
    assert default.stderr.strip().endswith("0 remain; 1 below --fail-on error")
    strict = certlint("fix", "--offline", "--ca-bundle", root, "--fail-on", "warning", other)
    assert strict.exit_code == 1, strict.output
    assert "cert-expiring-soon at " in strict.stderr


def test_json_lists_every_remaining_finding_with_a_reason(mixed, certlint):
    conf, args = mixed
    result = certlint("fix", "--format", "json", *args, conf)
    payload = json.loads(result.stdout)

    assert result.exit_code == 1
    assert [f["rule"] for f in payload["fixed"]] == ["chain-incomplete"]
    assert [(f["rule"], f["site"]) for f in payload["remaining"]] == [("cert-expired",
                                                                       "b.test:443")]
    assert "no automatic fix" in payload["remaining"][0]["reason"]
    assert payload["summary"] == {"fixed": 1, "remain": 1, "below_fail_on": 0}


def test_fix_formats_are_only_the_ones_it_writes(mixed, certlint):
    conf, args = mixed
    helped = certlint("fix", "--help").output
    assert "[text|json|remediation]" in helped and "sarif" not in helped
    refused = certlint("fix", "--format", "sarif", *args, conf)
    assert refused.exit_code == 2
    document = certlint("fix", "--format", "remediation", *args, conf)
    assert document.exit_code == 1, document.output
    assert "chain-incomplete" in document.stdout and "cert-expired" not in document.stdout


def test_note_says_the_intermediate_came_from_the_intermediates_folder(mixed, certlint,
                                                                       tmp_path):
    conf, args = mixed
    result = certlint("fix", *args, conf)
    inter = tmp_path / "inters" / "inter.pem"
    assert (f"(added 'certlint Test Intermediate' from --intermediates {inter}; verified by "
            "signature)") in result.stderr, result.stderr


def test_note_names_the_neighbouring_file(tmp_path, certlint):
    pki = StandardPKI.make("example.test")
    conf = fleet(tmp_path / "tree", ("example.test", [pki.leaf.cert], pki.leaf.key_pem))
    write(tmp_path / "tree" / "certs" / "chain.pem", pki.inter.pem)
    root = write(tmp_path / "root.pem", pki.root.pem)
    result = certlint("fix", "--offline", "--ca-bundle", root, conf)
    assert ("from the neighbouring file chain.pem; verified by signature)"
            in result.stderr), result.stderr


def test_note_names_the_aia_url(tmp_path, certlint):
    with CaHttp() as http:
        ca = PublishedCA(http)
        leaf = ca.leaf("example.test")
        conf = fleet(tmp_path / "tree", ("example.test", [leaf.cert], leaf.key_pem))
        root = write(tmp_path / "root.pem", ca.root.pem)
        result = certlint("fix", "--aia-private", "--ca-bundle", root, conf)
    assert f"from AIA {ca.url}; verified by signature)" in result.stderr, result.stderr


def test_check_counts_as_fixable_only_what_fix_can_finish_at_a_private_root(tmp_path, certlint):
    """A private CA not passed with --ca-bundle: a.test serves its leaf alone and b.test its
    chain in the wrong order; chain.pem beside them holds the intermediate and the private root.
    fix writes nothing that does not reach a trusted root, so check must not call these
    fixable (it said "certlint fix will add it" and fix then refused): it names the private
    root and --ca-bundle instead, and the count of fixable findings is fix's own. With the root
    passed, both are fixable and fix repairs them."""
    pki = StandardPKI.make("a.test", "b.test")
    conf = fleet(tmp_path / "tree", ("a.test", [pki.leaf.cert], pki.leaf.key_pem),
                 ("b.test", [pki.inter.cert, pki.leaf.cert], pki.leaf.key_pem))
    write(tmp_path / "tree" / "certs" / "chain.pem", cert_pem(pki.inter.cert, pki.root.cert))

    code, payload = certlint.json("--server", "nginx", conf)
    assert code == 1
    by_rule = {(f["rule"], f["site"]): f for f in payload["findings"]}
    incomplete = by_rule[("chain-incomplete", "a.test:443")]
    assert incomplete["fixable"] is False
    assert "private root" in incomplete["message"] and "--ca-bundle" in incomplete["message"]
    assert "chain.pem beside it" in incomplete["message"]
    assert "will add it" not in incomplete["message"]
    assert by_rule[("chain-wrong-order", "b.test:443")]["fixable"] is False
    assert not [f for f in payload["findings"] if f["fixable"]], payload["findings"]
    text = certlint("check", "--server", "nginx", conf)
    assert "fixable with `certlint fix`" not in text.stdout
    dry = certlint("fix", "--server", "nginx", "--offline", conf)
    assert "certlint: 0 fixable" in dry.stderr, dry.output

    root = str(write(tmp_path / "root.pem", pki.root.pem))
    code, payload = certlint.json("--server", "nginx", "--ca-bundle", root, conf)
    fixable = sorted((f["rule"], f["site"]) for f in payload["findings"] if f["fixable"])
    assert fixable == [("chain-incomplete", "a.test:443"), ("chain-wrong-order", "b.test:443")]
    fixed = certlint("fix", "--write", "--server", "nginx", "--offline", "--ca-bundle", root,
                     conf)
    assert fixed.exit_code == 0, fixed.output
    code, payload = certlint.json("--server", "nginx", "--ca-bundle", root, conf)
    assert code == 0 and payload["findings"] == [], payload["findings"]
