"""How every CLI command ends: bad input exits 2, a refusal or an unreachable Temporal exits 1 (with
the reason, as text or JSON), otherwise the work's own exit code."""

import asyncio
from collections.abc import Callable
from typing import Any

import typer

from cli import render
from cli.actions import CliError
from cli.inputs import InputError


def run_command(as_json: bool, work: Callable[[], Any] | Any) -> None:
    """Run a command's work: a function (called; its coroutine, if any, run), or a coroutine."""
    try:
        result = work() if callable(work) else work
        code = asyncio.run(result) if asyncio.iscoroutine(result) else result
    except InputError as e:
        render.input_errors(e.errors, as_json)
        raise typer.Exit(2) from None
    except CliError as e:
        render.failure(e.message, as_json)
        raise typer.Exit(e.exit_code) from None
    if code:
        raise typer.Exit(code)
