"""What the ops CLI's commands share: their common options, a client, sending one action."""

import inspect
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


def action(
    group: typer.Typer, name: str, *, timeout: float = 60
) -> Callable[[Callable[..., dict | None]], Callable[..., dict | None]]:
    """Make `options` the command `name` of `group`: ID first, its own options, then --file, --json
    and --timeout (default `timeout` seconds). It sends the action (send_action) with the fields the
    options fill (updates.ACTIONS), as `options` returns them where it turns them (else as given)."""

    def register(options: Callable[..., dict | None]) -> Callable[..., dict | None]:
        def command(app_id: str, file: Path | None, as_json: bool, timeout: float, **given: Any) -> None:
            def values() -> dict:
                return updates.ACTIONS[name].values({**given, **(options(**given) or {})})

            send_action(name, app_id, file, as_json, timeout, values)

        option = inspect.Parameter.POSITIONAL_OR_KEYWORD
        command.__signature__ = inspect.Signature(  # type: ignore[attr-defined]  # what typer reads
            [
                inspect.Parameter("app_id", option, annotation=AppId),
                *inspect.signature(options).parameters.values(),
                inspect.Parameter("file", option, default=None, annotation=File),
                inspect.Parameter("as_json", option, default=False, annotation=Json),
                inspect.Parameter("timeout", option, default=timeout, annotation=Timeout),
            ]
        )
        command.__name__, command.__doc__ = options.__name__, options.__doc__
        group.command(name)(command)
        return options

    return register
