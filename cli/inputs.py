"""Options and files -> validated domain models, before anything reaches Temporal.

Every problem is a `FieldError` naming the field (and the option or CSV column it came from);
a command that gets any raises `InputError` and sends nothing. Amounts stay strings or
`Decimal` all the way into pydantic: JSON numbers with a fraction are parsed as `Decimal`,
never float.
"""

import csv
import io
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from domain.edition import Criterion, EditionSettings, edition_4_settings, edition_5_settings
from domain.models import (
    AgreementSigned,
    ApplicationInput,
    ApplicationSubmission,
    BankDetailsFixed,
    Cancellation,
    CoFundingDecision,
    CommitteeDecision,
    DocumentsCompleted,
    PaymentResult,
    PaymentRetry,
    ProgressReport,
    ReportReview,
    Review,
    SiteVisit,
    Stage,
    Termination,
    Withdrawal,
)
from workflows.names import ApplicationUpdate as U

BUILT_IN_EDITIONS = {4: edition_4_settings, 5: edition_5_settings}


@dataclass(frozen=True)
class FieldError:
    field: str  # dotted path in the model ("applicant.province"), or the CSV column
    message: str
    line: int | None = None  # for imports: the line of the file

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line is not None else ""
        return f"{where}{self.field}: {self.message}" if self.field else f"{where}{self.message}"

    def as_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"field": self.field, "message": self.message}
        if self.line is not None:
            d = {"line": self.line, **d}
        return d


