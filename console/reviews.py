"""The reviewer's pages: their assignments, one application's project and scoring grid, their
conflict-of-interest declaration, recusal.

A reviewer sees only the applications assigned to them (403 otherwise), never another reviewer's
scores before their own are in, and, where the edition reviews blind, never who applied (name,
registration number, contacts): the project only. Their pages are addressed by the assignment's
number, not the application's id (which holds the registration number). When the workflow cannot say whether review
is blind, the page treats it as blind. Scores and recusals go to the workflow through the front
door as the signed-in reviewer; the workflow's rule decides (only an assigned reviewer scores).
"""

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from console.actions import form_errors
from console.pages import Form, State, Who, status_of
from console.web import ConsoleState, Signed, render, require
from domain.db.people_tables import ReviewAssignmentRow
from domain.db.tables import Application
from domain.edition import Criterion
from domain.models import Review
from domain.reviewers import Recusal
from frontdoor import Result, send_update
from workflows.names import ApplicationUpdate

router = APIRouter()
IDENTITY = ("name", "registration_number", "email", "phone", "declared_links", "bank_account")


def assigned_reviews(s: Session, login: str) -> list[dict[str, Any]]:
    """The reviewer's assignments, the open ones first, then the newest: project facts only."""
    q = (
        select(ReviewAssignmentRow, Application)
        .join(Application, Application.application_id == ReviewAssignmentRow.application_id)
        .where(ReviewAssignmentRow.reviewer_id == login)
        .order_by(ReviewAssignmentRow.state != "assigned", ReviewAssignmentRow.assigned_at.desc())
        .limit(500)
    )
    return [
        {
            "id": r.id,
            "title": a.title,
            "sector": a.sector,
            "edition": a.edition,
            "stage": a.stage,
            "state": r.state,
            "assigned_at": r.assigned_at,
        }
        for r, a in s.execute(q)
    ]


def _assignment(s: ConsoleState, who: Signed, assignment_id: int) -> dict[str, Any]:
    """This reviewer's assignment (403 for anyone else's, or none: nothing said of which)."""
    require(who, "reviewer")
    found = s.repo.assignment(assignment_id)
    if found is None or found["reviewer_id"] != who.user.login:
        raise HTTPException(403, "not assigned")
    return found


@router.get("/reviews")
def my_reviews(request: Request, s: State, who: Who) -> Response:
    require(who, "reviewer")
    with Session(s.repo.engine) as db:
        rows = assigned_reviews(db, who.user.login)
    return render(request, "reviews.html", who, rows=rows, request_done=request.query_params.get("done"))


async def _review_page(
    request: Request, s: ConsoleState, who: Signed, assignment_id: int, http_status: int = 200, **context: Any
) -> Response:
    mine = _assignment(s, who, assignment_id)
    app = s.repo.get_application(mine["application_id"])
    assert app is not None  # an assignment's application exists (foreign key)
    status = await status_of(s, app["id"])
    blind = status is None or status.blind_review
    submission = app["submission"]
    applicant = {k: v for k, v in submission["applicant"].items() if not (blind and k in IDENTITY)}
    reviews = app["reviews"]
    own = next((r for r in reviews if r["reviewer_id"] == who.user.login), None)
    grid = status.review_grid if status else {}
    context = {"errors": {}, "result": None, **context}
    return render(
        request,
        "review.html",
        who,
        http_status,
        status=status,
        blind=blind,
        applicant=applicant,
        project=submission["project"],
        assignment=mine,
        own=own,
        others=[r for r in reviews if r["reviewer_id"] != who.user.login] if own else [],
        grid=[(c, grid[c.value]) for c in Criterion if c.value in grid],
        can_score=mine["state"] == "assigned" and status is not None and status.stage.value == "review",
        **context,
    )


@router.get("/reviews/{assignment_id}")
async def review_page(request: Request, s: State, who: Who, assignment_id: int) -> Response:
    return await _review_page(request, s, who, assignment_id, done=request.query_params.get("done"))


async def _send(s: ConsoleState, who: Signed, mine: dict[str, Any], update: str, payload: Any) -> Result:
    profile = s.repo.reviewer_pool().get(who.user.login)
    if update == ApplicationUpdate.SUBMIT_REVIEW and profile is not None:
        # What the reviewer declared on their profile travels with the review: the workflow checks it too.
        payload = payload.model_copy(
            update={"reviewer_organisation": profile.organisation, "declared_links": profile.declared_links}
        )
    application_id = mine["application_id"]
    return await send_update(s.temporal(), application_id, update, payload, who.user.actor(), timeout=30)


@router.post("/reviews/{assignment_id}")
async def submit_review(request: Request, s: State, who: Who, form: Form, assignment_id: int) -> Response:
    mine = _assignment(s, who, assignment_id)
    if form.get("no_conflict") != "yes":
        errors = {"no_conflict": "declare that you have no conflict of interest, or recuse yourself"}
        return await _review_page(request, s, who, assignment_id, 422, errors=errors)
    try:
        review = Review(
            reviewer_id=who.user.login,
            scores={c: form.get(f"score-{c.value}", "") for c in Criterion},  # type: ignore[misc]
            comment=str(form.get("comment", "")),
        )
    except ValidationError as e:
        return await _review_page(request, s, who, assignment_id, 422, errors=form_errors(e))
    result = await _send(s, who, mine, ApplicationUpdate.SUBMIT_REVIEW, review)
    if result.accepted:
        return RedirectResponse(f"/reviews/{assignment_id}?done=review", status_code=303)
    return await _review_page(request, s, who, assignment_id, 409, result=result)


@router.post("/reviews/{assignment_id}/recuse")
async def recuse(request: Request, s: State, who: Who, form: Form, assignment_id: int) -> Response:
    mine = _assignment(s, who, assignment_id)
    login = who.user.login
    try:
        recusal = Recusal(reviewer_id=login, reason=str(form.get("reason", "")), recused_by=login)
    except ValidationError as e:
        return await _review_page(request, s, who, assignment_id, 422, errors=form_errors(e))
    result = await _send(s, who, mine, ApplicationUpdate.RECUSE, recusal)
    if result.accepted:
        return RedirectResponse("/reviews?done=recused", status_code=303)
    return await _review_page(request, s, who, assignment_id, 409, result=result)
