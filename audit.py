"""The auditor CLI (see audit/cli.py and docs/auditing.md).

    python audit.py export --edition 4 --out histories/
    python audit.py replay histories/            # or --edition 4 (fetched from the server)
    python audit.py timeline moazara-4-ASSO-0001 [--json]
    python audit.py reconcile --edition 4
    python audit.py verify --edition 4

A script, not an importable module: `import audit` is the package of the same name.
"""

from audit.cli import main

if __name__ == "__main__":
    main()
