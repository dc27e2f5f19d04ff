"""`python -m certlint` runs the CLI."""

from certlint.cli import main

main()