class InputError(Exception):
    """Bad input: nothing was sent to Temporal (exit code 2)."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(map(str, errors)))
        self.errors = errors

    @classmethod
    def one(cls, field: str, message: str) -> "InputError":
        return cls([FieldError(field, message)])


# --- Pydantic errors -> field errors --------------------------------------------------------------

_PREFIXED = re.compile(r"^([a-z_][a-z0-9_]*): (.+)$", re.S)


def field_errors(
    err: ValidationError, names: Mapping[str, str] | None = None, line: int | None = None
) -> list[FieldError]:
    """One FieldError per pydantic error. Model-level validators of the domain prefix their
    message with the field ("requested_amount: …"): that prefix becomes the field.
    `names` maps a dotted model path to what the user typed (an option, a CSV column)."""
    out: list[FieldError] = []
    for e in err.errors(include_url=False, include_input=False):  # no input: it may be a bank account
        loc = [str(p) for p in e["loc"] if p != "[key]"]
        msg = e["msg"]
        if e["type"] == "value_error":
            msg = msg.removeprefix("Value error, ")
        m = _PREFIXED.match(msg)
        if m:
            if not loc or loc[-1] != m[1]:
                loc.append(m[1])
            msg = m[2]
        path = ".".join(loc)
        out.append(FieldError(_display(path, names), msg, line))
    return out


def _display(path: str, names: Mapping[str, str] | None) -> str:
    """`names` maps a model path to what the user typed: an option ("--scores": shown as
    "scores.jobs (--scores)") or, for CSV, a column ("project.total_cost" -> "total_cost")."""
    if not names:
        return path
    # the longest known prefix of the path: "documents.0.kind" -> "documents"
    parts = path.split(".")
    for n in range(len(parts), 0, -1):
        key = ".".join(parts[:n])
        if key in names:
            name = names[key]
            return f"{path} ({name})" if name.startswith("--") else name
    return path


def validate(model: type[BaseModel], data: Mapping[str, Any], names: Mapping[str, str] | None = None) -> Any:
    try:
        return model.model_validate(dict(data))
    except ValidationError as e:
        raise InputError(field_errors(e, names)) from None


# --- Files ---------------------------------------------------------------------------------------


def loads(text: str) -> Any:
    """JSON with every fractional number as Decimal (never float)."""
    return json.loads(text, parse_float=Decimal)


def read_json(path: Path, what: str = "file") -> Any:
    try:
        text = Path(path).read_text("utf-8")
    except OSError as e:
        raise InputError.one(what, f"cannot read {path}: {e.strerror or e}") from None
    try:
        return loads(text)
    except json.JSONDecodeError as e:
        raise InputError.one(what, f"{path} is not valid JSON: {e.msg} (line {e.lineno}, column {e.colno})") from None


def read_json_object(path: Path | None, what: str = "--file") -> dict[str, Any]:
    if path is None:
        return {}
    data = read_json(path, what)
    if not isinstance(data, dict):
        raise InputError.one(what, f"{path} must hold a JSON object")
    return data


def deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """`over` wins; nested objects are merged; None in `over` means "not given"."""
    out = dict(base)
    for k, v in over.items():
        if v is None:
            continue
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
            out[k] = deep_merge(out[k], v)
        elif isinstance(v, Mapping):
            out[k] = deep_merge({}, v)
        else:
            out[k] = v
    return out


# --- Option parsing --------------------------------------------------------------------------------


def parse_pairs(values: Iterable[str] | None, field: str, what: str) -> dict[str, str] | None:
    """`["a=1,b=2", "c=3"]` -> {"a": "1", "b": "2", "c": "3"}; None when no option was given."""
    if not values:
        return None
    out: dict[str, str] = {}
    for value in values:
        for item in value.split(","):
            item = item.strip()
            if not item:
                continue
            key, sep, val = item.partition("=")
            if not sep or not key.strip() or not val.strip():
                raise InputError.one(field, f"{item!r} is not {what}")
            key = key.strip()
            if key in out:
                raise InputError.one(field, f"{key} is given twice")
            out[key] = val.strip()
    return out


def amount(value: str | None) -> str | None:
    """An amount option as typed, written with two decimals when it is a plain number of MAD with
    at most two decimals ("40000" -> "40000.00"); anything else is left for pydantic to refuse."""
    if value is None:
        return None
    v = value.strip().replace(" ", "")
    try:
        d = Decimal(v)
    except ArithmeticError:
        return value
    if not d.is_finite() or d.as_tuple().exponent < -2:  # type: ignore[operator]
        return value
    return str(d.quantize(Decimal("0.01")))


def amounts(values: Mapping[str, str] | None) -> dict[str, str] | None:
    return None if values is None else {k: amount(v) for k, v in values.items()}  # type: ignore[misc]


def parse_documents(values: Iterable[str] | None, field: str = "documents (--doc)") -> list[dict[str, str]] | None:
    pairs = parse_pairs(values, field, "kind=reference")
    return None if pairs is None else [{"kind": k, "reference": v} for k, v in pairs.items()]


# --- Edition settings ------------------------------------------------------------------------------


def load_settings(path: Path | None) -> EditionSettings | None:
    if path is None:
        return None
    data = read_json(path, "--settings")
    try:
        return EditionSettings.model_validate(data)
    except ValidationError as e:
        errors = field_errors(e)
        raise InputError([FieldError(f"--settings {x.field}".strip(), x.message) for x in errors]) from None


def settings_for(edition: int, given: EditionSettings | None) -> EditionSettings:
    """The edition's settings: the --settings file, or the built-in ones for editions 4 and 5."""
    if given is not None:
        if given.edition != edition:
            raise ValueError(f"the --settings file is for edition {given.edition}, not {edition}")
        return given
    make = BUILT_IN_EDITIONS.get(edition)
    if make is None:
        built_in = ", ".join(map(str, BUILT_IN_EDITIONS))
        raise ValueError(f"no built-in settings for edition {edition} (built in: {built_in}); pass --settings FILE")
    return make()


def application_input(submission: ApplicationSubmission, settings: EditionSettings | None, by: str) -> ApplicationInput:
    try:
        edition_settings = settings_for(submission.edition, settings)
    except ValueError as e:
        raise InputError.one("edition", str(e)) from None
    return validate(
        ApplicationInput,
        {"settings": edition_settings, "submission": submission, "submitted_by": by},
        {"submitted_by": "--by"},
    )


def read_submission(path: Path) -> ApplicationSubmission:
    data = read_json(path, "FILE")
    if not isinstance(data, dict):
        raise InputError.one("FILE", f"{path} must hold one JSON object (an application)")
    return validate(ApplicationSubmission, data)


