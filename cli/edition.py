"""`starter.py edition …`: open a call for projects, follow it, close it, confirm the committee's
selection, and print the programme report.

    python starter.py edition open 6 --settings edition6.json      # or a built-in edition (4, 5) with --opens/--closes
    python starter.py edition status 6
    python starter.py edition close 6 --by officer
    python starter.py edition proposal 6                           # the ranked selection before it is sent
    python starter.py edition confirm 6 --by director
    python starter.py edition report 6 --out var/reports           # prints it, writes JSON and CSV
    python starter.py edition report 6 --pdf --lang ar             # the PDF, kept in the document store
"""

import asyncio
import csv
import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from cli import documents, inputs, render
from cli.actions import CliError, connect_client, refusal_reason
from cli.command import run_command
from domain.db.edition_repository import EditionRepository
from domain.db.session import make_engine
from domain.edition import EditionSettings
from domain.edition_messages import CloseCall, EditionInput, EditionStatus, SelectionConfirmed, edition_workflow_id
from domain.envelopes import EnvelopeLine
from domain.report import EditionReport, build_report
from domain.text import spreadsheet_cell
from infra.settings import get_settings
from workflows import names

app = typer.Typer(
    help="Editions: the call for projects, the committee's selection, the programme report.", no_args_is_help=True
)

Number = Annotated[int, typer.Argument(metavar="EDITION", help="edition number", min=1, max=100)]
Json = Annotated[bool, typer.Option("--json", help="machine-readable output (JSON on stdout)")]
By = Annotated[str, typer.Option("--by", help="who does it")]


def _refused(reason: str, as_json: bool) -> int:
    render.failure(f"refused: {reason}", as_json)
    return 1


def _repo() -> EditionRepository:
    return EditionRepository(make_engine(get_settings().database_url))


@app.command("open", help="Open an edition: starts its workflow, which takes submissions inside the call window.")
def open_(
    edition: Number,
    settings_file: Annotated[Path | None, typer.Option("--settings", help="EditionSettings JSON")] = None,
    opens: Annotated[str | None, typer.Option("--opens", help="first day of the call (YYYY-MM-DD)")] = None,
    closes: Annotated[str | None, typer.Option("--closes", help="last day of the call (YYYY-MM-DD)")] = None,
    by: Annotated[str, typer.Option("--by", help="who opens it")] = "ops",
    as_json: Json = False,
) -> None:
    try:
        base = inputs.settings_for(edition, inputs.load_settings(settings_file))
        dates = {k: date.fromisoformat(v) for k, v in (("call_opens", opens), ("call_closes", closes)) if v}
        settings = EditionSettings.model_validate({**base.model_dump(), **dates})
        opening = inputs.validate(EditionInput, {"settings": settings, "opened_by": by}, {"opened_by": "--by"})
    except inputs.InputError as e:  # the settings file: unreadable, not JSON, a key twice …
        render.input_errors(e.errors, as_json)
        raise typer.Exit(2) from None
    except ValueError as e:  # includes pydantic's ValidationError
        render.failure(f"invalid edition settings: {e}", as_json)
        raise typer.Exit(2) from None

    async def start() -> int:
        client = await connect_client(get_settings())
        try:
            await client.start_workflow(
                names.EDITION_WORKFLOW,
                opening,
                id=edition_workflow_id(edition),
                task_queue=get_settings().editions_queue,
            )
        except WorkflowAlreadyStartedError:
            return _refused(f"edition {edition} is already open", as_json)
        message = f"edition {edition} opened: call from {settings.call_opens} to {settings.call_closes}"
        render.emit_json({"accepted": True, "message": message}) if as_json else render.out.print(message)
        return 0

    run_command(as_json, start())


async def _status(edition: int) -> EditionStatus:
    client = await connect_client(get_settings())
    try:
        return await client.get_workflow_handle(edition_workflow_id(edition)).query(
            names.GET_STATUS, result_type=EditionStatus
        )
    except RPCError as e:
        if e.status == RPCStatusCode.NOT_FOUND:
            raise CliError(f"no edition {edition}") from None
        raise CliError(f"cannot read edition {edition}: {e.message}") from None


