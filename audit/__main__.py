"""`python -m audit …`: the auditor CLI."""

from audit.cli import main

main()