# --- Ops actions: one update each -------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    update: U  # the workflow's update (workflows/names.py)
    model: type[BaseModel]
    options: dict[str, str]  # model field (dotted) -> option name, for messages

    def names(self) -> dict[str, str]:
        return self.options


ACTIONS: dict[str, Action] = {
    "documents": Action(U.COMPLETE_DOCUMENTS, DocumentsCompleted, {"documents": "--doc", "submitted_by": "--by"}),
    "review": Action(
        U.SUBMIT_REVIEW,
        Review,
        {
            "reviewer_id": "--reviewer",
            "reviewer_organisation": "--organisation",
            "declared_links": "--link",
            "scores": "--scores",
            "comment": "--comment",
        },
    ),
    "decide": Action(
        U.DECIDE,
        CommitteeDecision,
        {
            "decision": "--decision",
            "award": "--award",
            "funders": "--funder",
            "rank": "--rank",
            "honorary_award": "--honorary",
            "decided_by": "--by",
            "reason": "--reason",
        },
    ),
    "cofunding": Action(
        U.COFUNDING_DECISION,
        CoFundingDecision,
        {
            "region_code": "--region",
            "approved": "--approve/--decline",
            "amount": "--amount",
            "decided_by": "--by",
            "reason": "--reason",
        },
    ),
    "sign": Action(
        U.SIGN_AGREEMENT, AgreementSigned, {"signed_by": "--by", "signed_on": "--on", "bank_account": "--rib"}
    ),
    "payment": Action(
        U.PAYMENT_RESULT,
        PaymentResult,
        {
            "order_key": "--order",
            "attempt": "--attempt",
            "executed": "--executed/--rejected",
            "reference": "--reference",
            "reason": "--reason",
        },
    ),
    "fix-bank": Action(U.FIX_BANK_DETAILS, BankDetailsFixed, {"bank_account": "--rib", "fixed_by": "--by"}),
    "retry-payments": Action(U.RETRY_PAYMENT_ORDERS, PaymentRetry, {"requested_by": "--by", "reason": "--reason"}),
    "report": Action(
        U.SUBMIT_REPORT,
        ProgressReport,
        {
            "period": "--period",
            "narrative": "--narrative",
            "submitted_by": "--by",
            **{
                f"indicators.{f}": f"--{f.replace('_', '-')}"
                for f in ("jobs_created", "jobs_kept", "beneficiaries", "women", "youth", "revenue", "spend")
            },
        },
    ),
    "review-report": Action(
        U.REVIEW_REPORT,
        ReportReview,
        {"period": "--period", "approved": "--approve/--reject", "decided_by": "--by", "reason": "--reason"},
    ),
    "site-visit": Action(
        U.RECORD_SITE_VISIT, SiteVisit, {"visited_on": "--on", "visitor": "--visitor", "findings": "--findings"}
    ),
    "withdraw": Action(U.WITHDRAW, Withdrawal, {"requested_by": "--by", "reason": "--reason"}),
    "cancel": Action(U.CANCEL, Cancellation, {"cancelled_by": "--by", "reason": "--reason"}),
    "terminate": Action(
        U.TERMINATE, Termination, {"terminated_by": "--by", "reason": "--reason", "amount_to_recover": "--recover"}
    ),
}


def build(action: str, file: Path | None, values: Mapping[str, Any]) -> BaseModel:
    """The action's model from `--file` (if any) overridden by the options given; validated."""
    spec = ACTIONS[action]
    data = deep_merge(read_json_object(file), values)
    model = validate(spec.model, data, spec.names())
    check = _EXTRA_CHECKS.get(action)
    if check:
        check(model)
    return model


def _check_review(review: Review) -> None:
    # The edition's grid has one weight per criterion (EditionSettings enforces it): every one is scored.
    missing = [c.value for c in Criterion if c not in review.scores]
    if missing:
        raise InputError.one("scores (--scores)", f"one score per criterion of the grid; missing {', '.join(missing)}")


