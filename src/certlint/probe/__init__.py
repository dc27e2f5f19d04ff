"""`certlint probe`: judge what a live endpoint (or a pasted transcript, or a PEM bundle) serves,
with the same chain analysis and the same rules as `certlint check`.

targets.py parses TARGET forms; transcript.py reads `openssl s_client -showcerts` transcripts and
PEM bundles; sites.py turns served chains into probed `Site`s; run.py runs the rules over them.
"""