@app.command(help="Where the edition is: phase, what it waits for, submissions, the committee's proposal.")
def status(edition: Number, as_json: Json = False) -> None:
    async def show() -> int:
        s = await _status(edition)
        lines = await asyncio.to_thread(_envelopes, edition)
        if as_json:
            render.emit_json({**s.model_dump(mode="json"), "envelopes": [x.model_dump(mode="json") for x in lines]})
            return 0
        t = Table(title=f"Edition {edition}", show_header=False, title_justify="left")
        for k in (
            "phase",
            "waiting_for",
            "since",
            "until",
            "submissions",
            "duplicates",
            "pending_before_committee",
            "call_closed_by",
            "confirmed_by",
            "rounds",
            "runs",
        ):
            t.add_row(k.replace("_", " "), render.text(getattr(s, k)))
        if s.proposal:
            p = s.proposal
            t.add_row("proposal", f"{p.selected} selected, {p.waitlisted} waitlisted, {p.rejected} rejected")
            t.add_row("by funder", ", ".join(f"{k}: {v}" for k, v in p.by_funder.items()) or "—")
            t.add_row("honorary awards", ", ".join(p.honorary_awards) or "—")
        render.out.print(t)
        if lines:
            render.out.print(_envelope_table(edition, lines))
        return 0

    run_command(as_json, show())


def _envelopes(edition: int) -> list[EnvelopeLine]:
    """The edition's envelopes from the domain database (none before the edition is recorded there)."""
    repo = _repo()
    row = repo.get_edition(edition)
    return [] if row is None else repo.envelope_ledger(EditionSettings.model_validate(row["settings"]))


def _envelope_table(edition: int, lines: list[EnvelopeLine]) -> Table:
    t = Table(
        title=f"Envelopes of edition {edition} (MAD)",
        title_justify="left",
        caption="lent: what the ring-fenced part lent the national part (counted once: the national part's "
        "committed includes it)",
        caption_justify="left",
    )
    for c in ("envelope", "size", "lent", "committed", "paid", "left"):
        t.add_column(c, justify="left" if c == "envelope" else "right")
    for x in lines:
        t.add_row(x.envelope, *(f"{v:,.2f}" for v in (x.size, x.lent, x.committed, x.paid, x.left)))
    return t


async def _update(edition: int, name: str, payload, as_json: bool) -> int:
    client = await connect_client(get_settings())
    try:
        message = await client.get_workflow_handle(edition_workflow_id(edition)).execute_update(
            name, payload, result_type=str
        )
    except WorkflowUpdateFailedError as e:
        return _refused(refusal_reason(e), as_json)
    except RPCError as e:
        raise CliError(f"edition {edition}: {e.message}") from None
    render.emit_json({"accepted": True, "message": message}) if as_json else render.out.print(message)
    return 0


@app.command(help="Close the call before its last day (ops).")
def close(
    edition: Number, by: By, reason: Annotated[str, typer.Option("--reason")] = "", as_json: Json = False
) -> None:
    payload = CloseCall(closed_by=by, reason=reason)
    run_command(as_json, _update(edition, names.EditionUpdate.CLOSE_CALL, payload, as_json))


@app.command(
    help="Confirm the committee's proposed selection: the decisions are then sent (recorded with who confirmed)."
)
def confirm(edition: Number, by: By, note: Annotated[str, typer.Option("--note")] = "", as_json: Json = False) -> None:
    payload = SelectionConfirmed(confirmed_by=by, note=note)
    run_command(as_json, _update(edition, names.EditionUpdate.CONFIRM_SELECTION, payload, as_json))


@app.command(help="The committee's ranked proposal (or a promotion round), from the database.")
def proposal(
    edition: Number, round_: Annotated[int, typer.Option("--round", min=0)] = 0, as_json: Json = False
) -> None:
    rows = _repo().round_rows(edition, round_)
    data = [
        {
            "rank": r.rank,
            "application_id": r.application_id,
            "decision": r.decision,
            "score": str(r.score),
            "award": str(r.award),
            "funders": r.funders,
            "honorary_award": r.honorary_award,
            "sent": r.sent_at is not None,
            "reason": r.reason,
        }
        for r in rows
    ]
    if as_json:
        render.emit_json(data)
        return
    if not data:
        render.out.print(f"no committee round {round_} for edition {edition} yet")
        return
    t = Table(title=f"Edition {edition}, round {round_}: {len(data)} application(s)", title_justify="left")
    for c in ("rank", "application", "decision", "score", "award", "funders", "honorary", "sent"):
        t.add_column(c)
    for d in data:
        t.add_row(
            str(d["rank"]),
            d["application_id"],
            d["decision"],
            d["score"],
            d["award"],
            ", ".join(f"{k} {v}" for k, v in d["funders"].items()),
            "yes" if d["honorary_award"] else "",
            "yes" if d["sent"] else "",
        )
    render.out.print(t)


