"""The ops CLI's application commands: submit, import, status, list."""

from pathlib import Path
from typing import Annotated

import typer

from cli import actions, imports, inputs, render, updates
from cli.actions import CliError
from cli.command import run_command
from cli.options import AppId, Json, with_client
from domain.edition_messages import MAX_BATCH
from infra.settings import get_settings

commands = typer.Typer()


@commands.command()
def submit(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="one application (ApplicationSubmission) as JSON")],
    settings_file: Annotated[
        Path | None,
        typer.Option(
            "--settings", help="edition settings (EditionSettings JSON); default: built-in for editions 4 and 5"
        ),
    ] = None,
    by: Annotated[str, typer.Option("--by", help="who submits it")] = "ops",
    as_json: Json = False,
) -> None:
    """Submit one application from a JSON file: starts its workflow (id = moazara-EDITION-REGNO).

    A second application by the same applicant in the same edition is refused (exit 1)."""

    def work():
        submission = inputs.read_submission(file)
        inp = inputs.application_input(submission, inputs.load_settings(settings_file), by)

        async def start(client) -> int:
            o = await actions.start_application(client, inp, get_settings().task_queue)
            render.outcome(o, as_json)
            return 0 if o.accepted else 1

        return with_client(start)

    run_command(as_json, work)


@commands.command(
    "import",
    help=(
        "Import many applications from a JSONL or CSV file.\n\n"
        "Every line is validated first; if any is bad, each bad line is reported (line number, field, message) and "
        "nothing is started (exit 1), unless --partial is given: then the good lines are started and the bad ones "
        "refused. Applications already submitted are counted as duplicates, not errors. Exit 0 when every good line "
        "was started or was a duplicate. Summary: started / duplicates / refused.\n\n"
        "When the edition's workflow is open, the applications go through it in batches (--batch-size), which it "
        "refuses, with the reason, once the call has closed; otherwise each workflow is started directly.\n\n"
        "JSONL: one ApplicationSubmission JSON object per line (blank lines and # comments skipped).\n\n"
        + imports.CSV_HELP
    ),
)
def import_(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="applications, .jsonl or .csv")],
    fmt: Annotated[str | None, typer.Option("--format", help="csv or jsonl (default: from the file name)")] = None,
    settings_file: Annotated[
        Path | None, typer.Option("--settings", help="edition settings JSON (default: built-in for editions 4, 5)")
    ] = None,
    edition: Annotated[
        int | None, typer.Option("--edition", help="edition of CSV rows without an edition column")
    ] = None,
    by: Annotated[str, typer.Option("--by", help="who submits them")] = "ops-import",
    partial: Annotated[bool, typer.Option("--partial", help="start the good lines even if some are bad")] = False,
    concurrency: Annotated[int, typer.Option("--concurrency", min=1, max=256, help="workflows started at once")] = 32,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, max=MAX_BATCH, help="submissions per update to an open edition")
    ] = actions.IMPORT_BATCH,
    as_json: Json = False,
) -> None:
    def work():
        lines = imports.read_import(file, fmt, inputs.load_settings(settings_file), by, edition)
        bad = [e for line in lines for e in line.errors]
        if bad and not partial:
            n_bad = len({e.line for e in bad})
            render.input_errors(
                bad, as_json, f"nothing started: {n_bad} bad line(s) of {len(lines)}; fix them or pass --partial"
            )
            return 1
        todo = [line.input for line in lines if line.ok and line.duplicate_of is None and line.input is not None]
        file_dups = [(line.line, line.duplicate_of) for line in lines if line.ok and line.duplicate_of is not None]

        async def start(client) -> int:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            with Progress(
                TextColumn("starting"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=render.err,
                disable=as_json,
                transient=False,
            ) as progress:
                task = progress.add_task("start", total=len(todo))
                result = await actions.start_many(
                    client, todo, get_settings().task_queue, concurrency, lambda _: progress.advance(task), batch_size
                )
            render.import_summary(result, bad, file_dups, as_json)
            return 1 if result.failed else 0

        return with_client(start)

    run_command(as_json, work)


@commands.command()
def status(
    app_id: AppId,
    history: Annotated[bool, typer.Option("--history", help="also show every stage change")] = False,
    as_json: Json = False,
) -> None:
    """Where an application is: stage, what it waits for, since / until when, award, funders, payments, escalations."""

    async def show(client) -> int:
        render.status(await actions.get_status(client, app_id), as_json, history)
        return 0

    run_command(as_json, lambda: with_client(show))


@commands.command("list")
def list_(
    edition: Annotated[int | None, typer.Option("--edition", help="edition number")] = None,
    stage: Annotated[str | None, typer.Option("--stage", help="stage, e.g. review, committee, monitoring")] = None,
    region: Annotated[str | None, typer.Option("--region", help="region code, e.g. 02")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=100_000, help="at most this many")] = 100,
    as_json: Json = False,
) -> None:
    """List applications from the domain database (DATABASE_URL), not from Temporal."""

    def work() -> int:
        stage_value, region_code = updates.parse_stage(stage), updates.parse_region(region)
        from domain.db.repository import Repository
        from domain.db.session import make_engine

        engine = make_engine(get_settings().database_url)
        try:
            rows = Repository(engine).list_applications(
                edition=edition, stage=stage_value, region_code=region_code, limit=limit
            )
        except Exception as e:  # noqa: BLE001 - a database problem is reported, not a traceback
            raise CliError(f"cannot read the domain database: {type(e).__name__}: {e}") from None
        finally:
            engine.dispose()
        render.applications(rows, as_json)
        return 0

    run_command(as_json, work)
