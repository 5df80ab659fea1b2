"""The applications board: filters, search, sort and pages over the domain database (never
Temporal's visibility), and the CSV export of what is filtered.

One query with the filters as WHERE clauses on indexed columns, a count, and one page of rows:
the board stays fast at programme scale (bench/console.py measures it at 10,000 applications).

"Waiting for" is read from the stage, as the home page's "waiting on me" (console/work.py) is: the
programme's next step in that stage. "Overdue" is an application whose stage has lasted longer
than its edition gives that stage (EditionSettings' deadlines, from the editions table, or their
defaults for an edition it does not hold): the editions are few, so their deadlines become one
WHERE clause per (edition, stage) on the stage's start, and the database does the rest.
"""

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, Select, and_, false, func, or_, select
from sqlalchemy.orm import Session

from domain.db.tables import Application, EditionRow
from domain.edition_terms import EditionTerms
from domain.models import Stage
from domain.reference import regions
from domain.text import spreadsheet_cell

PAGE = 50
SORTS = {
    "id": Application.application_id,
    "name": Application.applicant_name,
    "stage": Application.stage,
    "since": Application.stage_since,
    "score": Application.score,
    "award": Application.award,
}

# What an application waits for, read from its stage: the programme's next step (a message id).
WAITING_FOR: dict[str, tuple[str, str]] = {
    "documents": (Stage.AWAITING_DOCUMENTS.value, "documents the applicant must complete"),
    "reviews": (Stage.REVIEW.value, "the reviewers' scores"),
    "committee": (Stage.COMMITTEE.value, "the committee's decision"),
    "waitlist": (Stage.WAITLISTED.value, "a place freed on the waitlist"),
    "cofunding": (Stage.COFUNDING.value, "the Region's co-funding decision"),
    "agreement": (Stage.AGREEMENT.value, "the funding agreement to sign"),
    "payment": (Stage.DISBURSEMENT.value, "the payment of a tranche"),
    "reports": (Stage.MONITORING.value, "progress reports and site visits"),
}
WAITING_BY_STAGE = {stage: key for key, (stage, _) in WAITING_FOR.items()}

# The stages an edition gives a deadline, and the setting that says how many (programme) days.
DEADLINES = {
    Stage.AWAITING_DOCUMENTS.value: "documents_deadline_days",
    Stage.REVIEW.value: "review_deadline_days",
    Stage.COMMITTEE.value: "committee_wait_days",
    Stage.COFUNDING.value: "cofunding_deadline_days",
    Stage.AGREEMENT.value: "agreement_deadline_days",
}


def stage_deadlines(settings: dict[str, Any] | None) -> dict[str, timedelta]:
    """Stage -> how long it may last, from an edition's stored settings (their defaults where the
    row leaves one out, or for an edition the table does not hold)."""
    terms = EditionTerms(settings)
    return {stage: terms.duration(name) for stage, name in DEADLINES.items()}


class Deadlines:
    """Each edition's stage deadlines, read once per request (the editions are few)."""

    def __init__(self, s: Session, edition: int | None = None) -> None:
        q = select(EditionRow.edition, EditionRow.settings)
        if edition is not None:
            q = q.where(EditionRow.edition == edition)
        self.editions = {number: stage_deadlines(raw) for number, raw in s.execute(q)}
        self.default = stage_deadlines(None)

    def of(self, edition: int) -> dict[str, timedelta]:
        return self.editions.get(edition, self.default)

    def overdue(self, now: datetime) -> ColumnElement[bool]:
        """The applications whose stage has lasted longer than their edition allows."""
        clauses = []
        for edition, limits in self.editions.items():
            for stage, limit in limits.items():
                clauses.append(
                    and_(
                        Application.edition == edition,
                        Application.stage == stage,
                        Application.stage_since < now - limit,
                    )
                )
        unknown = Application.edition.not_in(list(self.editions)) if self.editions else None
        for stage, limit in self.default.items():
            clause = and_(Application.stage == stage, Application.stage_since < now - limit)
            clauses.append(and_(unknown, clause) if unknown is not None else clause)
        return or_(*clauses) if clauses else false()