def edition_settings(edition: int) -> EditionSettings:
    """The edition's settings as recorded, or the built-in edition's for one not recorded yet."""
    row = _repo().get_edition(edition)
    return EditionSettings.model_validate(row["settings"]) if row else inputs.settings_for(edition, None)


def edition_report(edition: int) -> EditionReport:
    return build_report(edition_settings(edition), _repo().report_rows(edition)["applications"])


def write_report(report: EditionReport, out: Path) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    json_path, csv_path = out / f"edition-{report.edition}.json", out / f"edition-{report.edition}.csv"
    json_path.write_text(report.model_dump_json(indent=2), encoding="utf-8")
    with csv_path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=["section", "key", "value"])
        w.writeheader()
        w.writerows({k: spreadsheet_cell(v) for k, v in row.items()} for row in report.flat_rows())
    return json_path, csv_path


def print_report(report: EditionReport) -> None:
    r = report
    counts = Table(title=f"Edition {r.edition}: {r.applications} applications by stage", title_justify="left")
    counts.add_column("stage")
    counts.add_column("applications", justify="right")
    for k, v in sorted(r.by_stage.items(), key=lambda kv: -kv[1]):
        counts.add_row(k, str(v))
    counts.add_row(Text("total", style="bold"), Text(str(sum(r.by_stage.values())), style="bold"))
    render.out.print(counts)
    money = Table(title="Money per funder (MAD)", title_justify="left")
    for c in ("funder", "projects", "awarded", "committed", "paid"):
        money.add_column(c, justify="left" if c == "funder" else "right")
    for funder, m in r.money.items():
        money.add_row(
            funder, str(r.funded_by.get(funder, 0)), f"{m.awarded:,.2f}", f"{m.committed:,.2f}", f"{m.paid:,.2f}"
        )
    render.out.print(money)
    for title, section in (("region", r.by_region), ("legal form", r.by_legal_form), ("sector", r.by_sector)):
        render.out.print(_headed(f"by {title}", ", ".join(f"{k} {v}" for k, v in section.items())))
    share = f"{r.earthquake_zone_share:.1%}" if r.earthquake_zone_share is not None else "—"
    render.out.print(
        _headed("earthquake zone", f"{r.earthquake_zone_projects} of {r.funded_projects} funded projects ({share})")
    )
    render.out.print(_headed("honorary awards", ", ".join(r.honorary_awards) or "—"))
    i = r.indicators
    women = f"{i.women_share:.1%}" if i.women_share is not None else "—"
    rural = f"{i.rural_share:.1%}" if i.rural_share is not None else "—"
    render.out.print(
        _headed(
            "indicators",
            f"({i.projects_reporting} projects reporting): {i.jobs_created} jobs created, "
            f"{i.jobs_kept} kept, {i.beneficiaries} beneficiaries, women {women}, rural projects {rural}",
        )
    )


def _headed(head: str, rest: str) -> Text:
    return Text.assemble((head, "bold"), ": " if not rest.startswith("(") else " ", rest)


@app.command(
    help="The programme report: counts by stage, region, province, sector, legal form and funder; money "
    "awarded, committed and paid per funder; the earthquake-zone share; awards; indicator totals. "
    "Written as JSON and CSV; with --pdf, as the PDF a minister reads (with its charts), kept in the "
    "document store."
)
def report(
    edition: Number,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="folder for the JSON and CSV files (var/reports); with --pdf, a copy of the PDF"),
    ] = None,
    pdf: Annotated[
        bool, typer.Option("--pdf", help="the programme report as PDF: prints its path and SHA-256")
    ] = False,
    lang: Annotated[str, typer.Option("--lang", help="the PDF's language: fr, ar or en")] = "fr",
    as_json: Json = False,
) -> None:
    if pdf:

        def work() -> int:
            try:
                settings = edition_settings(edition)
            except ValueError as e:
                raise CliError(str(e)) from None
            return documents.programme_report(settings, lang, out, as_json)

        run_command(as_json, work)
        return
    r = edition_report(edition)
    json_path, csv_path = write_report(r, out or Path("var/reports"))
    if as_json:
        render.emit_json(json.loads(r.model_dump_json()))
        return
    print_report(r)
    render.out.print(f"written: {json_path}, {csv_path}")
