"""What the ops CLI's commands share: their common options, a client, sending one action."""

import re
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from cli import actions, render, updates
from cli.command import run_command
from domain.errors import shown
from infra.settings import get_settings


def _app_id(value: str) -> str:
    """An application id as the workflows name them (never an empty one: Temporal's own error leaked)."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9-]{0,79}", value or ""):
        raise typer.BadParameter(f"{shown(value)} is not an application id, e.g. moazara-4-ASSO-0001")
    return value


AppId = Annotated[
    str,
    typer.Argument(metavar="ID", help="application id = workflow id, e.g. moazara-4-ASSO-0001", callback=_app_id),
]
Json = Annotated[bool, typer.Option("--json", help="machine-readable output (JSON on stdout)")]
File = Annotated[
    Path | None,
    typer.Option("--file", "-f", help="the input as a JSON object (model field names); options given override it"),
]
Timeout = Annotated[float, typer.Option("--timeout", help="seconds to wait for the workflow's answer", min=1)]
By = Annotated[str | None, typer.Option("--by", help="who does it (name or id)")]
Reason = Annotated[str | None, typer.Option("--reason", help="why")]
Multi = list[str] | None


async def with_client(fn: Callable[[Any], Any]) -> Any:
    client = await actions.connect_client(get_settings())
    return await fn(client)


def send_action(
    action: str, app_id: str, file: Path | None, as_json: bool, timeout: float, values: Callable[[], dict]
) -> None:
    """Build and validate the action's model (no Temporal call if it is bad), send it, print the answer."""

    def work():
        payload = updates.build(action, file, values())  # raises InputError: exit 2, nothing sent

        async def send(client) -> int:
            o = await actions.send_update(client, app_id, updates.ACTIONS[action].update, payload, timeout)
            render.outcome(o, as_json)
            return 0 if o.accepted else 1

        return with_client(send)

    run_command(as_json, work)
