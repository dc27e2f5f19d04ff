"""The fix engine on nginx trees without network: dry run, --write, --patch, idempotence, safety.

Chains here are repaired from what the served file already holds (wrong order, anchor sent,
strays), so `--offline` is on everywhere: any network use would be a bug.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess

import pytest
from cryptography import x509

from certlint.fix.plan import FixPlan, InsertDirective, NewFile, RemoveDirective, ReplaceArg
from certlint.rules import base as rules_base
from tests.support.paths import REPO
from tests.support.pki import StandardPKI, cert_pem, write
from tests.support.servers import require
from tests.support.trees import nginx_conf, nginx_server, write_nginx

FIXTURE_PKI = os.path.join(REPO, "fixtures", "pki")


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch, certlint):
    monkeypatch.setenv("CERTLINT_CACHE_DIR", str(tmp_path / "aia-cache"))
    # run from the checkout, as a hook or CI job does: fix writes only inside the entry point's
    # folder or the current folder (SECURITY.md promise 1), and the certificates lie beside
    monkeypatch.chdir(tmp_path)
    certlint.workstation()  # loopback AIA allowed, as outside CI (network/test_fetch.py)


def snapshot(folder) -> dict[str, tuple[bytes, int]]:
    out = {}
    for dirpath, _dirs, files in os.walk(folder):
        for f in files:
            path = os.path.join(dirpath, f)
            with open(path, "rb") as fh:
                out[os.path.relpath(path, folder)] = (fh.read(), stat.S_IMODE(os.stat(path)
                                                                                .st_mode))
    return out


@pytest.fixture
def tree(tmp_path):
    """A copy of the fixture PKI and an nginx.conf; returns (folder, make_conf)."""
    folder = tmp_path / "tree"
    shutil.copytree(FIXTURE_PKI, folder / "pki")

    def make(*servers: tuple[str, str, str]) -> str:
        return write_nginx(folder / "nginx" / "nginx.conf",
                           *(nginx_server(c, k, n) for n, c, k in servers))

    return folder, make


def fix(certlint, *args):
    return certlint("fix", "--offline", "--ca-bundle", os.path.join(FIXTURE_PKI, "root.pem"),
                    *args)


def certs(path) -> list[x509.Certificate]:
    with open(path, "rb") as fh:
        return x509.load_pem_x509_certificates(fh.read())


def fixture_cert(name) -> list[x509.Certificate]:
    return certs(os.path.join(FIXTURE_PKI, name))


def test_dry_run_shows_diff_and_new_files_and_changes_nothing(tree, certlint):
    folder, make = tree
    conf = make(("example.test", "../pki/wrong-order.pem", "../pki/demo-keys/leaf.key"))
    before = snapshot(folder)

    result = fix(certlint, conf)

    assert result.exit_code == 1  # changes pending
    assert "-        ssl_certificate ../pki/wrong-order.pem;" in result.stdout
    assert "+        ssl_certificate ../pki/wrong-order.fullchain.pem;" in result.stdout
    assert "would create" in result.stdout and "wrong-order.fullchain.pem" in result.stdout
    assert snapshot(folder) == before


def test_write_fixes_wrong_order_and_second_run_changes_nothing(tree, certlint):
    folder, make = tree
    conf = make(("example.test", "../pki/wrong-order.pem", "../pki/demo-keys/leaf.key"))
    keys_before = {k: v for k, v in snapshot(folder).items() if "demo-keys" in k}

    result = fix(certlint, "--write", conf)

    assert result.exit_code == 0, result.output
    new = folder / "pki" / "wrong-order.fullchain.pem"
    leaf, inter = fixture_cert("leaf.pem")[0], fixture_cert("inter.pem")[0]
    assert certs(new) == [leaf, inter]
    assert {k: v for k, v in snapshot(folder).items() if "demo-keys" in k} == keys_before
    after = snapshot(folder)

    again = fix(certlint, "--write", conf)

    assert again.exit_code == 0
    assert snapshot(folder) == after
    dry = fix(certlint, conf)
    assert dry.exit_code == 0 and dry.stdout == ""


@pytest.mark.parametrize("served, expected", [
    ("fullchain-with-root.pem", ["leaf.pem", "inter.pem"]),  # anchor dropped
    ("deep-misordered.pem", ["deep.pem", "inter2.pem", "inter.pem"]),  # issuing order
])
def test_write_rebuilds_chain_leaf_first_in_issuing_order(tree, certlint, served, expected):
    folder, make = tree
    key = "deep.key" if "deep" in served else "leaf.key"
    conf = make(("example.test", f"../pki/{served}", f"../pki/demo-keys/{key}"))

    result = fix(certlint, "--write", conf)

    assert result.exit_code == 0, result.output
    stem = served[: -len(".pem")]
    new = certs(folder / "pki" / f"{stem}.fullchain.pem")
    assert new == [fixture_cert(n)[0] for n in expected]
    code, payload = certlint.json(conf, "--ca-bundle", os.path.join(FIXTURE_PKI, "root.pem"))
    assert [f["rule"] for f in payload["findings"]] == []


def test_unrelated_cert_dropped(tmp_path, certlint):
    pki = StandardPKI.make("example.test")
    stray = StandardPKI.make("other.test").inter
    folder = tmp_path / "tree"
    write(folder / "site.pem", cert_pem(pki.leaf.cert, pki.inter.cert, stray.cert))
    write(folder / "site.key", pki.leaf.key_pem, 0o600)
    root = write(tmp_path / "root.pem", pki.root.pem)
    conf = write_nginx(folder / "nginx.conf", nginx_server("site.pem", "site.key"))

    result = certlint("fix", "--offline", "--write", "--ca-bundle", root, conf)

    assert result.exit_code == 0, result.output
    assert certs(folder / "site.fullchain.pem") == [pki.leaf.cert, pki.inter.cert]


def test_patch_applies_with_git_apply_and_equals_write(tree, tmp_path, certlint, monkeypatch):
    folder, make = tree
    conf = make(("a.test", "../pki/wrong-order.pem", "../pki/demo-keys/leaf.key"),
                ("b.test", "../pki/deep-misordered.pem", "../pki/demo-keys/deep.key"))
    os.chmod(conf, 0o640)
    clean = tmp_path / "clean"
    shutil.copytree(folder, clean)
    patch = tmp_path / "fix.patch"
    monkeypatch.chdir(folder)

    # b.test serves example.test's certificate: an error no fix can repair (exit 1 if kept)
    result = fix(certlint, "--patch", patch, "--ignore", "hostname-mismatch", "nginx/nginx.conf")

    assert result.exit_code == 0, result.output
    assert snapshot(folder) == snapshot(clean)  # --patch alone writes nothing else
    written = fix(certlint, "--write", "--ignore", "hostname-mismatch", "nginx/nginx.conf")
    assert written.exit_code == 0, written.output
    applied = subprocess.run([require("git"), "apply", str(patch)], cwd=clean, capture_output=True,
                             text=True)
    assert applied.returncode == 0, applied.stderr
    # same bytes everywhere (git itself only knows modes 644/755; --write keeps the 640)
    assert {k: v[0] for k, v in snapshot(clean).items()} == {
        k: v[0] for k, v in snapshot(folder).items()}
    assert stat.S_IMODE(os.stat(conf).st_mode) == 0o640


def test_existing_identical_fullchain_is_reused(tree, certlint):
    folder, make = tree
    conf = make(("example.test", "../pki/wrong-order.pem", "../pki/demo-keys/leaf.key"))
    leaf, inter = fixture_cert("leaf.pem")[0], fixture_cert("inter.pem")[0]
    existing = write(folder / "pki" / "wrong-order.fullchain.pem", cert_pem(leaf, inter))
    mtime = os.stat(existing).st_mtime_ns

    result = fix(certlint, "--write", "--format", "json", conf)

    payload = json.loads(result.stdout)
    assert result.exit_code == 0
    assert payload["created"] == [] and payload["reused"] == [existing]
    assert os.stat(existing).st_mtime_ns == mtime


def test_existing_different_file_is_never_overwritten(tree, certlint):
    folder, make = tree
    conf = make(("example.test", "../pki/wrong-order.pem", "../pki/demo-keys/leaf.key"))
    taken = write(folder / "pki" / "wrong-order.fullchain.pem", b"someone else's file\n")

    result = fix(certlint, "--write", conf)

    assert result.exit_code == 0, result.output
    assert open(taken, "rb").read() == b"someone else's file\n"
    assert "wrong-order.fullchain-2.pem" in open(conf).read()


def test_shared_snippet_is_edited_once_for_all_its_servers(tmp_path, certlint):
    pki = StandardPKI.make("a.test", "b.test")
    folder = tmp_path / "tree"
    write(folder / "site.pem", cert_pem(pki.inter.cert, pki.leaf.cert))
    write(folder / "site.key", pki.leaf.key_pem, 0o600)
    write(folder / "tls.conf", b"ssl_certificate site.pem;\nssl_certificate_key site.key;\n")
    root = write(tmp_path / "root.pem", pki.root.pem)
    conf = write_nginx(folder / "nginx.conf", *(nginx_server(None, None, n,
                                                             extra=["include tls.conf;"])
                                                for n in ("a.test", "b.test")))

    result = certlint("fix", "--offline", "--write", "--ca-bundle", root, conf)

    assert result.exit_code == 0, result.output
    assert (folder / "tls.conf").read_text() == ("ssl_certificate site.fullchain.pem;\n"
                                                 "ssl_certificate_key site.key;\n")


def test_unfixable_problem_exit_1_and_nothing_changed(tmp_path, certlint):
    pki = StandardPKI.make("example.test")  # leaf without AIA, no intermediate anywhere
    folder = tmp_path / "tree"
    write(folder / "site.pem", pki.leaf.pem)
    write(folder / "site.key", pki.leaf.key_pem, 0o600)
    root = write(tmp_path / "root.pem", pki.root.pem)
    conf = write_nginx(folder / "nginx.conf", nginx_server("site.pem", "site.key"))
    before = snapshot(folder)

    result = certlint("fix", "--write", "--ca-bundle", root, conf)

    assert result.exit_code == 1
    assert "not fixed" in result.stderr and "chain-incomplete" in result.stderr
    assert "no AIA caIssuers URL" in result.stderr
    assert snapshot(folder) == before


def test_usage_errors_exit_2(tree, certlint):
    folder, make = tree
    conf = make(("example.test", "../pki/leaf.pem", "../pki/demo-keys/leaf.key"))
    assert certlint("fix", str(folder / "missing.conf")).exit_code == 2
    assert certlint("fix", "--intermediates", str(folder / "nope"), conf).exit_code == 2
    assert certlint("fix", "--bogus", conf).exit_code == 2
    assert certlint("fix", "--format", "sarif", conf).exit_code == 2


# -- plans attached to findings by other rules (every edit kind) ------------------------------


def _with_rule(monkeypatch, make_plan):
    """Register a throw-away site rule whose finding carries `make_plan(site)`."""

    def check(site, ctx):
        yield ctx.finding("test-attached-fix", site.origin, "test finding", site,
                          fixable=True, fix=make_plan(site))

    monkeypatch.setitem(rules_base.REGISTRY, "test-attached-fix",
                        rules_base.Rule("test-attached-fix", check, "site", ("nginx",)))


def test_attached_plans_apply_every_edit_kind(tree, certlint, monkeypatch):
    folder, make = tree
    conf = make(("example.test", "../pki/fullchain.pem", "../pki/demo-keys/leaf.key"))
    lines = open(conf).read().splitlines()
    cert_line = lines.index("        ssl_certificate ../pki/fullchain.pem;") + 1
    listen_line = lines.index("        listen 443 ssl;") + 1

    def plan(site):
        return FixPlan("test-attached-fix", site.label, [
            NewFile(str(folder / "nginx" / "resolver.conf"), b"resolver 127.0.0.53;\n"),
            # the renamed certificate file exists: the last check reads it back
            NewFile(str(folder / "pki" / "fullchain copy.pem"),
                    (folder / "pki" / "fullchain.pem").read_bytes()),
            ReplaceArg(conf, cert_line, "ssl_certificate", "../pki/fullchain.pem",
                       "../pki/fullchain copy.pem"),
            InsertDirective(conf, cert_line, "ssl_stapling on;"),
            InsertDirective(conf, listen_line, "include resolver.conf;", before=True),
            RemoveDirective(conf, listen_line, "listen", "testing removal"),
        ])

    _with_rule(monkeypatch, plan)
    result = fix(certlint, "--write", conf)

    assert result.exit_code == 0, result.output
    assert open(conf).read().splitlines()[2:10] == [
        "    server {",
        "        include resolver.conf;",
        "        # certlint: testing removal",
        "        # listen 443 ssl;",
        "        server_name example.test;",
        '        ssl_certificate "../pki/fullchain copy.pem";',
        "        ssl_stapling on;",
        "        ssl_certificate_key ../pki/demo-keys/leaf.key;",
    ]
    assert (folder / "nginx" / "resolver.conf").read_bytes() == b"resolver 127.0.0.53;\n"


def test_plan_that_does_not_match_the_file_is_refused_whole(tree, certlint, monkeypatch):
    folder, make = tree
    conf = make(("example.test", "../pki/fullchain.pem", "../pki/demo-keys/leaf.key"))
    before = snapshot(folder)

    def plan(site):
        return FixPlan("test-attached-fix", site.label, [
            NewFile(str(folder / "nginx" / "new.conf"), b"x\n"),
            ReplaceArg(conf, 3, "ssl_certificate", "nothing-there.pem", "x.pem"),
        ])

    _with_rule(monkeypatch, plan)
    result = fix(certlint, "--write", conf)

    assert result.exit_code == 1
    assert "no 'ssl_certificate' on that line" in result.stderr
    assert snapshot(folder) == before


def test_plans_never_write_key_files(tree, certlint, monkeypatch):
    folder, make = tree
    conf = make(("example.test", "../pki/fullchain.pem", "../pki/demo-keys/leaf.key"))
    before = snapshot(folder)
    key = str(folder / "pki" / "demo-keys" / "leaf.key")

    def plan(site):
        return FixPlan("test-attached-fix", site.label, [NewFile(key, b"not a key\n")])

    _with_rule(monkeypatch, plan)
    result = fix(certlint, "--write", conf)

    assert result.exit_code == 1
    assert "private key" in result.stderr
    assert snapshot(folder) == before


def test_progress_on_a_tty_when_many_sites(tree, certlint, monkeypatch):
    import certlint.fix.cli as fix_cli

    folder, make = tree
    conf = make(*[(f"s{n}.test", "../pki/fullchain.pem", "../pki/demo-keys/leaf.key")
                  for n in range(25)])
    monkeypatch.setattr(fix_cli, "_stderr_is_tty", lambda: True)
    result = fix(certlint, "--ignore", "hostname-mismatch", conf)
    assert result.exit_code == 0
    assert "site 25/25" in result.stderr
    monkeypatch.setattr(fix_cli, "_stderr_is_tty", lambda: False)
    assert "site 25/25" not in fix(certlint, conf).stderr


def test_root_option_keeps_config_paths_absolute(tmp_path, certlint, monkeypatch):
    pki = StandardPKI.make("example.test")
    repo = tmp_path / "repo"
    write(repo / "etc/nginx/certs/site.pem", cert_pem(pki.inter.cert, pki.leaf.cert))
    write(repo / "etc/nginx/certs/site.key", pki.leaf.key_pem, 0o600)
    conf = write_nginx(repo / "etc/nginx/nginx.conf",
                       nginx_server("/etc/nginx/certs/site.pem", "/etc/nginx/certs/site.key"))
    root = write(tmp_path / "root.pem", pki.root.pem)
    monkeypatch.chdir(tmp_path)

    result = certlint("fix", "--offline", "--root", repo, "--patch", tmp_path / "p.patch",
                      "--write", "--ca-bundle", root, conf)

    assert result.exit_code == 0, result.output
    assert "ssl_certificate /etc/nginx/certs/site.fullchain.pem;" in open(conf).read()
    assert (repo / "etc/nginx/certs/site.fullchain.pem").exists()
    patch = (tmp_path / "p.patch").read_text()
    assert "+++ b/etc/nginx/certs/site.fullchain.pem" in patch
    assert "--- a/etc/nginx/nginx.conf" in patch


def test_a_fix_that_does_not_cure_is_reported_after_write(tree, certlint, monkeypatch):
    folder, make = tree
    conf = make(("example.test", "../pki/fullchain.pem", "../pki/demo-keys/leaf.key"))

    line = open(conf).read().splitlines().index("        listen 443 ssl;") + 1

    def plan(site):
        return FixPlan("test-attached-fix", site.label,
                       [InsertDirective(conf, line, "# a cure that is not one")])

    _with_rule(monkeypatch, plan)
    result = fix(certlint, "--write", conf)

    assert result.exit_code == 1
    assert "still reported after the fix was written" in result.stderr


def test_one_line_server_blocks_are_edited_in_place(tmp_path, certlint):
    pki = StandardPKI.make("a.test")
    other = StandardPKI.make("b.test")
    folder = tmp_path / "tree"
    write(folder / "a.pem", cert_pem(pki.inter.cert, pki.leaf.cert))
    write(folder / "a.key", pki.leaf.key_pem, 0o600)
    write(folder / "b.pem", cert_pem(other.leaf.cert, other.inter.cert))
    write(folder / "b.key", other.leaf.key_pem, 0o600)
    root_a = write(tmp_path / "a-root.pem", pki.root.pem)
    root_b = write(tmp_path / "b-root.pem", other.root.pem)
    line = ("    server { listen 443 ssl; server_name a.test; ssl_certificate b.pem; "
            "ssl_certificate_key b.key; ssl_certificate a.pem; ssl_certificate_key a.key; }\n")
    conf = write(folder / "nginx.conf", ("events {}\nhttp {\n" + line + "}\n").encode())

    result = certlint("fix", "--offline", "--write", "--ca-bundle", root_a, "--ca-bundle",
                      root_b, "--ignore", "hostname-mismatch", conf)

    assert result.exit_code == 0, result.output
    assert open(conf).read().splitlines()[2] == (
        "    server { listen 443 ssl; server_name a.test; ssl_certificate b.pem; "
        "ssl_certificate_key b.key; ssl_certificate a.fullchain.pem; "
        "ssl_certificate_key a.key; }")


def test_whole_line_edits_refuse_lines_with_several_statements(tmp_path):
    from certlint.fix.apply import EditError, Workspace

    conf = write(tmp_path / "nginx.conf", b"server { listen 443 ssl; ssl_stapling on; }\n")
    ws = Workspace()
    for edit in (InsertDirective(conf, 1, "resolver 127.0.0.1;"),
                 RemoveDirective(conf, 1, "server")):
        with pytest.raises(EditError, match="several statements"):
            ws.accept(FixPlan("x", "s", [edit]))
    assert ws.empty


def test_insert_after_a_block_opener_goes_inside_the_block(tmp_path):
    from certlint.fix.apply import Workspace

    conf = write(tmp_path / "nginx.conf", b"http {\n  server {\n    listen 443 ssl;\n  }\n}\n")
    ws = Workspace()
    ws.accept(FixPlan("x", "s", [InsertDirective(conf, 2, "ssl_stapling off;"),
                                 InsertDirective(conf, 2, "# above the block", before=True)]))
    ((_path, _old, new),) = ws.changes()
    assert new == ("http {\n  # above the block\n  server {\n    ssl_stapling off;\n"
                   "    listen 443 ssl;\n  }\n}\n")


def test_a_plan_without_edits_is_not_a_fix(tree, certlint, monkeypatch):
    folder, make = tree
    conf = make(("example.test", "../pki/fullchain.pem", "../pki/demo-keys/leaf.key"))

    def plan(site):
        return FixPlan("test-attached-fix", site.label, [], ["no resolver address: pass "
                                                             "--resolver ADDR"])

    _with_rule(monkeypatch, plan)
    result = fix(certlint, "--write", conf)

    assert result.exit_code == 1
    assert "no resolver address" in result.stderr


def test_a_site_is_fixed_whole_or_not_at_all(tmp_path, certlint):
    rsa = StandardPKI.make("example.test", key_kind="rsa")
    ec = StandardPKI.make("example.test")  # leaf-only, no AIA: cannot be completed
    folder = tmp_path / "tree"
    write(folder / "rsa.pem", cert_pem(rsa.inter.cert, rsa.leaf.cert))  # fixable order
    write(folder / "rsa.key", rsa.leaf.key_pem, 0o600)
    write(folder / "ec.pem", ec.leaf.pem)
    write(folder / "ec.key", ec.leaf.key_pem, 0o600)
    roots = [write(tmp_path / "r1.pem", rsa.root.pem), write(tmp_path / "r2.pem", ec.root.pem)]
    conf = write_nginx(folder / "nginx.conf", nginx_server(
        "rsa.pem", "rsa.key", extra=["ssl_certificate ec.pem;", "ssl_certificate_key ec.key;"]))
    before = snapshot(folder)

    result = certlint("fix", "--offline", "--write", "--ca-bundle", roots[0], "--ca-bundle",
                      roots[1], conf)

    assert result.exit_code == 1
    assert "another fix for this site failed" in result.stderr
    assert snapshot(folder) == before


def test_chain_and_stapling_fixes_together_and_what_they_also_cure(tree, certlint):
    folder, make = tree
    conf = make(("example.test", "../pki/ocsp.pem", "../pki/demo-keys/ocsp.key"))
    text = open(conf).read().replace("ssl_certificate_key ../pki/demo-keys/ocsp.key;",
                                     "ssl_certificate_key ../pki/demo-keys/ocsp.key;\n"
                                     "        ssl_stapling on;")
    write(conf, text.encode())

    result = fix(certlint, "--write", "--resolver", "127.0.0.53", "--format", "json", conf)

    payload = json.loads(result.stdout)
    assert result.exit_code == 0, result.output
    assert sorted(f["rule"] for f in payload["fixed"]) == ["chain-incomplete",
                                                           "stapling-no-resolver"]
    assert [f["rule"] for f in payload["also_resolved"]] == ["stapling-issuer-missing"]
    assert "resolver 127.0.0.53" in open(conf).read()
    code, after = certlint.json(conf, "--ca-bundle", os.path.join(FIXTURE_PKI, "root.pem"))
    assert code == 0 and after["findings"] == []


def test_nginx_dump_gives_a_patch_but_write_refuses(tree, tmp_path, certlint, monkeypatch):
    folder, make = tree
    conf = make(("example.test", "../pki/wrong-order.pem", "../pki/demo-keys/leaf.key"))
    dump = write(tmp_path / "dump.txt", (f"# configuration file {conf}:\n" +
                                         open(conf).read()).encode())
    before = snapshot(folder)
    monkeypatch.chdir(folder)

    refused = fix(certlint, "--write", dump)
    patched = fix(certlint, "--patch", tmp_path / "p.patch", dump)

    assert refused.exit_code == 2 and "nginx -T" in refused.stderr
    assert snapshot(folder) == before
    assert patched.exit_code == 0, patched.output
    assert "+        ssl_certificate ../pki/wrong-order.fullchain.pem;" in (
        tmp_path / "p.patch").read_text()


def test_a_refused_plan_rolls_back_only_its_own_edits(tmp_path):
    from certlint.fix.apply import EditError, Workspace

    conf = write(tmp_path / "nginx.conf", b"ssl_certificate a.pem;\nssl_certificate b.pem;\n")
    ws = Workspace()
    ws.accept(FixPlan("x", "s", [ReplaceArg(conf, 1, "ssl_certificate", "a.pem", "a2.pem")]))
    with pytest.raises(EditError):
        ws.accept(FixPlan("y", "s", [
            ReplaceArg(conf, 2, "ssl_certificate", "b.pem", "b2.pem"),
            NewFile(str(tmp_path / "new.pem"), b"x\n"),
            ReplaceArg(conf, 2, "ssl_certificate", "missing.pem", "c.pem")]))
    ((_path, _old, new),) = ws.changes()
    assert new == "ssl_certificate a2.pem;\nssl_certificate b.pem;\n"
    assert ws.new_files == {}


def test_patches_of_random_edits_apply_with_git(tmp_path):
    """The diff writer is ours (linear, from the known edits): git must agree with it."""
    import random

    from certlint.fix.apply import Workspace
    from certlint.fix.output import render_patch

    rng = random.Random(4)
    for case in range(40):
        folder = tmp_path / f"c{case}"
        n = rng.randint(1, 30)
        lines = [f"    ssl_certificate f{i}.pem;" if rng.random() < 0.7 else ""
                 for i in range(n)]
        ending = rng.choice(["\n", "\r\n"])
        text = ending.join(lines) + (ending if rng.random() < 0.8 else "")
        conf = write(folder / "nginx.conf", text.encode())
        edits = []
        for i in rng.sample(range(n), k=rng.randint(1, n)):
            if not lines[i]:
                continue
            kind = rng.choice(["replace", "after", "before", "remove"])
            if kind == "replace":
                edits.append(ReplaceArg(conf, i + 1, "ssl_certificate", f"f{i}.pem", f"g{i}.pem"))
            elif kind == "remove":
                edits.append(RemoveDirective(conf, i + 1, "ssl_certificate", "gone"))
            else:
                edits.append(InsertDirective(conf, i + 1, f"ssl_stapling on; # {i}",
                                             before=kind == "before"))
        if not edits:
            continue
        ws = Workspace()
        ws.accept(FixPlan("x", "s", edits))
        patch = folder / "p.patch"
        patch.write_text(render_patch(ws, str(folder)), newline="")
        expected = ws.files[str(conf)].render() if ws.files else text
        applied = subprocess.run([require("git"), "apply", "--unsafe-paths", str(patch)],
                                 cwd=folder, capture_output=True, text=True)
        assert applied.returncode == 0, (case, applied.stderr, patch.read_text())
        assert open(conf, newline="").read() == expected, case


def test_symlinked_site_config_is_edited_through_the_link(tmp_path, certlint):
    """Debian layout: sites-enabled/x.conf -> ../sites-available/x.conf stays a link."""
    pki = StandardPKI.make("example.test")
    folder = tmp_path / "nginx"
    write(folder / "x.pem", cert_pem(pki.inter.cert, pki.leaf.cert))
    write(folder / "x.key", pki.leaf.key_pem, 0o600)
    write(folder / "sites-available" / "x.conf", nginx_server("x.pem", "x.key").encode())
    os.makedirs(folder / "sites-enabled")
    os.symlink("../sites-available/x.conf", folder / "sites-enabled" / "x.conf")
    conf = write_nginx(folder / "nginx.conf", http_extra="    include sites-enabled/*;\n")
    root = write(tmp_path / "root.pem", pki.root.pem)

    result = certlint("fix", "--offline", "--write", "--ca-bundle", root, conf)

    assert result.exit_code == 0, result.output
    assert os.path.islink(folder / "sites-enabled" / "x.conf")
    assert "ssl_certificate x.fullchain.pem;" in (folder / "sites-available" / "x.conf"
                                                  ).read_text()


def test_two_certificates_with_one_stem_get_two_new_names(tmp_path, certlint):
    a, b = StandardPKI.make("a.test"), StandardPKI.make("b.test")
    folder = tmp_path / "tree"
    write(folder / "site.pem", cert_pem(a.inter.cert, a.leaf.cert))
    write(folder / "site.crt", cert_pem(b.inter.cert, b.leaf.cert))
    write(folder / "a.key", a.leaf.key_pem, 0o600)
    write(folder / "b.key", b.leaf.key_pem, 0o600)
    roots = [write(tmp_path / "a.pem", a.root.pem), write(tmp_path / "b.pem", b.root.pem)]
    conf = write_nginx(folder / "nginx.conf", nginx_server("site.pem", "a.key", "a.test"),
                       nginx_server("site.crt", "b.key", "b.test"))

    result = certlint("fix", "--offline", "--write", "--ca-bundle", roots[0], "--ca-bundle",
                      roots[1], conf)

    assert result.exit_code == 0, result.output
    assert certs(folder / "site.fullchain.pem") == [a.leaf.cert, a.inter.cert]
    assert certs(folder / "site.fullchain-2.pem") == [b.leaf.cert, b.inter.cert]


def test_unwritable_file_is_reported_and_its_config_left_alone(tree, certlint, monkeypatch):
    import certlint.fix.output as output

    folder, make = tree
    conf = make(("example.test", "../pki/wrong-order.pem", "../pki/demo-keys/leaf.key"))
    before = open(conf).read()
    real = output.atomic_write

    def refuse_pem(path, data, mode=None):
        if path.endswith(".pem"):
            raise PermissionError(13, "Permission denied")
        return real(path, data, mode)

    monkeypatch.setattr(output, "atomic_write", refuse_pem)
    monkeypatch.setattr(output, "create_new", refuse_pem)  # new files: created exclusively
    result = fix(certlint, "--write", conf)

    assert result.exit_code == 1
    assert "cannot create" in result.stderr and "Permission denied" in result.stderr
    assert open(conf).read() == before


def test_latin1_bytes_in_a_config_survive_the_fix(tmp_path, certlint, monkeypatch):
    pki = StandardPKI.make("example.test")
    folder = tmp_path / "tree"
    write(folder / "site.pem", cert_pem(pki.inter.cert, pki.leaf.cert))
    write(folder / "site.key", pki.leaf.key_pem, 0o600)
    root = write(tmp_path / "root.pem", pki.root.pem)
    body = nginx_conf(nginx_server("site.pem", "site.key"),
                      http_extra="    # Zertifikat f\xfcr die Kunden\n").encode("latin-1")
    conf = write(folder / "nginx.conf", body)
    clean = tmp_path / "clean"
    shutil.copytree(folder, clean)
    monkeypatch.chdir(folder)

    patched = certlint("fix", "--offline", "--patch", tmp_path / "p.patch", "--ca-bundle", root,
                       "nginx.conf")
    result = certlint("fix", "--offline", "--write", "--ca-bundle", root, "nginx.conf")

    assert patched.exit_code == 0 and result.exit_code == 0, result.output
    assert open(conf, "rb").read() == body.replace(b"site.pem;", b"site.fullchain.pem;")
    applied = subprocess.run([require("git"), "apply", str(tmp_path / "p.patch")], cwd=clean,
                             capture_output=True, text=True)
    assert applied.returncode == 0, applied.stderr
    assert (clean / "nginx.conf").read_bytes() == open(conf, "rb").read()


def test_config_changed_meanwhile_is_not_overwritten(tree, certlint, monkeypatch):
    import certlint.fix.cli as fix_cli

    folder, make = tree
    conf = make(("example.test", "../pki/wrong-order.pem", "../pki/demo-keys/leaf.key"))
    real = fix_cli.write_workspace

    def someone_edits_first(ws):
        with open(conf, "a") as fh:
            fh.write("# edited by a colleague\n")
        return real(ws)

    monkeypatch.setattr(fix_cli, "write_workspace", someone_edits_first)
    result = fix(certlint, "--write", conf)

    assert result.exit_code == 1
    assert "changed while certlint ran" in result.stderr
    assert open(conf).read().endswith("# edited by a colleague\n")
    assert "wrong-order.pem;" in open(conf).read()
