"""Property tests: malformed import files report each bad line with its field, and import nothing
unless asked (--partial).

`cli.imports.read_import` is what `starter.py import` runs before anything reaches Temporal: for any
mix of good and corrupted lines (a field replaced by a hostile value, broken JSON, garbage bytes,
unbalanced CSV quotes, huge cells), it names exactly the corrupted lines, each with a field or a
reason, and validates the good ones. The command itself, given a file it cannot use, says why and
exits without a traceback. That the CLI then starts nothing without --partial, and only the good
lines with it, against a real dev server: tests/cli/test_starter.py
(test_import_jsonl_with_a_bad_line_reports_it_and_starts_nothing).
"""

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from pydantic_core import to_json

from cli import imports
from domain.models import ApplicationSubmission
from simulation.factories import make_submission
from tests.domain.test_bad_input_models import leaf_paths, replaced
from tests.hostile import HOSTILE

ROOT = Path(__file__).resolve().parents[2]
CLOSED_PORT = "127.0.0.1:1"
PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def good_line(i: int) -> dict:
    return make_submission(f"IMP-{i:04d}").model_dump(mode="json")


@st.composite
def corrupted_line(draw, i: int) -> str:
    """A line the model refuses: a field replaced, broken JSON, or not an object."""
    base = good_line(i)
    kind = draw(st.sampled_from(["field", "json", "not-object"]))
    if kind == "json":
        return json.dumps(base)[: draw(st.integers(min_value=1, max_value=40))]
    if kind == "not-object":
        return json.dumps(draw(st.one_of(st.integers(), st.lists(st.integers(), max_size=2), st.text(max_size=10))))
    path = draw(st.sampled_from([p for p in leaf_paths(base) if p != ("edition",)]))
    data = replaced(base, path, draw(HOSTILE))
    try:
        line = to_json(data).decode()
        ApplicationSubmission.model_validate_json(line)
    except ValidationError:
        return line
    except Exception:  # noqa: BLE001 - not representable as JSON (NaN …): pick another example
        pass
    assume(False)
    return ""


@PROPERTY
@given(data=st.data(), n=st.integers(min_value=1, max_value=8))
def test_every_corrupted_jsonl_line_is_named_with_its_line_and_the_good_ones_validate(tmp_path_factory, data, n):
    bad = set(data.draw(st.sets(st.integers(min_value=1, max_value=n), min_size=1), label="bad lines"))
    lines = [
        data.draw(corrupted_line(i), label=f"line {i}") if i in bad else json.dumps(good_line(i))
        for i in range(1, n + 1)
    ]
    path = tmp_path_factory.mktemp("imp") / "apps.jsonl"
    path.write_text("\n".join(lines) + "\n", "utf-8")
    result = imports.read_import(path, None, None, "ops-import")
    assert {x.line for x in result if not x.ok} == bad
    assert all(x.input is not None for x in result if x.ok) and len(result) == n
    for x in result:
        for e in x.errors:
            assert e.line == x.line and e.message
            assert len(str(e)) < 5_000


GOOD = {
    "edition": "4",
    "registration_number": "ASSO-CSV-{i}",
    "name": "Asso",
    "legal_form": "association",
    "region_code": "07",
    "province": "Al Haouz",
    "rural": "yes",
    "sector": "handicrafts",
    "title": "T",
    "total_cost": "50000",
    "requested_amount": "40000",
    "own_contribution": "10000",
    "duration_months": "24",
}
CSV_HEADER = ["edition", *imports.CSV_REQUIRED]  # the columns the import requires, as it names them
CSV_GOOD = [GOOD[c] for c in CSV_HEADER]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), n=st.integers(min_value=1, max_value=6))
def test_every_corrupted_csv_cell_is_named_by_its_column_and_line(tmp_path_factory, data, n):
    bad: dict[int, str] = {}
    out = io.StringIO()
    # Every cell quoted, so a cell holding a line break stays one cell (as spreadsheets write them).
    w = csv.writer(
        out, lineterminator=data.draw(st.sampled_from(["\n", "\r\n"]), label="line ends"), quoting=csv.QUOTE_ALL
    )
    w.writerow(CSV_HEADER)
    for i in range(n):
        row = [c.format(i=i) for c in CSV_GOOD]
        if data.draw(st.booleans(), label=f"corrupt row {i}"):
            col = data.draw(st.sampled_from([c for c in CSV_HEADER if c != "edition"]), label="column")
            value = data.draw(
                st.one_of(
                    st.text(max_size=30),
                    st.text(min_size=2_001, max_size=2_500),
                    st.sampled_from(["-1", "1e309", "NaN", "maybe", "40000.001", "99", "٠٧"]),
                ),
                label="cell",
            )
            row[CSV_HEADER.index(col)] = value
            if _refused(tmp_path_factory, row):  # only cells the model refuses count as corrupted
                # the row as a spreadsheet numbers it (the header is 1), whatever line breaks its cells hold
                bad[i + 2] = col
        w.writerow(row)
    path = _write(tmp_path_factory, out.getvalue())
    result = imports.read_import(path, None, None, "ops-import")
    assert {x.line for x in result if not x.ok} == set(bad), [
        (x.line, [str(e)[:200] for e in x.errors]) for x in result
    ]
    for x in result:
        if not x.ok:
            assert x.errors and all(e.line == x.line and e.message for e in x.errors)


def _csv(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL).writerows(rows)
    return out.getvalue()


def _write(factory, text: str) -> Path:
    path = factory.mktemp("csv") / "apps.csv"
    path.write_text(text, "utf-8")
    return path


def _refused(factory, row: list[str]) -> bool:
    result = imports.read_import(_write(factory, _csv([CSV_HEADER, row])), None, None, "x")
    return not result[0].ok


def starter_import(path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": CLOSED_PORT,
        "SECRETS_FILE": "",
        "CODEC_KEYS": '{"k": "' + "A" * 43 + '="}',
    }
    return subprocess.run(
        [sys.executable, "starter.py", "import", str(path), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_files_the_import_cannot_use_are_refused_with_the_reason_and_no_traceback(tmp_path):
    cases = {
        "binary.jsonl": bytes(range(256)) * 4,  # not UTF-8
        "empty.jsonl": b"\n\n# only a comment\n",
        "quotes.csv": b'registration_number,name\n"ASSO-1,"unterminated\n',
        "nul.csv": b"registration_number\x00,name\nA,B\n",
        "what.xlsx": b"PK\x03\x04",
    }
    for name, content in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        run = starter_import(path, "--json")
        assert run.returncode in (1, 2), (name, run.returncode, run.stderr)
        assert "Traceback" not in run.stderr, (name, run.stderr)
        answer = json.loads(run.stdout)
        assert answer["accepted"] is False and answer["errors"], (name, answer)
        assert "cannot connect" not in run.stdout + run.stderr  # refused before any Temporal call