class Filters(BaseModel):
    """The board's query string, validated like any input."""

    edition: int | None = Field(None, ge=1, le=1000)
    stage: str | None = Field(None, max_length=30)
    region: str | None = Field(None, pattern=r"^\d{2}$")
    province: str | None = Field(None, max_length=100)
    sector: str | None = Field(None, max_length=40)
    legal_form: str | None = Field(None, max_length=20)
    waiting: str | None = Field(None, pattern="^(" + "|".join(WAITING_FOR) + ")$")
    overdue: bool = False
    q: str | None = Field(None, max_length=100)
    sort: str = Field("id", pattern="^-?(" + "|".join(SORTS) + ")$")
    page: int = Field(1, ge=1, le=100_000)

    def url(self, path: str = "/applications", **changes: Any) -> str:
        """This board's address with some filters changed (None drops one)."""
        values = {**self.model_dump(exclude_defaults=True), **changes}
        values = {k: (1 if v is True else v) for k, v in values.items() if v not in (None, "", False)}
        return path + "?" + urlencode(values)

    def sorted_by(self, column: str) -> str:
        """The address that sorts by `column`, descending when it is sorted ascending already."""
        return self.url(sort=f"-{column}" if self.sort == column else column, page=None)

    def query(self, deadlines: Deadlines | None = None, now: datetime | None = None) -> Select[Any]:
        q = select(Application)
        for column, value in (
            (Application.edition, self.edition),
            (Application.stage, self.stage),
            (Application.region_code, self.region),
            (Application.province, self.province),
            (Application.sector, self.sector),
            (Application.legal_form, self.legal_form),
        ):
            if value not in (None, ""):
                q = q.where(column == value)
        if self.waiting:
            q = q.where(Application.stage == WAITING_FOR[self.waiting][0])
        if self.overdue and deadlines is not None:
            q = q.where(deadlines.overdue(now or datetime.now(UTC)))
        if self.q:
            like = f"%{self.q.strip()}%"
            q = q.where(or_(Application.applicant_name.ilike(like), Application.registration_number.ilike(like)))
        return q

    def ordered(self, q: Select[Any]) -> Select[Any]:
        column = SORTS[self.sort.lstrip("-")]
        return q.order_by(column.desc() if self.sort.startswith("-") else column, Application.application_id)


def places(f: Filters, visible: set[str] | None) -> tuple[list[str], dict[str, list[str]]]:
    """The board's place filters: the Region codes this user may pick (`visible`, or all when None)
    and the provinces to offer, by Region code: the chosen Region's, or every visible Region's.
    A filter's value stays the code (and the province's reference name); the page names them."""
    codes = sorted(c for c in regions() if visible is None or c in visible)
    shown = [f.region] if f.region in codes else codes
    return codes, {code: list(regions()[code]["provinces"]) for code in shown}


@dataclass
class Board:
    rows: list[dict[str, Any]]
    total: int
    page: int
    pages: int


def _row(a: Application, deadlines: Deadlines, now: datetime) -> dict[str, Any]:
    limit = deadlines.of(a.edition).get(a.stage)
    due = a.stage_since + limit if limit is not None else None
    return {
        "id": a.application_id,
        "edition": a.edition,
        "name": a.applicant_name,
        "registration_number": a.registration_number,
        "title": a.title,
        "region_code": a.region_code,
        "province": a.province,
        "sector": a.sector,
        "legal_form": a.legal_form,
        "stage": a.stage,
        "since": a.stage_since,
        "score": a.score,
        "award": a.award,
        "waiting": WAITING_BY_STAGE.get(a.stage),
        "due": due,
        "overdue": due is not None and due < now,
    }


def board(s: Session, f: Filters, now: datetime | None = None) -> Board:
    now = now or datetime.now(UTC)
    deadlines = Deadlines(s, f.edition)
    q = f.query(deadlines, now)
    total = s.scalar(select(func.count()).select_from(q.subquery())) or 0
    pages = max(1, -(-total // PAGE))
    page = min(f.page, pages)
    rows = s.scalars(f.ordered(q).limit(PAGE).offset((page - 1) * PAGE))
    return Board([_row(a, deadlines, now) for a in rows], total, page, pages)


CSV_COLUMNS = ["id", "edition", "name", "registration_number", "title", "region_code", "province", "sector"]
CSV_COLUMNS += ["legal_form", "stage", "since", "score", "award", "waiting", "due", "overdue"]


def csv_export(s: Session, f: Filters, now: datetime | None = None) -> tuple[str, int]:
    """(CSV text, rows): UTF-8 with a BOM so a spreadsheet reads Arabic and French right; a cell
    that starts like a formula is written as text."""
    out = io.StringIO()
    out.write("\ufeff")
    w = csv.writer(out)
    w.writerow(CSV_COLUMNS)
    n = 0
    now = now or datetime.now(UTC)
    deadlines = Deadlines(s, f.edition)
    for a in s.scalars(f.ordered(f.query(deadlines, now))):
        row = _row(a, deadlines, now)
        w.writerow([spreadsheet_cell("" if row[c] is None else str(row[c])) for c in CSV_COLUMNS])
        n += 1
    return out.getvalue(), n
