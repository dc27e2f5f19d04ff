"""`certlint fix` writes only what it planned, only inside the root, and its patches name files
exactly as git does (SECURITY.md promises 1 and 2).

Every run is a separate process under the 10 s / 1 GB bar (tests/support/bounded.py).
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess

import pytest

from tests.support.bounded import certlint
from tests.support.paths import REPO
from tests.support.pki import write

PKI = os.path.join(REPO, "fixtures", "pki")
ROOT_PEM = os.path.join(PKI, "root.pem")
WRONG_ORDER = open(os.path.join(PKI, "wrong-order.pem"), "rb").read()
KEY = os.path.join(PKI, "demo-keys", "leaf.key")
# a folder name that, written raw into a patch, would be patch text of its own
INJECTED = ("conf\n+++ b/x\ndiff --git a/pwn.sh b/pwn.sh\nnew file mode 100755\n--- /dev/null\n"
            "+++ b/pwn.sh\n@@ -0,0 +1 @@\n+id\n").split("/")


def snapshot(folder) -> dict[str, tuple[bytes, int]]:
    out = {}
    for dirpath, _dirs, files in os.walk(folder):
        for name in files:
            path = os.path.join(dirpath, name)
            if os.path.islink(path):
                out[os.path.relpath(path, folder)] = (os.readlink(path).encode(), -1)
                continue
            with open(path, "rb") as fh:
                out[os.path.relpath(path, folder)] = (fh.read(),
                                                      stat.S_IMODE(os.stat(path).st_mode))
    return out


def git(*args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-c", "user.email=t@t", "-c", "user.name=t", *args],
                          cwd=cwd, capture_output=True, text=True, timeout=60)


def injected_tree(tmp_path) -> tuple[str, str]:
    """nginx.conf including */*/.../site.conf from folders whose names hold patch text; the
    site serves a wrong-order chain, so fix plans a new file and a config edit."""
    tree = tmp_path / "tree"
    folder = tree.joinpath(*INJECTED)
    folder.mkdir(parents=True)
    write(tree / "pki" / "site.pem", WRONG_ORDER)
    write(folder / "site.conf", (
        "server {\n    listen 443 ssl;\n    server_name example.test;\n"
        f"    ssl_certificate {tree}/pki/site.pem;\n    ssl_certificate_key {KEY};\n}}\n"
    ).encode())
    glob = "/".join(["*"] * len(INJECTED))
    conf = write(tree / "nginx.conf",
                 f"events {{}}\nhttp {{\n    include {glob}/*.conf;\n}}\n".encode())
    return str(tree), conf


def test_patch_from_a_tree_with_patch_text_in_folder_names_changes_only_planned_files(tmp_path):
    """SECURITY.md promise 2: the names are quoted as git quotes them; `git apply` of the patch
    in a clean copy changes exactly the config file and creates exactly the fullchain, and
    gives the same tree as --write."""
    tree, conf = injected_tree(tmp_path)
    patch = tmp_path / "fix.patch"

    result = certlint("fix", "--offline", "--ca-bundle", ROOT_PEM, "--patch", str(patch), conf,
                      cwd=tree)

    assert result.code == 0, result.output
    text = patch.read_text()
    assert "\ndiff --git a/pwn.sh" not in text and "\n+++ b/pwn.sh" not in text
    assert '"a/conf\\n+++ b/x\\ndiff --git a/' in text  # git's C-style quoting
    copy = tmp_path / "copy"
    shutil.copytree(tree, copy)
    assert git("init", "-q", cwd=copy).returncode == 0
    git("add", "-A", cwd=copy)
    assert git("commit", "-qm", "before", cwd=copy).returncode == 0
    applied = git("apply", "--index", str(patch), cwd=copy)
    assert applied.returncode == 0, applied.stderr
    changed = git("-c", "core.quotePath=false", "diff", "--cached", "--name-status", "-z",
                  cwd=copy).stdout.split("\0")
    pairs = sorted(zip(changed[0::2], changed[1::2], strict=False))
    site_conf = "/".join(INJECTED) + "/site.conf"
    assert pairs == [("A", "pki/site.fullchain.pem"), ("M", site_conf)], pairs
    assert not (copy / "pwn.sh").exists()

    written = certlint("fix", "--offline", "--ca-bundle", ROOT_PEM, "--write", conf, cwd=tree)

    assert written.code == 0, written.output
    assert snapshot(tree) == {k: v for k, v in snapshot(copy).items()
                              if not k.startswith(".git" + os.sep)}


def test_dry_run_diff_quotes_names_too(tmp_path):
    """SECURITY.md promise 2: the dry-run diff names the file as git would."""
    tree, conf = injected_tree(tmp_path)

    result = certlint("fix", "--offline", "--ca-bundle", ROOT_PEM, conf, cwd=tree)

    assert result.code == 1
    assert '--- "a/conf\\n+++ b/x\\ndiff --git a/pwn.sh b/pwn.sh\\nnew file mode' in result.out
    assert not any(line.startswith("+++ b/pwn.sh") for line in result.out.splitlines())


@pytest.mark.parametrize("name", ["with space", "quote\"d", "tab\tbed", "uni-\u00e9",
                                  "back\\slash"])
def test_patch_names_are_what_git_applies(tmp_path, name):
    """SECURITY.md promise 2: odd but honest names (space: git's trailing tab; quotes, tabs,
    UTF-8, backslashes: C-quoted) go through `git apply` to the same tree as --write."""
    tree = tmp_path / "tree"
    write(tree / name / "site.pem", WRONG_ORDER)
    quote = "'" if '"' in name else '"'
    conf = write(tree / "nginx.conf", (
        "events {}\nhttp {\n    server {\n        listen 443 ssl;\n"
        f'        ssl_certificate {quote}{tree}/{name}/site.pem{quote};\n'
        f"        ssl_certificate_key {KEY};\n    }}\n}}\n").encode())
    patch = tmp_path / "fix.patch"
    copy = tmp_path / "copy"
    shutil.copytree(tree, copy)
    git("init", "-q", cwd=copy)

    result = certlint("fix", "--offline", "--ca-bundle", ROOT_PEM, "--patch", str(patch), conf,
                      cwd=str(tree))

    assert result.code == 0, result.output
    applied = git("apply", str(patch), cwd=copy)
    assert applied.returncode == 0, applied.stderr + patch.read_text()
    certlint("fix", "--offline", "--ca-bundle", ROOT_PEM, "--write", conf, cwd=str(tree))
    after_patch = {k: v for k, v in snapshot(copy).items() if not k.startswith(".git")}
    after_write = snapshot(tree)
    assert set(after_write) == set(after_patch)
    assert os.path.join(name, "site.fullchain.pem") in after_write
    # the config names an absolute path in both; it differs only by the folder's name
    assert all(after_write[k][0].replace(str(tree).encode(), b"T")
               == after_patch[k][0].replace(str(tree).encode(), b"T") for k in after_write)


# -- promise 1: writes stay inside the root --------------------------------------------------


def site_conf(cert: str) -> bytes:
    return ("server {\n    listen 443 ssl;\n    server_name example.test;\n"
            f"    ssl_certificate {cert};\n    ssl_certificate_key {KEY};\n}}\n").encode()


def outside_tree(tmp_path, how: str) -> tuple[str, str, str]:
    """A checkout `repo/` whose site config really lives in `outside/` (a link, or an include
    that climbs out), or whose certificate does; returns (repo, entry, outside)."""
    repo, outside = tmp_path / "repo", tmp_path / "outside"
    write(repo / "pki" / "site.pem", WRONG_ORDER)
    write(outside / "pki" / "site.pem", WRONG_ORDER)
    include = "conf.d/*.conf"
    if how == "config-link":
        write(outside / "victim.conf", site_conf(f"{repo}/pki/site.pem"))
        (repo / "conf.d").mkdir()
        os.symlink("../../outside/victim.conf", repo / "conf.d" / "site.conf")
    elif how == "include-climbs-out":  # relative names: they stay the same under --root
        shutil.copy(KEY, repo / "pki" / "site.key")
        write(outside / "x.conf", site_conf("pki/site.pem").replace(KEY.encode(),
                                                                       b"pki/site.key"))
        include = "../outside/x.conf"
    elif how == "folder-link":
        os.symlink("../outside", repo / "conf.d")
        write(outside / "victim.conf", site_conf(f"{repo}/pki/site.pem"))
        include = "conf.d/victim.conf"
    else:  # the certificate, so the new fullchain, is outside
        write(repo / "conf.d" / "site.conf", site_conf(f"{outside}/pki/site.pem"))
    entry = write(repo / "nginx.conf",
                  f"events {{}}\nhttp {{\n    include {include};\n}}\n".encode())
    return str(repo), entry, str(outside)


@pytest.mark.parametrize("how", ["config-link", "include-climbs-out", "folder-link",
                                 "certificate-outside"])
def test_fix_never_writes_outside_the_root(tmp_path, how):
    """SECURITY.md promise 1: a config edit or new file whose real path lies outside the root
    (here the entry point's folder, which is also where the job runs) is refused for its site
    with a message, and nothing at all is written, inside or outside."""
    repo, entry, outside = outside_tree(tmp_path, how)
    before = snapshot(tmp_path)

    result = certlint("fix", "--offline", "--ca-bundle", ROOT_PEM, "--write", entry, cwd=repo)
    patched = certlint("fix", "--offline", "--ca-bundle", ROOT_PEM, "--patch",
                       str(tmp_path / "p.patch"), entry, cwd=repo)

    assert result.code == 1, result.output
    assert "outside" in result.err and "certlint fix writes only inside the root" in result.err
    assert "not fixed:" in result.err
    assert patched.code == 1 and "diff --git" not in (tmp_path / "p.patch").read_text()
    assert {k: v for k, v in snapshot(tmp_path).items() if k != "p.patch"} == before


def test_root_option_widens_where_fix_may_write(tmp_path):
    """SECURITY.md promise 1: the same tree, with --root naming the folder that holds both, is
    fixed (the root is the user's word, the tree's links are not)."""
    repo, entry, _outside = outside_tree(tmp_path, "include-climbs-out")

    result = certlint("fix", "--offline", "--ca-bundle", ROOT_PEM, "--write",
                      "--root", str(tmp_path), entry, cwd=repo)

    assert result.code == 0, result.output
    assert "site.fullchain.pem" in (tmp_path / "outside" / "x.conf").read_text()


def test_a_file_that_appears_after_planning_is_never_replaced(tmp_path, monkeypatch):
    """SECURITY.md promise 1: the new fullchain is created exclusively (a temporary file linked
    to its name): a file or link that appears there between planning and writing stays as it
    is, and the config that would name it is not changed."""
    from certlint.context import Options
    from certlint.fix.engine import plan_fixes
    from certlint.fix.output import write_workspace

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CERTLINT_CACHE_DIR", str(tmp_path / "cache"))
    write(tmp_path / "pki" / "site.pem", WRONG_ORDER)
    conf = write(tmp_path / "nginx.conf", b"events {}\nhttp {\n" + site_conf(
        f"{tmp_path}/pki/site.pem") + b"}\n")
    config_before = open(conf, "rb").read()
    run = plan_fixes([conf], Options(offline=True, ca_bundles=[ROOT_PEM]))
    assert list(run.workspace.new_files) == [f"{tmp_path}/pki/site.fullchain.pem"]
    victim = write(tmp_path / "victim.txt", b"precious\n")
    os.symlink(victim, tmp_path / "pki" / "site.fullchain.pem")  # the attacker is faster

    written, errors = write_workspace(run.workspace)

    assert written == [] and len(errors) == 2, errors
    assert "appeared there since planning" in errors[0]
    assert open(victim, "rb").read() == b"precious\n"
    assert os.readlink(tmp_path / "pki" / "site.fullchain.pem") == victim
    assert open(conf, "rb").read() == config_before
    assert not [n for n in os.listdir(tmp_path / "pki") if n.startswith(".certlint-")]


def test_a_folder_swapped_for_a_link_after_planning_is_not_written_through(tmp_path,
                                                                           monkeypatch):
    """SECURITY.md promise 1: real paths are judged again right before writing."""
    from certlint.context import Options
    from certlint.fix.engine import plan_fixes
    from certlint.fix.output import write_workspace

    monkeypatch.chdir(tmp_path / "..")
    repo = tmp_path / "repo"
    monkeypatch.setenv("CERTLINT_CACHE_DIR", str(tmp_path / "cache"))
    write(repo / "pki" / "site.pem", WRONG_ORDER)
    conf = write(repo / "nginx.conf", b"events {}\nhttp {\n" + site_conf(
        f"{repo}/pki/site.pem") + b"}\n")
    run = plan_fixes([conf], Options(offline=True, ca_bundles=[ROOT_PEM], root=None))
    run.workspace.write_roots = [str(repo)]
    os.rename(repo / "pki", tmp_path / "moved")
    os.symlink(tmp_path / "moved", repo / "pki")

    written, errors = write_workspace(run.workspace)

    assert written == [] and errors, errors
    assert not (tmp_path / "moved" / "site.fullchain.pem").exists()
