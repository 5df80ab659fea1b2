"""How the service's command-line programs are made: the ops CLI (starter.py) and the auditor's
(`python -m audit`) alike."""

import ast
import os
import re
import sys
import traceback

import typer
from typer._click.core import Context  # typer vendors click: its exceptions, not the click package's
from typer._click.exceptions import NoSuchOption, UsageError
from typer.core import TyperGroup

from domain.errors import bounded, shown

_NO_SUCH_COMMAND = re.compile(r"No such command (?P<name>'.*'|\".*\")\.(?P<rest>.*)", re.S)


class _BoundedEcho(TyperGroup):
    """Click refuses an unknown option or command repeating the name typed, whole: here, as every
    refusal of the service echoes what it was given (domain/errors.py), its first characters only."""

    def invoke(self, ctx: Context) -> object:
        try:
            return super().invoke(ctx)
        except NoSuchOption as e:
            raise NoSuchOption(bounded(e.option_name), possibilities=e.possibilities, ctx=e.ctx) from None
        except UsageError as e:
            if m := _NO_SUCH_COMMAND.fullmatch(e.message):
                e.message = f"No such command {shown(ast.literal_eval(m['name']))}.{m['rest']}"
            raise


def cli_app(help_text: str, *groups: typer.Typer) -> typer.Typer:
    """A command-line program as the service's are: its help when called with nothing, no shell
    completion, errors without rich's tracebacks, an unknown option or command named by its first
    characters; the commands of `groups` at its top level, in that order."""
    app = typer.Typer(
        cls=_BoundedEcho, help=help_text, no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False
    )
    for group in groups:
        app.registered_commands.extend(group.registered_commands)
    return app


def run_and_leave(app: typer.Typer) -> None:
    """Run the CLI and leave without interpreter finalisation: the Temporal client's Rust threads can
    abort a finalising interpreter ("Fatal Python error: PyGILState_Release", SIGABRT, exit -6;
    temporalio/sdk-python#300), which would turn an answered command into a crash."""
    code: int = 0
    try:
        app()
    except SystemExit as e:
        if isinstance(e.code, int):
            code = e.code
        elif e.code is not None:
            print(e.code, file=sys.stderr)
            code = 1
    except Exception:  # noqa: BLE001 - a bug: show it, exit 1
        traceback.print_exc()
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)
