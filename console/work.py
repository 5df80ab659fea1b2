"""What waits on a person, and the finance team's payment orders: read models over the domain
database for the console's home page and payments page.

"Waiting on me" is read from each application's stage (the database's, so the list stays fast at
programme scale), with when it is due (the edition's deadline for the stage, as the board reads
it): an officer is waited on in the stages where the programme's next step is
theirs, finance by payment orders rejected or not taken, a Region's agent by co-funding
requests of their Region, a reviewer by the reviews assigned to them and not yet scored. Oldest first.
"""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.accounts import User
from console.board import Deadlines
from domain.db.people_tables import ReviewAssignmentRow
from domain.db.tables import Application, PaymentOrderRow
from domain.models import Stage

# The stages in which the next step is a role's, and what the step is (a message id).
WAITING_ON = {
    "officer": {
        Stage.AGREEMENT.value: "the funding agreement to sign",
        Stage.AWAITING_DOCUMENTS.value: "documents the applicant must complete",
        Stage.MONITORING.value: "progress reports and site visits",
    },
    "committee": {Stage.COMMITTEE.value: "the committee's decision"},
}
ORDER_STATES = ("sent", "rejected", "unsent", "executed")
LIMIT = 200


def waiting_on(s: Session, user: User) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for role, stages in WAITING_ON.items():
        if not user.has(role):
            continue
        q = select(Application).where(Application.stage.in_(stages)).order_by(Application.stage_since).limit(LIMIT)
        rows += [_item(a, stages[a.stage]) for a in s.scalars(q)]
    for region in sorted(user.scopes("region-council")):
        q = (
            select(Application)
            .where(Application.stage == Stage.COFUNDING.value, Application.region_code == region)
            .order_by(Application.stage_since)
            .limit(LIMIT)
        )
        rows += [_item(a, "the Region's co-funding decision") for a in s.scalars(q)]
    if user.has("reviewer"):  # their own assignments only, and never who applied (review may be blind)
        q = (
            select(Application, ReviewAssignmentRow.id, ReviewAssignmentRow.assigned_at)
            .join(ReviewAssignmentRow, ReviewAssignmentRow.application_id == Application.application_id)
            .where(
                ReviewAssignmentRow.reviewer_id == user.login,
                ReviewAssignmentRow.state == "assigned",
                Application.stage == Stage.REVIEW.value,
            )
            .order_by(ReviewAssignmentRow.assigned_at)
            .limit(LIMIT)
        )
        for a, number, at in s.execute(q):  # the application's id holds the registration number: not shown
            link = {"label": a.title, "name": "", "since": at, "href": f"/reviews/{number}"}
            rows.append(_item(a, "a review to score") | link)
    if user.has("finance"):
        q = (
            select(PaymentOrderRow, Application)
            .join(Application, Application.application_id == PaymentOrderRow.application_id)
            .where(PaymentOrderRow.status.in_(("rejected", "unsent")))
            .order_by(PaymentOrderRow.updated_at)
            .limit(LIMIT)
        )
        for order, a in s.execute(q):
            what = "bank details to fix" if order.status == "rejected" else "a payment order to send again"
            rows.append(_item(a, what) | {"since": order.updated_at})
    deadlines, now = Deadlines(s), datetime.now(UTC)
    for r in rows:  # when the programme's next step is due (the edition's deadline for the stage)
        limit = deadlines.of(r["edition"]).get(r["stage"])
        r["due"] = r["stage_since"] + limit if limit is not None else None
        r["overdue"] = r["due"] is not None and r["due"] < now
    return sorted(rows, key=lambda r: r["since"])


def _item(a: Application, what: str) -> dict[str, Any]:
    return {
        "id": a.application_id,
        "label": a.application_id,
        "href": f"/applications/{a.application_id}",
        "name": a.applicant_name,
        "edition": a.edition,
        "stage": a.stage,
        "stage_since": a.stage_since,
        "since": a.stage_since,
        "what": what,
    }


def payment_orders(s: Session, status: str | None, edition: int | None) -> list[dict[str, Any]]:
    """Payment orders by state (never their bank account), most recently changed first."""
    q = select(PaymentOrderRow, Application.edition, Application.applicant_name).join(
        Application, Application.application_id == PaymentOrderRow.application_id
    )
    if status:
        q = q.where(PaymentOrderRow.status == status)
    if edition:
        q = q.where(Application.edition == edition)
    q = q.order_by(PaymentOrderRow.updated_at.desc()).limit(500)
    return [
        {
            "key": o.key,
            "application_id": o.application_id,
            "name": name,
            "edition": ed,
            "tranche": o.tranche,
            "funder": o.funder,
            "amount": o.amount,
            "attempt": o.attempt,
            "status": o.status,
            "reason": o.reason,
            "updated_at": o.updated_at,
        }
        for o, ed, name in s.execute(q)
    ]
