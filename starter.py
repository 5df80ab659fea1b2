"""The ops CLI of the Moazara grants service, for programme officers.

    python starter.py submit application.json
    python starter.py import applications.csv            # or .jsonl; --partial to skip bad lines
    python starter.py status moazara-4-ASSO-0001
    python starter.py list --edition 4 --stage review
    python starter.py review moazara-4-ASSO-0001 --reviewer r1 --scores innovation=7,income_generation=6,...
    python starter.py decide moazara-4-ASSO-0001 --decision selected --award 40000 --by committee
    python starter.py backup var/backups/2026-12-02      # restore DIR puts it back (docs/backup.md)

Every input is validated before anything reaches Temporal (bad value: the field is named, exit 2);
the workflow then answers (accepted: exit 0) or refuses with its reason (exit 1). Unknown ids and
connection problems also exit 1. Every command takes --json for machine-readable output.
Configuration comes from the environment (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TASK_QUEUE,
DATABASE_URL …, see infra/settings.py). The commands are in cli/ (applications.py, ops.py, edition.py)
and stay thin: parsing in cli/inputs.py, updates.py and imports.py, calls to Temporal in cli/actions.py,
output in cli/render.py.
"""

from cli import applications, backup, messages, ops, users
from cli import edition as edition_cli
from cli.documents import documents
from infra.cli_app import cli_app, run_and_leave

# One command group per module: applications (submit, import, status, list), ops actions, editions.
app = cli_app(
    "Moazara ops CLI: submit, import, follow and act on grant applications (one Temporal workflow each).",
    applications.commands,
    ops.commands,
    backup.commands,
)
app.add_typer(edition_cli.app, name="edition")
app.add_typer(users.app, name="users")
app.add_typer(messages.app, name="messages")
app.add_typer(messages.webhooks, name="webhooks")
app.command("pdf")(documents)  # `documents` is the documents-completed action (cli/ops.py)


def main() -> None:
    run_and_leave(app)  # infra/cli_app.py: why not a plain exit


if __name__ == "__main__":
    main()
