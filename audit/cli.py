"""The auditor CLI: export, replay, timeline (cli_histories.py), reconcile, verify (cli_checks.py).
Run as `python -m audit …` (its one entry point, in a checkout and installed alike).

Configuration is the service's own (environment, see infra/settings.py): TEMPORAL_ADDRESS and friends
for the server, DATABASE_URL for the domain database, and the payload keys (CODEC_KEYS or the
secrets file) to read encrypted histories. Exit codes: 0 all good; 1 a finding (non-deterministic
replay, money mismatch, broken chain) or the server / database could not answer; 2 bad usage.
Machine-readable output with --json goes to stdout; progress bars go to stderr.
"""

from audit import cli_checks, cli_histories
from infra.cli_app import cli_app, run_and_leave

app = cli_app(
    "Moazara auditor tools: workflow histories, deterministic replay, decision timelines, money reconciliation, audit log.",
    cli_histories.commands,
    cli_checks.commands,
)


def main() -> None:
    run_and_leave(app)  # infra/cli_app.py: why not a plain exit
