"""The applications board: filters, search, sort and pages over the domain database (never
Temporal's visibility), and the CSV export of what is filtered.

One query with the filters as WHERE clauses on indexed columns, a count, and one page of rows:
the board stays fast at programme scale (bench/console.py measures it at 10,000 applications).
"""

import csv
import io
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from pydantic import BaseModel, Field
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from domain.db.tables import Application
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


class Filters(BaseModel):
    """The board's query string, validated like any input."""

    edition: int | None = Field(None, ge=1, le=1000)
    stage: str | None = Field(None, max_length=30)
    region: str | None = Field(None, pattern=r"^\d{2}$")
    province: str | None = Field(None, max_length=100)
    sector: str | None = Field(None, max_length=40)
    legal_form: str | None = Field(None, max_length=20)
    q: str | None = Field(None, max_length=100)
    sort: str = Field("id", pattern="^-?(" + "|".join(SORTS) + ")$")
    page: int = Field(1, ge=1, le=100_000)

    def url(self, path: str = "/applications", **changes: Any) -> str:
        """This board's address with some filters changed (None drops one)."""
        values = {**self.model_dump(exclude_defaults=True), **changes}
        return path + "?" + urlencode({k: v for k, v in values.items() if v not in (None, "")})

    def sorted_by(self, column: str) -> str:
        """The address that sorts by `column`, descending when it is sorted ascending already."""
        return self.url(sort=f"-{column}" if self.sort == column else column, page=None)

    def query(self) -> Select[Any]:
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
        if self.q:
            like = f"%{self.q.strip()}%"
            q = q.where(or_(Application.applicant_name.ilike(like), Application.registration_number.ilike(like)))
        return q

    def ordered(self, q: Select[Any]) -> Select[Any]:
        column = SORTS[self.sort.lstrip("-")]
        return q.order_by(column.desc() if self.sort.startswith("-") else column, Application.application_id)


@dataclass
class Board:
    rows: list[dict[str, Any]]
    total: int
    page: int
    pages: int


def _row(a: Application) -> dict[str, Any]:
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
    }


def board(s: Session, f: Filters) -> Board:
    q = f.query()
    total = s.scalar(select(func.count()).select_from(q.subquery())) or 0
    pages = max(1, -(-total // PAGE))
    page = min(f.page, pages)
    rows = s.scalars(f.ordered(q).limit(PAGE).offset((page - 1) * PAGE))
    return Board([_row(a) for a in rows], total, page, pages)


CSV_COLUMNS = ["id", "edition", "name", "registration_number", "title", "region_code", "province", "sector"]
CSV_COLUMNS += ["legal_form", "stage", "since", "score", "award"]


def csv_export(s: Session, f: Filters) -> tuple[str, int]:
    """(CSV text, rows): UTF-8 with a BOM so a spreadsheet reads Arabic and French right; a cell
    that starts like a formula is written as text."""
    out = io.StringIO()
    out.write("\ufeff")
    w = csv.writer(out)
    w.writerow(CSV_COLUMNS)
    n = 0
    for a in s.scalars(f.ordered(f.query())):
        row = _row(a)
        w.writerow([spreadsheet_cell("" if row[c] is None else str(row[c])) for c in CSV_COLUMNS])
        n += 1
    return out.getvalue(), n
