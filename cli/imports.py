"""Bulk import: CSV or JSON Lines files of applications, every line validated before anything starts."""

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from cli.inputs import (
    FieldError,
    InputError,
    application_input,
    field_errors,
    loads,
)
from domain.edition import EditionSettings
from domain.errors import bounded, shown
from domain.models import (
    ApplicationInput,
    ApplicationSubmission,
)
from infra import strict_json

# CSV columns -> where they go in an ApplicationSubmission, the required ones first. Empty cells mean "not given".
_APPLICANT_REQUIRED = ("registration_number", "name", "legal_form", "region_code", "province", "rural")
CSV_APPLICANT = (*_APPLICANT_REQUIRED, "bank_account", "email", "phone", "declared_links")
_PROJECT_REQUIRED = ("sector", "title", "total_cost", "requested_amount", "own_contribution", "duration_months")
CSV_PROJECT = (*_PROJECT_REQUIRED, "summary", "jobs_created", "jobs_kept", "beneficiaries", "women", "youth")
CSV_COLUMNS = ("edition", *CSV_APPLICANT, *CSV_PROJECT, "documents")
CSV_REQUIRED = (*_APPLICANT_REQUIRED, *_PROJECT_REQUIRED)
CSV_LISTS = ("declared_links",)  # semicolon-separated

CSV_HELP = (
    "CSV: a header line, then one application per line; columns in any order, an empty cell means not given. "
    "A refused line is numbered as a spreadsheet numbers its rows (the header is 1).\n\n"
    f"Required columns: {', '.join(CSV_REQUIRED)}.\n\n"
    "Optional columns: edition (else --edition N), bank_account (24-digit RIB), email, phone, "
    "declared_links (registration numbers separated by ';'), summary, jobs_created, jobs_kept, beneficiaries, "
    "women, youth, documents (document kinds separated by ';', each 'kind' or 'kind=reference', "
    "e.g. statutes;budget=DMS-1234; a bare kind gets the reference import/REGNO/kind).\n\n"
    "rural: true/false (yes/no, 1/0). legal_form: association, network, cooperative. "
    "Amounts in MAD with '.' as decimal separator (e.g. 40000.00)."
)

# Model path -> CSV column, for messages.
_CSV_NAMES = {
    "edition": "edition",
    "documents": "documents",
    **{f"applicant.{c}": c for c in CSV_APPLICANT},
    **{f"project.{c}": c for c in CSV_PROJECT},
}


@dataclass
class ImportLine:
    line: int
    submission: ApplicationSubmission | None = None
    input: ApplicationInput | None = None
    errors: list[FieldError] = field(default_factory=list)
    duplicate_of: int | None = None  # an earlier line of the same file for the same application

    @property
    def ok(self) -> bool:
        return not self.errors


def detect_format(path: Path, fmt: str | None) -> str:
    if fmt:
        f = fmt.lower()
        if f not in ("csv", "jsonl"):
            raise InputError.one("--format", f"{shown(fmt)} is not csv or jsonl")
        return f
    suffix = Path(path).suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    raise InputError.one("--format", f"cannot tell the format of {path} from its name; pass --format csv|jsonl")


def _rows_jsonl(text: str) -> Iterable[tuple[int, dict[str, Any] | None, list[FieldError]]]:
    # Lines end at "\n" only: str.splitlines() would also split inside a JSON string holding
    # U+2028, U+0085 or a form feed, which JSON leaves unescaped, and misnumber every later line.
    for n, raw in enumerate(text.split("\n"), start=1):
        s = raw.strip()
        if not s or s.startswith("#"):
            continue
        try:
            data = loads(s)
        except json.JSONDecodeError as e:
            yield n, None, [FieldError("", f"not valid JSON: {e.msg} (column {e.colno})", n)]
            continue
        except strict_json.NotStrictJson as e:  # a key twice, or nested too deeply: this line only
            yield n, None, [FieldError(e.field or "", str(e).removeprefix(f"{e.field}: ") if e.field else str(e), n)]
            continue
        if not isinstance(data, dict):
            yield n, None, [FieldError("", "not a JSON object (one application per line)", n)]
            continue
        yield n, data, []


