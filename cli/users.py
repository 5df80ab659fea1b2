"""The console's users, for an admin at the terminal: add one, change roles, deactivate.

python starter.py users add amina --name "Amina El Idrissi" --role officer   # asks the password
python starter.py users add amina@ministere.gov.ma --name "Amina" --role officer --oidc  # identity provider
python starter.py users roles karim --role finance --role auditor
python starter.py users deactivate karim                                     # ends their sessions
python starter.py users reviewer salma --sector handicrafts --organisation ORG-12 --link ASSO-9
"""

from typing import Annotated

import typer

from cli import render
from cli.actions import CLI_ACTOR
from cli.command import run_command
from cli.inputs import InputError, validate
from infra.settings import get_settings

app = typer.Typer(help="The console's users and their roles.", no_args_is_help=True)
Roles = Annotated[
    list[str], typer.Option("--role", help="officer, committee, finance, reviewer, auditor, admin, region-council:NN")
]


def _accounts():  # type: ignore[no-untyped-def]
    from console.accounts import Accounts
    from domain.db.session import make_engine

    return Accounts(make_engine(get_settings().database_url))


def _refused(e: ValueError) -> InputError:
    field, _, message = str(e).partition(": ")
    return InputError.one(field if message else "", message or str(e))


@app.command()
def add(
    login: str,
    name: Annotated[str, typer.Option("--name", help="as shown in the console")],
    role: Roles,
    password: Annotated[
        str | None, typer.Option("--password", help="omit to be asked (not echoed)", envvar="CONSOLE_PASSWORD")
    ] = None,
    language: Annotated[str, typer.Option("--language", help="fr, ar or en")] = "fr",
    oidc: Annotated[
        bool, typer.Option("--oidc", help="signs in with the ministry's identity provider only: no password")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Add a user who signs in with a password (hashed with argon2), or with the identity provider."""

    def work() -> int:
        if oidc and password:
            raise InputError.one("--password", "a user who signs in with the identity provider has no password")
        secret = None if oidc else password or typer.prompt("password", hide_input=True, confirmation_prompt=True)
        if secret is not None and len(secret) < 12:
            raise InputError.one("password", "at least 12 characters")
        try:
            user = _accounts().create(login, name, secret, role, by=CLI_ACTOR.id, language=language)
        except ValueError as e:
            raise _refused(e) from None
        render.emit_json(user.model_dump(mode="json")) if as_json else render.out.print(f"added: {user.login}")
        return 0

    run_command(as_json, work)


@app.command()
def roles(login: str, role: Roles, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Set a user's roles (each grant and removal goes on the access trail)."""

    def work() -> int:
        try:
            _accounts().set_roles(login, role, by=CLI_ACTOR.id)
        except ValueError as e:
            raise _refused(e) from None
        render.out.print(f"roles of {login}: {', '.join(sorted(role))}")
        return 0

    run_command(as_json, work)


@app.command()
def reviewer(
    login: str,
    sector: Annotated[list[str] | None, typer.Option("--sector", help="a sector of expertise, repeatable")] = None,
    organisation: Annotated[
        str | None, typer.Option("--organisation", help="registration number of the organisation they belong to")
    ] = None,
    link: Annotated[
        list[str] | None, typer.Option("--link", help="registration number they declare a link with, repeatable")
    ] = None,
    inactive: Annotated[bool, typer.Option("--inactive", help="no longer assigned new reviews")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Set a reviewer's profile: what assignment reads (experts first, never a declared link)."""

    def work() -> int:
        from datetime import UTC, datetime

        from domain.db.repository import Repository
        from domain.db.session import make_engine
        from domain.reviewers import ReviewerProfile

        data = {
            "reviewer_id": login,
            "sectors": sector or [],
            "organisation": organisation,
            "declared_links": link or [],
        }
        names = {
            "reviewer_id": "login",
            "sectors": "--sector",
            "organisation": "--organisation",
            "declared_links": "--link",
        }
        profile = validate(ReviewerProfile, data, names)
        Repository(make_engine(get_settings().database_url)).set_reviewer(profile, datetime.now(UTC), not inactive)
        if as_json:
            render.emit_json({**profile.model_dump(mode="json"), "active": not inactive})
        else:
            render.out.print(f"reviewer {login}: {', '.join(profile.sectors) or 'no sector'}")
        return 0

    run_command(as_json, work)


@app.command()
def deactivate(login: str, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Deactivate a user who leaves: their sessions end at once."""

    def work() -> int:
        try:
            _accounts().deactivate(login, by=CLI_ACTOR.id)
        except ValueError as e:
            raise _refused(e) from None
        render.out.print(f"deactivated: {login}")
        return 0

    run_command(as_json, work)
