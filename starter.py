"""The ops CLI of the Moazara grants service, for programme officers.

    python starter.py submit application.json
    python starter.py import applications.csv            # or .jsonl; --partial to skip bad lines
    python starter.py status moazara-4-ASSO-0001
    python starter.py list --edition 4 --stage review
    python starter.py review moazara-4-ASSO-0001 --reviewer r1 --scores innovation=7,income_generation=6,...
    python starter.py decide moazara-4-ASSO-0001 --decision selected --award 40000 --by committee

Every input is validated before anything reaches Temporal (bad value: the field is named, exit 2);
the workflow then answers (accepted: exit 0) or refuses with its reason (exit 1). Unknown ids and
connection problems also exit 1. Every command takes --json for machine-readable output.
Configuration comes from the environment (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TASK_QUEUE,
DATABASE_URL …, see settings.py). The commands stay thin: parsing is in cli/inputs.py, calls to
Temporal in cli/actions.py, output in cli/render.py.
"""

import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from cli import actions, inputs, render
from cli import edition as edition_cli
from cli.actions import CliError
from cli.command import run_command
from domain.edition_messages import MAX_BATCH
from infra.settings import get_settings

app = typer.Typer(
    help="Moazara ops CLI: submit, import, follow and act on grant applications (one Temporal workflow each).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(edition_cli.app, name="edition")

# --- Common options --------------------------------------------------------------------------------

AppId = Annotated[str, typer.Argument(metavar="ID", help="application id = workflow id, e.g. moazara-4-ASSO-0001")]
Json = Annotated[bool, typer.Option("--json", help="machine-readable output (JSON on stdout)")]
File = Annotated[
    Path | None,
    typer.Option("--file", "-f", help="the input as a JSON object (model field names); options given override it"),
]
Timeout = Annotated[float, typer.Option("--timeout", help="seconds to wait for the workflow's answer", min=1)]
By = Annotated[str | None, typer.Option("--by", help="who does it (name or id)")]
Reason = Annotated[str | None, typer.Option("--reason", help="why")]
Multi = list[str] | None


async def _with_client(fn: Callable[[Any], Any]) -> Any:
    client = await actions.connect_client(get_settings())
    return await fn(client)


def _update(
    action: str, app_id: str, file: Path | None, as_json: bool, timeout: float, values: Callable[[], dict]
) -> None:
    """Build and validate the action's model (no Temporal call if it is bad), send it, print the answer."""

    def work():
        payload = inputs.build(action, file, values())  # raises InputError: exit 2, nothing sent

        async def send(client) -> int:
            o = await actions.send_update(client, app_id, inputs.ACTIONS[action].update, payload, timeout)
            render.outcome(o, as_json)
            return 0 if o.accepted else 1

        return _with_client(send)

    run_command(as_json, work)


# --- Applications --------------------------------------------------------------------------------


@app.command()
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

        return _with_client(start)

    run_command(as_json, work)


@app.command(
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
        + inputs.CSV_HELP
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
        lines = inputs.read_import(file, fmt, inputs.load_settings(settings_file), by, edition)
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

        return _with_client(start)

    run_command(as_json, work)


@app.command()
def status(
    app_id: AppId,
    history: Annotated[bool, typer.Option("--history", help="also show every stage change")] = False,
    as_json: Json = False,
) -> None:
    """Where an application is: stage, what it waits for, since / until when, award, funders, payments, escalations."""

    async def show(client) -> int:
        render.status(await actions.get_status(client, app_id), as_json, history)
        return 0

    run_command(as_json, lambda: _with_client(show))


@app.command("list")
def list_(
    edition: Annotated[int | None, typer.Option("--edition", help="edition number")] = None,
    stage: Annotated[str | None, typer.Option("--stage", help="stage, e.g. review, committee, monitoring")] = None,
    region: Annotated[str | None, typer.Option("--region", help="region code, e.g. 02")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=100_000, help="at most this many")] = 100,
    as_json: Json = False,
) -> None:
    """List applications from the domain database (DATABASE_URL), not from Temporal."""

    def work() -> int:
        stage_value, region_code = inputs.parse_stage(stage), inputs.parse_region(region)
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


# --- Ops actions: one update each ------------------------------------------------------------------------


@app.command()
def documents(
    app_id: AppId,
    doc: Annotated[Multi, typer.Option("--doc", help="kind=reference, repeatable (e.g. --doc budget=DMS-123)")] = None,
    by: By = None,
    file: File = None,
    as_json: Json = False,
    timeout: Timeout = 60,
) -> None:
    """Record the documents an applicant completed (stage awaiting_documents)."""
    _update(
        "documents",
        app_id,
        file,
        as_json,
        timeout,
        lambda: {"documents": inputs.parse_documents(doc), "submitted_by": by},
    )


@app.command()
def review(
    app_id: AppId,
    reviewer: Annotated[str | None, typer.Option("--reviewer", help="reviewer id")] = None,
    scores: Annotated[
        Multi,
        typer.Option(
            "--scores",
            help="criterion=score (0..10) for every criterion: innovation, income_generation, "
            "jobs, inclusion, sustainability, feasibility; comma-separated or repeated",
        ),
    ] = None,
    organisation: Annotated[
        str | None, typer.Option("--organisation", help="reviewer's organisation (registration number)")
    ] = None,
    link: Annotated[
        Multi, typer.Option("--link", help="registration number the reviewer declares a link with, repeatable")
    ] = None,
    comment: Annotated[str | None, typer.Option("--comment")] = None,
    file: File = None,
    as_json: Json = False,
    timeout: Timeout = 60,
) -> None:
    """Record a reviewer's scores on the edition's grid (a conflict of interest is refused)."""
    _update(
        "review",
        app_id,
        file,
        as_json,
        timeout,
        lambda: {
            "reviewer_id": reviewer,
            "reviewer_organisation": organisation,
            "declared_links": link or None,
            "scores": inputs.parse_pairs(scores, "scores (--scores)", "criterion=score"),
            "comment": comment,
        },
    )


@app.command()
def decide(
    app_id: AppId,
    decision: Annotated[str | None, typer.Option("--decision", help="selected, waitlisted or rejected")] = None,
    award: Annotated[str | None, typer.Option("--award", help="award in MAD (selected only)")] = None,
    funder: Annotated[
        Multi,
        typer.Option(
            "--funder",
            help="funder=amount, repeatable: ministry=30000 region-02=10000 "
            "(default when selected: the ministry funds the whole award)",
        ),
    ] = None,
    rank: Annotated[int | None, typer.Option("--rank", help="rank in the committee's list")] = None,
    honorary: Annotated[bool, typer.Option("--honorary", help="an honorary award for innovation")] = False,
    by: By = None,
    reason: Reason = None,
    file: File = None,
    as_json: Json = False,
    timeout: Timeout = 60,
) -> None:
    """Record the committee's decision: selected (award and funder split), waitlisted or rejected."""

    def values() -> dict:
        funders = inputs.amounts(inputs.parse_pairs(funder, "funders (--funder)", "funder=amount"))
        if funders is None and award is not None and (decision or "").strip().lower() == "selected":
            funders = {"ministry": inputs.amount(award)}
        return {
            "decision": decision,
            "award": inputs.amount(award),
            "funders": funders,
            "rank": rank,
            "honorary_award": honorary or None,
            "decided_by": by,
            "reason": reason,
        }

    _update("decide", app_id, file, as_json, timeout, values)


@app.command()
def cofunding(
    app_id: AppId,
    region: Annotated[str | None, typer.Option("--region", help="the answering Region Council's code, e.g. 02")] = None,
    approve: Annotated[bool | None, typer.Option("--approve/--decline", help="the Region's answer")] = None,
    amount: Annotated[str | None, typer.Option("--amount", help="approved amount in MAD (default: as asked)")] = None,
    by: By = None,
    reason: Reason = None,
    file: File = None,
    as_json: Json = False,
    timeout: Timeout = 60,
) -> None:
    """Record a partner Region Council's co-funding decision."""
    _update(
        "cofunding",
        app_id,
        file,
        as_json,
        timeout,
        lambda: {
            "region_code": region,
            "approved": approve,
            "amount": inputs.amount(amount),
            "decided_by": by,
            "reason": reason,
        },
    )


@app.command()
def sign(
    app_id: AppId,
    by: By = None,
    on: Annotated[str | None, typer.Option("--on", help="date signed, YYYY-MM-DD")] = None,
    rib: Annotated[str | None, typer.Option("--rib", help="the beneficiary's bank account (24-digit RIB)")] = None,
    file: File = None,
    as_json: Json = False,
    timeout: Timeout = 60,
) -> None:
    """Record the signed funding agreement; the first tranche is ordered."""
    _update("sign", app_id, file, as_json, timeout, lambda: {"signed_by": by, "signed_on": on, "bank_account": rib})


@app.command()
def payment(
    app_id: AppId,
    order: Annotated[str | None, typer.Option("--order", help="payment order key (see status)")] = None,
    attempt: Annotated[int | None, typer.Option("--attempt", help="attempt number of the order")] = None,
    executed: Annotated[bool | None, typer.Option("--executed/--rejected", help="the payment system's result")] = None,
    reference: Annotated[str | None, typer.Option("--reference", help="the payment system's reference")] = None,
    reason: Reason = None,
    file: File = None,
    as_json: Json = False,
    timeout: Timeout = 60,
) -> None:
    """Record the payment system's result for a payment order."""
    _update(
        "payment",
        app_id,
        file,
        as_json,
        timeout,
        lambda: {
            "order_key": order,
            "attempt": attempt,
            "executed": executed,
            "reference": reference,
            "reason": reason,
        },
    )


@app.command("fix-bank")
def fix_bank(
    app_id: AppId,
    rib: Annotated[str | None, typer.Option("--rib", help="the corrected bank account (24-digit RIB)")] = None,
    by: By = None,
    file: File = None,
    as_json: Json = False,
    timeout: Timeout = 60,
) -> None:
    """Fix the bank details after a rejected payment; rejected orders are sent again."""
    _update("fix-bank", app_id, file, as_json, timeout, lambda: {"bank_account": rib, "fixed_by": by})


@app.command("retry-payments")
def retry_payments(
    app_id: AppId,
    by: By = None,
    reason: Reason = None,
    file: File = None,
    as_json: Json = False,
    timeout: Timeout = 300,
) -> None:
    """Send again the payment orders the payment system did not take (escalated after its retries)."""
    _update("retry-payments", app_id, file, as_json, timeout, lambda: {"requested_by": by, "reason": reason})


@app.command()
def report(
    app_id: AppId,
    period: Annotated[int | None, typer.Option("--period", help="report number (1 = first report due)")] = None,
    jobs_created: Annotated[int | None, typer.Option("--jobs-created")] = None,
    jobs_kept: Annotated[int | None, typer.Option("--jobs-kept")] = None,
    beneficiaries: Annotated[int | None, typer.Option("--beneficiaries")] = None,
    women: Annotated[int | None, typer.Option("--women")] = None,
    youth: Annotated[int | None, typer.Option("--youth")] = None,
    revenue: Annotated[str | None, typer.Option("--revenue", help="MAD")] = None,
    spend: Annotated[str | None, typer.Option("--spend", help="MAD")] = None,
    narrative: Annotated[str | None, typer.Option("--narrative")] = None,
    by: By = None,
    file: File = None,
    as_json: Json = False,
    timeout: Timeout = 60,
) -> None:
    """Record a progress report with its indicators (or --file report.json)."""
    _update(
        "report",
        app_id,
        file,
        as_json,
        timeout,
        lambda: {
            "period": period,
            "indicators": {
                "jobs_created": jobs_created,
                "jobs_kept": jobs_kept,
                "beneficiaries": beneficiaries,
                "women": women,
                "youth": youth,
                "revenue": inputs.amount(revenue),
                "spend": inputs.amount(spend),
            },
            "narrative": narrative,
            "submitted_by": by,
        },
    )


@app.command("review-report")
def review_report(
    app_id: AppId,
    period: Annotated[int | None, typer.Option("--period", help="report number")] = None,
    approve: Annotated[bool | None, typer.Option("--approve/--reject", help="ops' verdict")] = None,
    by: By = None,
    reason: Reason = None,
    file: File = None,
    as_json: Json = False,
    timeout: Timeout = 60,
) -> None:
    """Approve or reject a progress report (the mid-term approval releases the next tranche)."""
    _update(
        "review-report",
        app_id,
        file,
        as_json,
        timeout,
        lambda: {"period": period, "approved": approve, "decided_by": by, "reason": reason},
    )


@app.command("site-visit")
def site_visit(
    app_id: AppId,
    on: Annotated[str | None, typer.Option("--on", help="date of the visit, YYYY-MM-DD")] = None,
    visitor: Annotated[str | None, typer.Option("--visitor", help="who visited")] = None,
    findings: Annotated[str | None, typer.Option("--findings")] = None,
    file: File = None,
    as_json: Json = False,
    timeout: Timeout = 60,
) -> None:
    """Record a site visit."""
    _update(
        "site-visit",
        app_id,
        file,
        as_json,
        timeout,
        lambda: {"visited_on": on, "visitor": visitor, "findings": findings},
    )


@app.command()
def withdraw(
    app_id: AppId, by: By = None, reason: Reason = None, file: File = None, as_json: Json = False, timeout: Timeout = 60
) -> None:
    """Withdraw the application at the applicant's request."""
    _update("withdraw", app_id, file, as_json, timeout, lambda: {"requested_by": by, "reason": reason})


@app.command()
def cancel(
    app_id: AppId, by: By = None, reason: Reason = None, file: File = None, as_json: Json = False, timeout: Timeout = 60
) -> None:
    """Cancel the application (ops); --reason is required."""
    _update("cancel", app_id, file, as_json, timeout, lambda: {"cancelled_by": by, "reason": reason})


@app.command()
def terminate(
    app_id: AppId,
    by: By = None,
    reason: Reason = None,
    recover: Annotated[
        str | None, typer.Option("--recover", help="amount to recover in MAD (default: all paid)")
    ] = None,
    file: File = None,
    as_json: Json = False,
    timeout: Timeout = 60,
) -> None:
    """Terminate a funded grant for cause; records the amount to recover."""
    _update(
        "terminate",
        app_id,
        file,
        as_json,
        timeout,
        lambda: {"terminated_by": by, "reason": reason, "amount_to_recover": inputs.amount(recover)},
    )


def main() -> None:
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


if __name__ == "__main__":
    main()
