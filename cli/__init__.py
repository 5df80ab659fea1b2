"""The pieces of the ops CLI (`starter.py`).

- `cli.inputs`  — turning options and files into validated domain models (nothing talks to Temporal);
- `cli.actions` — the async calls to Temporal, each taking a `Client` (tests call them directly);
- `cli.render`  — rich tables and `--json` output, with bank accounts masked.
"""