_EXTRA_CHECKS = {"review": _check_review}


def parse_stage(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return Stage(value.strip().lower()).value
    except ValueError:
        raise InputError.one(
            "stage (--stage)", f"unknown stage {value!r}; one of {', '.join(s.value for s in Stage)}"
        ) from None


def parse_region(value: str | None) -> str | None:
    if value is None:
        return None
    v = value.strip()
    if not re.fullmatch(r"\d{1,2}", v):
        raise InputError.one("region_code (--region)", f"{value!r} is not a region code (two digits, e.g. 02)")
    return v.zfill(2)


# --- Bulk import ---------------------------------------------------------------------------------------

# CSV columns -> where they go in an ApplicationSubmission. Empty cells mean "not given".
CSV_APPLICANT = (
    "registration_number",
    "name",
    "legal_form",
    "region_code",
    "province",
    "rural",
    "bank_account",
    "email",
    "phone",
    "declared_links",
)
CSV_PROJECT = (
    "title",
    "sector",
    "summary",
    "total_cost",
    "requested_amount",
    "own_contribution",
    "duration_months",
    "jobs_created",
    "jobs_kept",
    "beneficiaries",
    "women",
    "youth",
)
CSV_COLUMNS = ("edition", *CSV_APPLICANT, *CSV_PROJECT, "documents")
CSV_REQUIRED = (
    "registration_number",
    "name",
    "legal_form",
    "region_code",
    "province",
    "rural",
    "sector",
    "title",
    "total_cost",
    "requested_amount",
    "own_contribution",
    "duration_months",
)
CSV_LISTS = ("declared_links",)  # semicolon-separated

CSV_HELP = (
    "CSV: a header line, then one application per line; columns in any order, an empty cell means not given.\n\n"
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
            raise InputError.one("--format", f"{fmt!r} is not csv or jsonl")
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
        if not isinstance(data, dict):
            yield n, None, [FieldError("", "not a JSON object (one application per line)", n)]
            continue
        yield n, data, []


def _csv_row(row: dict[str, str], default_edition: int | None) -> dict[str, Any]:
    cells = {k.strip(): (v or "").strip() for k, v in row.items() if k is not None}
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


def _rows_csv(text: str, default_edition: int | None) -> Iterable[tuple[int, dict[str, Any] | None, list[FieldError]]]:
    # newline="": the csv module splits lines itself ("\r\n", "\n" or "\r"), quoted line breaks included.
    physical = io.StringIO(text, newline="").readlines()
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in (reader.fieldnames or [])]
    except csv.Error as e:
        yield 1, None, [FieldError("header", f"not a readable CSV header: {e}", 1)]
        return
    problems = []
    unknown = [h for h in header if h not in CSV_COLUMNS]
    if unknown:
        problems.append(FieldError("header", f"unknown column(s) {', '.join(unknown)}", 1))
    missing = [c for c in CSV_REQUIRED if c not in header]
    if "edition" not in header and default_edition is None:
        missing.append("edition (or --edition N)")
    if missing:
        problems.append(FieldError("header", f"missing column(s) {', '.join(missing)}", 1))
    if problems:
        yield 1, None, problems
        return
    end = reader.line_num  # the header's last physical line
    rows = iter(reader)
    while True:
        try:
            row = next(rows)
        except StopIteration:
            break
        except csv.Error as e:  # e.g. a stray quote or line break: the rest of the file cannot be read
            yield reader.line_num, None, [FieldError("", f"malformed CSV: {e}", reader.line_num)]
            return
        # The row's first physical line, where ops look for it: past the blank lines the reader
        # skipped, and not its last one (a quoted cell may hold line breaks).
        n = end + 1
        while n < reader.line_num and not physical[n - 1].strip():
            n += 1
        end = reader.line_num
        if None in row:  # more cells than header columns
            yield n, None, [FieldError("", f"{len(header) + len(row[None])} cells for {len(header)} columns", n)]
            continue
        if all(not (v or "").strip() for v in row.values()):
            continue
        yield n, _csv_row(row, default_edition), []


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
