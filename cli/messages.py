"""The messages the programme sends, for ops at the terminal: what is in the outbox, and sending
a dead one again (after its address or the mail server was fixed).

python starter.py messages list --state dead
python starter.py messages resend 'moazara-4-ASSO-0001.stage-3.applicant'
python starter.py webhooks set region-02 --url https://cr-oriental.ma/moazara --key-id cr02 --receives region-02
"""

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from cli import render
from cli.actions import CliError
from cli.command import run_command
from cli.inputs import InputError
from infra.settings import get_settings

app = typer.Typer(help="Messages to applicants, reviewers and partners: the outbox.", no_args_is_help=True)


def _engine():  # type: ignore[no-untyped-def]
    from domain.db.session import make_engine

    return make_engine(get_settings().database_url)


@app.command("list")
def list_messages(
    state: Annotated[str | None, typer.Option("--state", help="pending, sent, dead or undeliverable")] = None,
    application: Annotated[str | None, typer.Option("--application", help="one application's messages")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000)] = 100,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The outbox's messages, newest first."""
    from domain.db.outbox import STATES, OutboxRow

    def work() -> int:
        if state is not None and state not in STATES:
            raise InputError.one("--state", f"one of {', '.join(STATES)}")
        q = select(OutboxRow).order_by(OutboxRow.created_at.desc()).limit(limit)
        if state:
            q = q.where(OutboxRow.state == state)
        if application:
            q = q.where(OutboxRow.application_id == application[:80])
        with Session(_engine()) as s:
            rows = [
                {
                    "id": r.id,
                    "kind": r.kind,
                    "to": r.recipient_key,
                    "address": r.address,
                    "state": r.state,
                    "attempts": r.attempts,
                    "last_error": r.last_error,
                    "created_at": r.created_at.isoformat(),
                }
                for r in s.scalars(q)
            ]
        if as_json:
            render.emit_json(rows)
            return 0
        table = Table(title="Messages", title_justify="left")
        for column in ("id", "kind", "to", "state", "attempts", "last error"):
            table.add_column(column)
        for r in rows:
            values = (r["id"], r["kind"], r["to"], r["state"], str(r["attempts"]), r["last_error"][:80])
            table.add_row(*(escape(str(v)) for v in values))
        render.out.print(table)
        return 0

    run_command(as_json, work)


@app.command()
def resend(message_id: str, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Send a dead (or undeliverable) message again, under the same Message-ID."""
    from domain.db import outbox

    def work() -> int:
        with Session(_engine()) as s, s.begin():
            if not outbox.resend(s, message_id[:300], datetime.now(UTC)):
                raise CliError(f"no dead message with id {message_id[:80]!r} (or it has no address)")
        if as_json:
            render.emit_json({"id": message_id, "state": "pending"})
        else:
            render.out.print(f"to send again: {escape(message_id)}")
        return 0

    run_command(as_json, work)


webhooks = typer.Typer(help="Partner systems told of messages by signed webhook.", no_args_is_help=True)


@webhooks.command("set")
def set_webhook(
    name: str,
    url: Annotated[str, typer.Option("--url", help="https URL the messages are POSTed to")],
    key_id: Annotated[str, typer.Option("--key-id", help="its signing secret's id in WEBHOOK_SECRETS")],
    receives: Annotated[
        list[str], typer.Option("--receives", help="recipient it is told for: applicant, region-NN (repeatable)")
    ],
    inactive: Annotated[bool, typer.Option("--inactive", help="no longer told")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Subscribe (or change) a partner system: from now on, messages to these recipients go to it too."""
    import re
    from urllib.parse import urlsplit

    from domain.db.outbox import WebhookSubscription

    def work() -> int:
        if not re.fullmatch(r"[a-z0-9][a-z0-9._-]{0,99}", name):
            raise InputError.one("name", "lower-case letters, digits, '.', '_' or '-'")
        if urlsplit(url).scheme not in ("https", "http") or not urlsplit(url).hostname or len(url) > 2000:
            raise InputError.one("--url", "an https URL")
        bad = [r for r in receives if not re.fullmatch(r"applicant|region-\d{2}", r)]
        if bad:
            raise InputError.one("--receives", f"applicant or region-NN, not {bad[0][:40]!r}")
        with Session(_engine()) as s, s.begin():
            row = s.get(WebhookSubscription, name) or WebhookSubscription(name=name)
            row.url, row.key_id, row.receives = url, key_id[:100], sorted(set(receives))
            row.active, row.updated_at = not inactive, datetime.now(UTC)
            s.add(row)
        answer = {"name": name, "url": url, "key_id": key_id, "receives": sorted(set(receives)), "active": not inactive}
        render.emit_json(answer) if as_json else render.out.print(f"webhook {escape(name)}: {escape(url)}")
        return 0

    run_command(as_json, work)
