"""The shell commands of the remediation steps for a certificate file in the wrong order
(`chain-wrong-order`), one that carries its root (`chain-contains-root`) and a private key that
does not belong to the certificate (`key-mismatch`), worked out for one site: its own files as
the server names them, the certificates to keep in the order to keep them, the key check, the
search for the right key and the request for a new certificate.

Every value from input is a shell word quoted here (`shlex.quote` over the visible text), so a
file name cannot break out of a command; the templates print these strings as code blocks.
"""

from __future__ import annotations

import os
import re
import shlex

from certlint.report.escape import text

# one file per certificate of the bundle, in file order: cert-1.pem, cert-2.pem, ...
SPLIT = ("awk '/-----BEGIN CERTIFICATE-----/ {n++; keep=1} keep {print > (\"cert-\" n \".pem\")}"
         " /-----END CERTIFICATE-----/ {keep=0}' ")
DNS_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")
LIST = 'for f in cert-*.pem; do echo "$f: $(openssl x509 -in "$f" -noout -subject)"; done'


def q(value: str) -> str:
    return shlex.quote(text(value))


def split_file(path: str) -> str:
    """Split a bundle into cert-N.pem (in the current folder) and show each one's subject."""
    return SPLIT + q(path) + "\n" + LIST


def build(numbers: list[int], target: str) -> str:
    return "cat " + " ".join(f"cert-{n}.pem" for n in numbers) + " > " + q(target)


def key_check(cert: str, key: str) -> str:
    """Two lines that print the same hash when the key belongs to the first certificate of the
    file (the one the server pairs with the key)."""
    return (f"openssl x509 -in {q(cert)} -noout -pubkey | openssl sha256\n"
            f"openssl pkey -in {q(key)} -pubout | openssl sha256")


def key_search(cert: str, folders: list[str]) -> str:
    """Print every file in these folders holding the private key of the certificate (without a
    passphrase prompt: an encrypted key is skipped, never asked for)."""
    globs = " ".join(q(folder) + "/*" for folder in folders)
    return (f"want=$(openssl x509 -in {q(cert)} -noout -pubkey | openssl sha256)\n"
            f"for k in {globs}; do\n"
            '  [ -f "$k" ] && [ "$(openssl pkey -in "$k" -passin pass: -pubout 2>/dev/null'
            ' | openssl sha256)" = "$want" ] && echo "$k"\n'
            "done")


def new_request(key: str, hosts: list[str]) -> str:
    """A certificate signing request for the key in use, for the site's plain DNS names,
    written to the current folder."""
    names = [h for h in hosts if DNS_NAME.fullmatch(h)] or ["HOST"]
    san = ",".join(f"DNS:{h}" for h in names)
    return (f"openssl req -new -key {q(key)} -subj {q('/CN=' + names[0])} "
            f"-addext {q('subjectAltName=' + san)} -out {q(names[0] + '.csr')}")


def _folder(path: str | None) -> str | None:
    return os.path.dirname(path) if path and os.path.dirname(path) else None


def steps(rule: str, facts: dict, problem: dict) -> dict:
    """The commands for this problem, or {} when the finding lacks what they need (a probed
    site, Apache's SSLCertificateChainFile layout, a key inside the certificate file): the
    template then prints the rule document's own advice."""
    cert = problem.get("cert_file")
    if not cert or facts.get("chain") or problem.get("server") not in ("nginx", "apache"):
        return {}
    served = list(facts.get("served") or [])
    key = (facts.get("key") or {}).get("file")
    target = problem["fullchain"]
    if rule == "chain-wrong-order":
        order = [n for n in facts.get("order") or [] if 1 <= n <= len(served)]
        if not order or not key:
            return {}
        return {"split": split_file(cert), "keep": order, "build": build(order, target),
                "check": key_check(target, key), "new_file": target,
                "dropped": [n for n in range(1, len(served) + 1) if n not in order],
                "served": served}
    if rule == "chain-contains-root":
        root = facts.get("root_index")
        if not root or not 1 <= root <= len(served):
            return {}
        keep = [n for n in range(1, len(served) + 1) if n != root]
        show = f"openssl x509 -in cert-{root}.pem -noout -subject -fingerprint -sha256"
        out = {"split": split_file(cert), "keep": keep, "build": build(keep, target),
               "show_root": show, "new_file": target, "served": served, "root_number": root}
        if key:
            out["check"] = key_check(target, key)
        return out
    if rule == "key-mismatch":
        if not key or facts.get("all_ca"):  # a CA bundle named as the certificate
            return {}
        folders = []
        for folder in (_folder(key), _folder(cert)):
            if folder and folder not in folders:
                folders.append(folder)
        if not folders:
            return {}
        return {"check": key_check(cert, key), "search": key_search(cert, folders),
                "folders": folders,
                "request": new_request(key, list(facts.get("hosts") or []))}
    return {}
