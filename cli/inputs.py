"""Options and files -> validated domain models, before anything reaches Temporal.

Every problem is a `FieldError` naming the field (and the option or CSV column it came from);
a command that gets any raises `InputError` and sends nothing. Amounts stay strings or
`Decimal` all the way into pydantic: JSON numbers with a fraction are parsed as `Decimal`,
never float.
"""

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from domain.documents import MAX_SCAN_BYTES
from domain.edition import EditionSettings, edition_4_settings, edition_5_settings
from domain.errors import bounded, located, shown
from domain.models import (
    ApplicationInput,
    ApplicationSubmission,
)
from infra import strict_json

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


def field_errors(
    err: ValidationError, names: Mapping[str, str] | None = None, line: int | None = None
) -> list[FieldError]:
    """One FieldError per pydantic error. Model-level validators of the domain prefix their
    message with the field ("requested_amount: …"): that prefix becomes the field.
    `names` maps a dotted model path to what the user typed (an option, a CSV column)."""
    out: list[FieldError] = []
    for e in err.errors(include_url=False, include_input=False):  # no input: it may be a bank account
        loc, msg = located(e["loc"], e["msg"])
        out.append(FieldError(_display(".".join(loc), names), msg, line))
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
    """Strict JSON (infra/strict_json.py): Decimal numbers, no key twice, bounded nesting."""
    return strict_json.loads(text)


def read_json(path: Path, what: str = "file") -> Any:
    try:
        text = Path(path).read_text("utf-8-sig")  # a UTF-8 BOM is accepted, as by `import`
    except OSError as e:
        raise InputError.one(what, f"cannot read {path}: {e.strerror or e}") from None
    except UnicodeDecodeError as e:
        raise InputError.one(what, f"{path} is not UTF-8 text (byte {e.start})") from None
    try:
        return loads(text)
    except json.JSONDecodeError as e:
        raise InputError.one(what, f"{path} is not valid JSON: {e.msg} (line {e.lineno}, column {e.colno})") from None
    except strict_json.NotStrictJson as e:
        raise InputError.one(e.field or what, f"{path}: {e}") from None


def kept_scan(path: Path | None, what: str = "scan_sha256 (--scan)") -> str | None:
    """The SHA-256 of the signed scan at `path`, once checked (a PDF, PNG or JPEG of at most 10 MB,
    by its first bytes) and kept in the document store (DOCUMENTS_DIR, or the bucket); None without one."""
    if path is None:
        return None
    from documents.issue import keep_scan  # WeasyPrint's modules load only for the commands that need them
    from documents.store import open_store
    from infra.settings import get_settings

    try:
        with Path(path).open("rb") as f:
            content = f.read(MAX_SCAN_BYTES + 1)
    except OSError as e:
        raise InputError.one(what, f"cannot read {path}: {e.strerror or e}") from None
    try:
        return keep_scan(open_store(get_settings()), content)
    except ValueError as e:
        raise InputError.one(what, str(e)) from None


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
                raise InputError.one(field, f"{shown(item)} is not {what}")
            key = key.strip()
            if key in out:
                raise InputError.one(field, f"{bounded(key)} is given twice")
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
    try:
        return str(d.quantize(Decimal("0.01")))
    except ArithmeticError:  # too many digits to write with two decimals: pydantic names the field
        return value


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
