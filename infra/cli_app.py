"""How the service's command-line programs are made: the ops CLI (starter.py) and the auditor's
(`python -m audit`) alike."""

import typer


def cli_app(help_text: str, *groups: typer.Typer) -> typer.Typer:
    """A command-line program as the service's are: its help when called with nothing, no shell
    completion, errors without rich's tracebacks; the commands of `groups` at its top level, in
    that order."""
    app = typer.Typer(help=help_text, no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
    for group in groups:
        app.registered_commands.extend(group.registered_commands)
    return app
