"""The ops CLI's actions on one application: one command per workflow update (cli/updates.py).

Each command is a function of its own options; `@action` makes it the command, with the
application ID and the options every action has (--file, --json, --timeout), and fills the update's
fields from the options as cli/updates.py's ACTIONS map them. A function that must turn an option
into what the update takes (an amount, pairs, documents) returns those options, turned."""

from pathlib import Path
from typing import Annotated

import typer

from cli import inputs
from cli.options import By, Multi, Reason, action

commands = typer.Typer()


@action(commands, "documents")
def documents(
    doc: Annotated[Multi, typer.Option("--doc", help="kind=reference, repeatable (e.g. --doc budget=DMS-123)")] = None,
    by: By = None,
) -> dict:
    """Record the documents an applicant completed (stage awaiting_documents)."""
    return {"doc": inputs.parse_documents(doc)}


@action(commands, "review")
def review(
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
) -> dict:
    """Record a reviewer's scores on the edition's grid (a conflict of interest is refused)."""
    return {"link": link or None, "scores": inputs.parse_pairs(scores, "scores (--scores)", "criterion=score")}


@action(commands, "assign-reviewers")
def assign_reviewers(
    reviewer: Annotated[
        Multi, typer.Option("--reviewer", help="reviewer id, repeatable; none: the edition's rule fills the seats")
    ] = None,
    by: By = None,
) -> dict:
    """Assign reviewers to an application in review (editions that assign their reviewers)."""
    return {"reviewer": reviewer or None}


@action(commands, "recuse")
def recuse(
    reviewer: Annotated[str | None, typer.Option("--reviewer", help="the reviewer who steps down")] = None,
    reason: Reason = None,
    by: By = None,
) -> None:
    """A reviewer steps down from an application; the edition's rule replaces them."""


@action(commands, "decide")
def decide(
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
) -> dict:
    """Record the committee's decision: selected (award and funder split), waitlisted or rejected."""
    funders = inputs.amounts(inputs.parse_pairs(funder, "funders (--funder)", "funder=amount"))
    if funders is None and award is not None and (decision or "").strip().lower() == "selected":
        funders = {"ministry": inputs.amount(award)}
    return {"award": inputs.amount(award), "funder": funders, "honorary": honorary or None}


@action(commands, "cofunding")
def cofunding(
    region: Annotated[str | None, typer.Option("--region", help="the answering Region Council's code, e.g. 02")] = None,
    approve: Annotated[bool | None, typer.Option("--approve/--decline", help="the Region's answer")] = None,
    amount: Annotated[str | None, typer.Option("--amount", help="approved amount in MAD (default: as asked)")] = None,
    by: By = None,
    reason: Reason = None,
) -> dict:
    """Record a partner Region Council's co-funding decision."""
    return {"amount": inputs.amount(amount)}


@action(commands, "sign")
def sign(
    by: By = None,
    on: Annotated[str | None, typer.Option("--on", help="date signed, YYYY-MM-DD")] = None,
    rib: Annotated[str | None, typer.Option("--rib", help="the beneficiary's bank account (24-digit RIB)")] = None,
    agreement_sha256: Annotated[
        str | None,
        typer.Option("--agreement-sha256", help="the SHA-256 of the agreement signed (default: the one issued)"),
    ] = None,
    scan: Annotated[
        Path | None,
        typer.Option("--scan", help="the signed agreement scanned (PDF, PNG or JPEG, at most 10 MB)", dir_okay=False),
    ] = None,
) -> dict:
    """Record the signed funding agreement (naming the hash of the agreement issued, read from the
    status unless given), with its signed scan kept in the document store; the first tranche is ordered."""
    return {"scan": inputs.kept_scan(scan)}


@action(commands, "payment")
def payment(
    order: Annotated[str | None, typer.Option("--order", help="payment order key (see status)")] = None,
    attempt: Annotated[int | None, typer.Option("--attempt", help="attempt number of the order")] = None,
    executed: Annotated[bool | None, typer.Option("--executed/--rejected", help="the payment system's result")] = None,
    reference: Annotated[str | None, typer.Option("--reference", help="the payment system's reference")] = None,
    reason: Reason = None,
) -> None:
    """Record the payment system's result for a payment order."""


@action(commands, "fix-bank")
def fix_bank(
    rib: Annotated[str | None, typer.Option("--rib", help="the corrected bank account (24-digit RIB)")] = None,
    by: By = None,
) -> None:
    """Request new bank details after a rejected payment, or before the agreement is signed; another
    person approves them (approve-bank): the rejected orders are sent again, or the agreement is
    issued again naming the new account (its next version, the one to sign)."""


@action(commands, "approve-bank")
def approve_bank(
    approve: Annotated[
        bool, typer.Option("--approve/--decline", help="approve or decline the requested change")
    ] = True,
    by: By = None,
    reason: Reason = None,
) -> None:
    """Approve (or decline) the bank details another person requested: four eyes on where money goes."""


@action(commands, "retry-payments", timeout=300)
def retry_payments(by: By = None, reason: Reason = None) -> None:
    """Send again the payment orders the payment system did not take (escalated after its retries)."""


@action(commands, "report")
def report(
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
) -> dict:
    """Record a progress report with its indicators (or --file report.json)."""
    return {"revenue": inputs.amount(revenue), "spend": inputs.amount(spend)}


@action(commands, "review-report")
def review_report(
    period: Annotated[int | None, typer.Option("--period", help="report number")] = None,
    approve: Annotated[bool | None, typer.Option("--approve/--reject", help="ops' verdict")] = None,
    by: By = None,
    reason: Reason = None,
) -> None:
    """Approve or reject a progress report (the mid-term approval releases the next tranche)."""


@action(commands, "site-visit")
def site_visit(
    on: Annotated[str | None, typer.Option("--on", help="date of the visit, YYYY-MM-DD")] = None,
    visitor: Annotated[str | None, typer.Option("--visitor", help="who visited")] = None,
    findings: Annotated[str | None, typer.Option("--findings")] = None,
) -> None:
    """Record a site visit."""


@action(commands, "withdraw")
def withdraw(by: By = None, reason: Reason = None) -> None:
    """Withdraw the application at the applicant's request."""


@action(commands, "cancel")
def cancel(by: By = None, reason: Reason = None) -> None:
    """Cancel the application (ops); --reason is required."""


@action(commands, "terminate")
def terminate(
    by: By = None,
    reason: Reason = None,
    recover: Annotated[
        str | None, typer.Option("--recover", help="amount to recover in MAD (default: all paid)")
    ] = None,
) -> dict:
    """Terminate a funded grant for cause; records the amount to recover."""
    return {"recover": inputs.amount(recover)}