def _csv_row(row: dict[str, str], default_edition: int | None) -> dict[str, Any]:
    cells = {k: v.strip() for k, v in row.items()}  # a short row: the missing cells are not given
    given = {k: v for k, v in cells.items() if v != ""}
    applicant: dict[str, Any] = {}
    project: dict[str, Any] = {}
    for c in CSV_APPLICANT:
        if c in given:
            applicant[c] = [x.strip() for x in given[c].split(";") if x.strip()] if c in CSV_LISTS else given[c]
    for c in CSV_PROJECT:
        if c in given:
            project[c] = given[c]
    data: dict[str, Any] = {"applicant": applicant, "project": project}
    edition = given.get("edition", default_edition)
    if edition is not None:
        data["edition"] = edition
    if "documents" in given:
        regno = given.get("registration_number", "")
        docs = []
        for item in (x.strip() for x in given["documents"].split(";")):
            if item:
                kind, sep, ref = item.partition("=")
                docs.append(
                    {"kind": kind.strip(), "reference": ref.strip() if sep else f"import/{regno}/{kind.strip()}"}
                )
        data["documents"] = docs
    return data


def _names(columns: list[str], most: int = 5) -> str:
    """Columns the file named, as a refusal echoes them: a few, each bounded."""
    more = f" and {len(columns) - most} more" if len(columns) > most else ""
    return ", ".join(bounded(c) for c in columns[:most]) + more


def _rows_csv(text: str, default_edition: int | None) -> Iterable[tuple[int, dict[str, Any] | None, list[FieldError]]]:
    """Rows numbered as a spreadsheet shows them, the header being 1: a row whose quoted cells hold
    line breaks is one row, and a blank line is a row (skipped, but counted)."""
    # newline="": the csv module splits lines itself ("\r\n", "\n" or "\r"), quoted line breaks included.
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in next(reader, [])]
    except csv.Error as e:
        yield 1, None, [FieldError("header", f"not a readable CSV header: {e}", 1)]
        return
    problems = []
    twice = sorted({h for h in header if header.count(h) > 1})
    if twice:
        problems.append(FieldError("header", f"column(s) given twice: {_names(twice)}", 1))
    unknown = [h for h in header if h not in CSV_COLUMNS]
    if unknown:
        problems.append(FieldError("header", f"unknown column(s) {_names(unknown)}", 1))
    missing = [c for c in CSV_REQUIRED if c not in header]
    if "edition" not in header and default_edition is None:
        missing.append("edition (or --edition N)")
    if missing:
        problems.append(FieldError("header", f"missing column(s) {', '.join(missing)}", 1))
    if problems:
        yield 1, None, problems
        return
    n = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as e:  # e.g. a stray quote or line break: the rest of the file cannot be read
            yield n + 1, None, [FieldError("", f"malformed CSV: {e}", n + 1)]
            return
        n += 1
        if len(cells) > len(header):
            yield n, None, [FieldError("", f"{len(cells)} cells for {len(header)} columns", n)]
            continue
        if all(not c.strip() for c in cells):
            continue
        yield n, _csv_row(dict(zip(header, cells, strict=False)), default_edition), []


def read_import(
    path: Path, fmt: str | None, settings: EditionSettings | None, by: str, default_edition: int | None = None
) -> list[ImportLine]:
    """Validate every line of the file; nothing is started here."""
    kind = detect_format(path, fmt)
    try:
        # Bytes decoded as they are: no newline translation, which would rewrite a "\r" inside a
        # quoted CSV cell (the csv module handles line ends itself).
        text = Path(path).read_bytes().decode("utf-8-sig")
    except OSError as e:
        raise InputError.one("FILE", f"cannot read {path}: {e.strerror or e}") from None
    except UnicodeDecodeError:
        raise InputError.one("FILE", f"{path} is not UTF-8 text") from None
    rows = _rows_csv(text, default_edition) if kind == "csv" else _rows_jsonl(text)
    names = _CSV_NAMES if kind == "csv" else None
    lines: list[ImportLine] = []
    seen: dict[str, int] = {}
    for n, data, errors in rows:
        item = ImportLine(n, errors=list(errors))
        lines.append(item)
        if data is None:
            continue
        try:
            item.submission = ApplicationSubmission.model_validate(data)
        except ValidationError as e:
            item.errors = field_errors(e, names, n)
            continue
        try:
            item.input = application_input(item.submission, settings, by)
        except InputError as e:
            item.errors = [FieldError(x.field, x.message, n) for x in e.errors]
            continue
        app_id = item.submission.application_id
        if app_id in seen:
            item.duplicate_of = seen[app_id]
        else:
            seen[app_id] = n
    if not lines:
        raise InputError.one("FILE", f"{path} holds no application")
    return lines
