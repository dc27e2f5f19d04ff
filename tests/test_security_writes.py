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
from tests.support.pki import write

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
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
