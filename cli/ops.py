"""The ops CLI's actions on one application: one command per workflow update (cli/updates.py)."""

from typing import Annotated

import typer

from cli import inputs
from cli.options import AppId, By, File, Json, Multi, Reason, Timeout, send_action

commands = typer.Typer()


# --- Ops actions: one update each ------------------------------------------------------------------------


@commands.command()
def documents(
    app_id: AppId,
    doc: Annotated[Multi, typer.Option("--doc", help="kind=reference, repeatable (e.g. --doc budget=DMS-123)")] = None,
    by: By = None,
    file: File = None,
    as_json: Json = False,
    timeout: Timeout = 60,
) -> None:
    """Record the documents an applicant completed (stage awaiting_documents)."""
    send_action(
        "documents",
        app_id,
        file,
        as_json,
        timeout,
        lambda: {"documents": inputs.parse_documents(doc), "submitted_by": by},
    )


@commands.command()
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
    send_action(
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


@commands.command("assign-reviewers")
def assign_reviewers(
    app_id: AppId,
    reviewer: Annotated[
        Multi, typer.Option("--reviewer", help="reviewer id, repeatable; none: the edition's rule fills the seats")
    ] = None,
    by: By = None,
    file: File = None,
    as_json: Json = False,
    timeout: Timeout = 60,
) -> None:
    """Assign reviewers to an application in review (editions that assign their reviewers)."""
    send_action(
        "assign-reviewers", app_id, file, as_json, timeout, lambda: {"reviewers": reviewer or None, "assigned_by": by}
    )


@commands.command()
def recuse(
    app_id: AppId,
    reviewer: Annotated[str | None, typer.Option("--reviewer", help="the reviewer who steps down")] = None,
    reason: Reason = None,
    by: By = None,
    file: File = None,
    as_json: Json = False,
    timeout: Timeout = 60,
) -> None:
    """A reviewer steps down from an application; the edition's rule replaces them."""
    send_action(
        "recuse",
        app_id,
        file,
        as_json,
        timeout,
        lambda: {"reviewer_id": reviewer, "reason": reason, "recused_by": by},
    )


@commands.command()
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

    send_action("decide", app_id, file, as_json, timeout, values)


@commands.command()
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
    send_action(
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


@commands.command()
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
    send_action("sign", app_id, file, as_json, timeout, lambda: {"signed_by": by, "signed_on": on, "bank_account": rib})


@commands.command()
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
    send_action(
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


@commands.command("fix-bank")
def fix_bank(
    app_id: AppId,
    rib: Annotated[str | None, typer.Option("--rib", help="the corrected bank account (24-digit RIB)")] = None,
    by: By = None,
    file: File = None,
    as_json: Json = False,
    timeout: Timeout = 60,
) -> None:
    """Request new bank details after a rejected payment; another person approves them (approve-bank),
    then the rejected orders are sent again."""
    send_action("fix-bank", app_id, file, as_json, timeout, lambda: {"bank_account": rib, "fixed_by": by})


@commands.command("approve-bank")
def approve_bank(
    app_id: AppId,
    approve: Annotated[
        bool, typer.Option("--approve/--decline", help="approve or decline the requested change")
    ] = True,
    by: By = None,
    reason: Reason = None,
    file: File = None,
    as_json: Json = False,
    timeout: Timeout = 60,
) -> None:
    """Approve (or decline) the bank details another person requested: four eyes on where money goes."""
    send_action(
        "approve-bank",
        app_id,
        file,
        as_json,
        timeout,
        lambda: {"approved": approve, "approved_by": by, "reason": reason},
    )


@commands.command("retry-payments")
def retry_payments(
    app_id: AppId,
    by: By = None,
    reason: Reason = None,
    file: File = None,
    as_json: Json = False,
    timeout: Timeout = 300,
) -> None:
    """Send again the payment orders the payment system did not take (escalated after its retries)."""
    send_action("retry-payments", app_id, file, as_json, timeout, lambda: {"requested_by": by, "reason": reason})


@commands.command()
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
    send_action(
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


@commands.command("review-report")
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
    send_action(
        "review-report",
        app_id,
        file,
        as_json,
        timeout,
        lambda: {"period": period, "approved": approve, "decided_by": by, "reason": reason},
    )


@commands.command("site-visit")
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
    send_action(
        "site-visit",
        app_id,
        file,
        as_json,
        timeout,
        lambda: {"visited_on": on, "visitor": visitor, "findings": findings},
    )


@commands.command()
def withdraw(
    app_id: AppId, by: By = None, reason: Reason = None, file: File = None, as_json: Json = False, timeout: Timeout = 60
) -> None:
    """Withdraw the application at the applicant's request."""
    send_action("withdraw", app_id, file, as_json, timeout, lambda: {"requested_by": by, "reason": reason})


@commands.command()
def cancel(
    app_id: AppId, by: By = None, reason: Reason = None, file: File = None, as_json: Json = False, timeout: Timeout = 60
) -> None:
    """Cancel the application (ops); --reason is required."""
    send_action("cancel", app_id, file, as_json, timeout, lambda: {"cancelled_by": by, "reason": reason})


@commands.command()
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
    send_action(
        "terminate",
        app_id,
        file,
        as_json,
        timeout,
        lambda: {"terminated_by": by, "reason": reason, "amount_to_recover": inputs.amount(recover)},
    )
