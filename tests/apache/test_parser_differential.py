"""Randomised differential test: generated configs full of Define/UnDefine, nested <IfDefine>,
<IfModule>, <IfVersion>, Include and <Macro>/Use; the virtual hosts certlint's parser finds
must be exactly those `apache2 -S` lists (names, files, lines). Seeds are fixed, so a failure
reproduces; every name is defined or undefined up front (a name never mentioned may come from
`apache2 -D`, which certlint cannot know and treats as active on both sides).
"""

from __future__ import annotations

import os
import random
import re
import subprocess

import pytest

from certlint.parsers.apache import parse_apache
from tests.apache.test_vhosts import apache_vhosts
from tests.support.apache import apache_binary, modules

NAMES = ("ALPHA", "BETA", "GAMMA")
MODULES = ("mod_ssl.c", "ssl_module", "mod_macro.c", "macro_module", "mod_nothing.c",
           "nothing_module", "mod_version.c")
VERSIONS = ("2.2", "2.4", "2.4.0", "2.4.8", "2.4.99", "2.5", "3")
OPS = ("=", "==", ">", ">=", "<", "<=", "!=", "!>")


def apache_version() -> str:
    out = subprocess.run([apache_binary(), "-v"], capture_output=True, text=True).stdout
    return re.search(r"Apache/(\d+\.\d+\.\d+)", out).group(1)


class Generator:
    def __init__(self, seed: int, folder: str):
        self.rnd = random.Random(seed)
        self.folder = folder
        self.count = 0
        self.files = 0

    def vhost(self, indent: str) -> list[str]:
        self.count += 1
        return [f"{indent}<VirtualHost *:443>", f"{indent}    ServerName v{self.count}.test",
                f"{indent}</VirtualHost>"]

    def block(self, depth: int, indent: str = "") -> list[str]:
        out: list[str] = []
        for _ in range(self.rnd.randint(1, 4)):
            kind = self.rnd.choice(["vhost", "define", "ifdefine", "ifmodule", "ifversion",
                                    "include", "use"] if depth < 3 else ["vhost", "define"])
            bang = self.rnd.choice(["", "!"])
            if kind == "vhost":
                out += self.vhost(indent)
            elif kind == "define":
                verb = self.rnd.choice(["Define", "UnDefine"])
                out.append(f"{indent}{verb} {self.rnd.choice(NAMES)}")
            elif kind == "ifdefine":
                out += [f"{indent}<IfDefine {bang}{self.rnd.choice(NAMES)}>",
                        *self.block(depth + 1, indent + "    "), f"{indent}</IfDefine>"]
            elif kind == "ifmodule":
                out += [f"{indent}<IfModule {bang}{self.rnd.choice(MODULES)}>",
                        *self.block(depth + 1, indent + "    "), f"{indent}</IfModule>"]
            elif kind == "ifversion":
                op = self.rnd.choice(OPS)
                neg, op = ("!", op[1:]) if op.startswith("!") and op != "!=" else ("", op)
                if op == "!=":
                    neg, op = "!", "="
                out += [f"{indent}<IfVersion {neg}{op} {self.rnd.choice(VERSIONS)}>",
                        *self.block(depth + 1, indent + "    "), f"{indent}</IfVersion>"]
            elif kind == "include":
                self.files += 1
                name = f"inc{self.files}.conf"
                body = self.block(depth + 1)
                with open(os.path.join(self.folder, name), "w", encoding="utf-8") as fh:
                    fh.write("\n".join(body) + "\n")
                out.append(f"{indent}{self.rnd.choice(['Include', 'IncludeOptional'])} {name}")
            else:
                self.count += 1
                out.append(f"{indent}Use Site u{self.count}.test")
        return out

    def config(self) -> str:
        head = modules("mpm_event", "authz_core", "macro") + "ServerName localhost\nListen 443\n"
        if self.rnd.random() < 0.5:
            head += modules("ssl")
        head += "".join(f"{self.rnd.choice(['Define', 'UnDefine'])} {n}\n" for n in NAMES)
        head += ("<Macro Site $name>\n<VirtualHost *:443>\n    ServerName $name\n"
                 "</VirtualHost>\n</Macro>\n")
        return head + "\n".join(self.block(0)) + "\n"


def ours(entry: str, version: str) -> list[str]:
    return sorted(v["name"] for v in parse_apache(entry, apache_version=version).extra["vhosts"])


@pytest.mark.parametrize("seed", range(40))
def test_random_configs_have_the_vhosts_apache_sees(seed, tmp_path):
    version = apache_version()
    folder = tmp_path / "conf"
    folder.mkdir()
    entry = folder / "apache2.conf"
    entry.write_text(Generator(seed, str(folder)).config())
    theirs = sorted(name for name, _path, _line in apache_vhosts(str(entry),
                                                                str(tmp_path / "state")))
    assert ours(str(entry), version) == theirs, entry.read_text()
