"""What the auditor CLI's commands share (cli_histories.py, cli_checks.py): output on stdout and
stderr, the common options, exit codes, progress bars, the domain database and a client of Temporal.

Configuration is the service's own (environment, see infra/settings.py): TEMPORAL_ADDRESS and friends
for the server, DATABASE_URL for the domain database, and the payload keys (CODEC_KEYS or the
secrets file) to read encrypted histories. Exit codes: 0 all good; 1 a finding (non-deterministic
replay, money mismatch, broken chain) or the server / database could not answer; 2 bad usage.
Machine-readable output with --json goes to stdout; progress bars go to stderr.
"""

import asyncio
import functools
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from temporalio.service import RPCError

from audit.checked import Checked
from infra.settings import get_settings

# Stored text is printed as typed, never read as markup or emoji codes (as in cli/render.py).
out = Console(soft_wrap=True, highlight=False, markup=False, emoji=False)
err = Console(stderr=True, soft_wrap=True, highlight=False, markup=False, emoji=False)

Edition = Annotated[
    int | None, typer.Option("--edition", "-e", help="every application workflow of this edition", min=1)
]
Json = Annotated[bool, typer.Option("--json", help="machine-readable output on stdout")]
FromArchive = Annotated[
    bool,
    typer.Option(
        "--archive",
        help="read the histories from the archive (kept beyond the server's retention), each checked against its recorded SHA-256",
    ),
]
Source = Annotated[
    str,
    typer.Option(
        "--from", help="how to list an edition's workflows: 'db' (domain database) or 'visibility' (Temporal)"
    ),
]


class Failed(Exception):
    """A clear message for stderr, exit 1."""


def run(coro: Coroutine[Any, Any, int]) -> None:
    from audit.archive import BadArchive, NotArchived

    try:
        code = asyncio.run(coro)
    except (Failed, BadArchive, NotArchived) as e:
        err.print(f"error: {e}")
        raise typer.Exit(1) from None
    except RPCError as e:
        err.print(f"error: Temporal answered {e.status.name}: {e.message}")
        raise typer.Exit(1) from None
    except SQLAlchemyError as e:
        url = make_url(get_settings().database_url).render_as_string(hide_password=True)
        err.print(
            f"error: the domain database ({url}) did not answer as expected: {getattr(e, 'orig', e) or e!s}",
            markup=False,
        )
        raise typer.Exit(1) from None
    except RuntimeError as e:
        if "connect" not in str(e).lower():
            raise
        err.print(f"error: cannot connect to Temporal at {get_settings().temporal_address}: {e}")
        raise typer.Exit(1) from None
    raise typer.Exit(code)


def command(group: typer.Typer) -> Callable[[Callable[..., Coroutine[Any, Any, int]]], Callable[..., None]]:
    """Make an async function a command of `group`: run to its exit code, the errors above told in
    one line (exit 1)."""

    def register(fn: Callable[..., Coroutine[Any, Any, int]]) -> Callable[..., None]:
        @functools.wraps(fn)  # typer reads the options from the function's own signature
        def sync(*args: Any, **kwargs: Any) -> None:
            run(fn(*args, **kwargs))

        group.command()(sync)
        return sync

    return register


@contextmanager
def progress(total: int, what: str, show: bool):
    """A progress bar on stderr for many items; silent for one."""
    if not show or total <= 1:
        yield lambda: None
        return
    with Progress(
        TextColumn(what), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=err, transient=True
    ) as p:
        task = p.add_task(what, total=total)
        yield lambda: p.advance(task)


def open_repo():
    from domain.db.repository import Repository
    from domain.db.session import make_engine

    return Repository(make_engine(get_settings().database_url))


async def open_client():
    from infra.temporal_connection import connect

    try:
        return await connect(get_settings(), accept_clear=True)  # reads histories from before encryption too
    except RuntimeError as e:
        raise Failed(f"cannot connect to Temporal at {get_settings().temporal_address}: {e}") from None


async def workflow_ids(temporal, ids: list[str], edition: int | None, source: str) -> list[str]:
    from audit import histories

    if source not in ("db", "visibility"):
        raise typer.BadParameter("--from: 'db' or 'visibility'")
    found = list(ids)
    if edition is not None:
        found += (
            await histories.visible_workflow_ids(temporal, edition)
            if source == "visibility"
            else histories.edition_workflow_ids(open_repo(), edition)
        )
    if not found:
        raise typer.BadParameter("name workflow ids, or --edition")
    return list(dict.fromkeys(found))


def open_archive():
    from audit.archive import Archive

    return Archive(open_repo().engine, get_settings())


def archived_ids(ids: list[str], edition: int | None) -> list[str]:
    """These workflows and the edition's, as the domain database lists them (the server may no
    longer know them)."""
    from audit import histories

    wids = list(dict.fromkeys(ids + (histories.edition_workflow_ids(open_repo(), edition) if edition else [])))
    if not wids:
        raise typer.BadParameter("name workflow ids, or --edition")
    return wids


def archived(ids: list[str], edition: int | None) -> tuple[Iterator[Any], int]:
    """The archived histories of these workflows and of the edition's, yielded one by one, checked
    as each is read; how many."""
    wids = archived_ids(ids, edition)
    return open_archive().histories(wids), len(wids)


def show_check(result: Checked, as_json: bool, summary: str) -> int:
    """A check's answer: its JSON on stdout, or each finding on stderr after the check's label and
    `summary` on stdout; the exit code, 1 on any finding."""
    if as_json:
        out.print_json(data=result.as_json())
    else:
        for f in result.found:
            err.print(f"{result.LABEL} {f}", markup=False)
        out.print(summary)
    return 0 if result.ok else 1
