"""The ops CLI (starter.py) run for real, as officers run it: a subprocess against a Temporal dev
server started here, with a worker on a SQLite domain database.

The dev server and the worker start once for the module; each test uses its own applicants.
Inputs that must be refused before Temporal are sent with TEMPORAL_ADDRESS pointing at a closed
port: had the CLI tried to connect, it would have failed differently (exit 1, "cannot connect").
"""

import asyncio
import csv
import dataclasses
import hashlib
import json
import os
import sys
import uuid
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio import workflow
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities.edition import EditionActivities
from cli import actions, imports, updates
from domain.db.repository import Repository
from domain.db.session import make_engine, migrate
from domain.edition import Criterion, edition_4_settings
from domain.edition_messages import EditionInput, EditionStatus, edition_workflow_id
from domain.models import ApplicationInput, ApplicationStatus, Stage
from infra.actor_header import ActorHeader
from infra.settings import Settings
from infra.temporal_connection import data_converter
from infra.vault import bank_accounts
from simulation.dev_server import DEV_SERVER
from simulation.driver import reach
from simulation.factories import make_submission, settings_with, valid_rib
from simulation.waiting import until
from worker import build_worker
from workflows.application import ApplicationWorkflow

ROOT = Path(__file__).resolve().parents[2]
CLOSED_PORT = "127.0.0.1:1"  # nothing listens there
FULL_SCORES = ",".join(f"{c.value}=7" for c in Criterion)


@dataclass
class Stack:
    client: Client
    address: str
    settings: Settings
    workdir: Path


@dataclass
class Run:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err

    def json(self):
        return json.loads(self.out)


@pytest_asyncio.fixture(scope="module")
async def stack(tmp_path_factory, executor):
    workdir = tmp_path_factory.mktemp("starter")
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(DEV_SERVER), data_converter=data_converter(), interceptors=[ActorHeader()]
    )
    url = f"sqlite:///{workdir / 'moazara.db'}"
    engine = make_engine(url)
    migrate(engine)
    settings = Settings(
        temporal_address=env.client.service_client.config.target_host,
        task_queue=f"starter-{uuid.uuid4().hex[:8]}",
        database_url=url,
        max_concurrent_activities=8,  # the shared executor's threads
        documents_dir=str(workdir / "documents"),  # the store the CLI keeps scans in (DOCUMENTS_DIR below)
    )
    try:
        async with build_worker(env.client, Repository(engine), settings, executor):
            yield Stack(env.client, settings.temporal_address, settings, workdir)
    finally:
        await env.shutdown()
        engine.dispose()


async def cli(stack: Stack, *args: str, address: str | None = None) -> Run:
    """Run `python starter.py ARGS` as an officer would (without blocking the worker's event loop)."""
    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": address or stack.address,
        "TEMPORAL_NAMESPACE": "default",
        "TEMPORAL_TLS": "false",
        "TASK_QUEUE": stack.settings.task_queue,
        "DATABASE_URL": stack.settings.database_url,
        "DOCUMENTS_DIR": str(stack.workdir / "documents"),
        "COLUMNS": "200",
    }
    env.pop("TEMPORAL_API_KEY", None)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "starter.py",
        *args,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    return Run(proc.returncode, out.decode(), err.decode())


def regno(prefix: str = "ASSO") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8].upper()}"


def write(stack: Stack, name: str, content: str) -> str:
    path = stack.workdir / f"{uuid.uuid4().hex[:6]}-{name}"
    path.write_text(content, "utf-8")
    return str(path)


async def status_of(stack: Stack, app_id: str) -> ApplicationStatus:
    return await stack.client.get_workflow_handle(app_id).query("get_status", result_type=ApplicationStatus)


async def submitted(stack: Stack, prefix: str = "ASSO", **kw) -> str:
    """Submit a valid application through the CLI; wait until it waits for its reviews."""
    sub = make_submission(regno(prefix), **kw)
    r = await cli(stack, "submit", write(stack, "app.json", sub.model_dump_json()))
    assert r.code == 0, r.text
    await reach(stack.client.get_workflow_handle(sub.application_id), Stage.REVIEW)
    return sub.application_id


async def exists(stack: Stack, app_id: str) -> bool:
    try:
        await stack.client.get_workflow_handle(app_id).describe()
    except RPCError as e:
        assert e.status == RPCStatusCode.NOT_FOUND
        return False
    return True


# --- The CLI and the workflow agree -------------------------------------------------------------------


def test_every_cli_action_is_an_update_of_the_workflow_with_its_model():
    defn = workflow._Definition.from_class(ApplicationWorkflow)
    assert defn.name == actions.WORKFLOW
    assert actions.STATUS_QUERY in defn.queries
    for name, action in updates.ACTIONS.items():
        update = defn.updates.get(action.update)
        assert update is not None, f"{name}: no update {action.update!r}"
        assert update.arg_types == [action.model], name


# --- Submission and status --------------------------------------------------------------------------------


async def test_submit_from_json_file_then_status_shows_review(stack):
    sub = make_submission(regno())
    data = json.loads(sub.model_dump_json())
    data["project"]["total_cost"] = 50000.50  # a JSON number with a fraction: read as Decimal, never float
    path = write(stack, "app.json", json.dumps(data))

    r = await cli(stack, "submit", path, "--by", "officer-amina")
    assert r.code == 0, r.text
    assert "accepted" in r.out and sub.application_id in r.out

    await reach(stack.client.get_workflow_handle(sub.application_id), Stage.REVIEW)
    r = await cli(stack, "status", sub.application_id)
    assert r.code == 0, r.text
    assert "review" in r.out and "2 reviews" in r.out

    r = await cli(stack, "status", sub.application_id, "--history", "--json")
    assert r.code == 0, r.text
    s = r.json()
    assert s["application_id"] == sub.application_id and s["stage"] == "review"
    assert "2 reviews" in s["waiting_for"] and s["since"] and s["until"]
    assert s["award"] == "0.00"  # money as a Decimal string
    assert [h["stage"] for h in s["history"]][:1] == ["submitted"]


async def test_same_file_submitted_twice_is_refused(stack):
    path = write(stack, "app.json", make_submission(regno()).model_dump_json())
    first = await cli(stack, "submit", path)
    assert first.code == 0, first.text

    again = await cli(stack, "submit", path)
    assert again.code == 1
    assert "refused" in again.err and "already" in again.err

    as_json = await cli(stack, "submit", path, "--json")
    assert as_json.code == 1
    answer = as_json.json()
    assert answer["accepted"] is False and "already" in answer["reason"]


async def test_submit_refuses_an_edition_without_settings_before_temporal(stack):
    path = write(stack, "app.json", make_submission(regno(), edition=7).model_dump_json())
    r = await cli(stack, "submit", path, address=CLOSED_PORT)
    assert r.code == 2, r.text
    assert "edition" in r.err and "no built-in settings for edition 7" in r.err and "--settings" in r.err

    # With the edition's settings given, it goes through.
    settings = edition_4_settings().model_copy(update={"edition": 7}).model_dump_json()
    r = await cli(stack, "submit", path, "--settings", write(stack, "edition7.json", settings))
    assert r.code == 0, r.text


async def test_submit_names_the_bad_field_of_the_file(stack):
    data = json.loads(make_submission(regno()).model_dump_json())
    data["applicant"]["province"] = "Atlantis"
    r = await cli(stack, "submit", write(stack, "app.json", json.dumps(data)), address=CLOSED_PORT)
    assert r.code == 2
    assert "applicant.province" in r.err and "Atlantis" not in r.err  # named by its rule, never echoed


async def test_status_of_an_unknown_id_is_a_clear_error(stack):
    r = await cli(stack, "status", "moazara-4-NOBODY")
    assert r.code == 1
    assert "no application with id moazara-4-NOBODY" in r.err
    r = await cli(stack, "status", "moazara-4-NOBODY", "--json")
    assert r.code == 1 and r.json()["accepted"] is False


# --- Ops actions -----------------------------------------------------------------------------------------


async def test_review_with_a_missing_criterion_is_refused_before_temporal(stack):
    app_id = await submitted(stack)
    r = await cli(stack, "review", app_id, "--reviewer", "r1", "--scores", "innovation=7,jobs=8", address=CLOSED_PORT)
    assert r.code == 2, r.text
    assert "scores" in r.err and "missing" in r.err
    assert "connect" not in r.text  # never tried to reach Temporal
    assert (await status_of(stack, app_id)).reviews == 0


@pytest.mark.parametrize(
    "args, field",
    [
        (["decide", "--decision", "selected", "--award", "40000.123", "--by", "committee"], "award"),
        (
            ["decide", "--decision", "selected", "--award", "40000", "--funder", "ministry=30000", "--by", "c"],
            "funders",
        ),
        (["decide", "--decision", "maybe", "--by", "committee"], "decision"),
        (["cofunding", "--region", "2x", "--approve", "--by", "council"], "region_code"),
        (["payment", "--order", "k", "--attempt", "0", "--executed"], "attempt"),
        (["sign", "--by", "officer", "--on", "2024-13-01", "--rib", valid_rib(1)], "signed_on"),
        (["cancel", "--by", "officer"], "reason"),
        (["terminate", "--by", "officer", "--reason", "fraud", "--recover", "-5"], "amount_to_recover"),
        (["report", "--period", "1", "--women", "-1"], "indicators.women"),
        (["documents", "--doc", "passport=DMS-1"], "documents"),
    ],
)
async def test_bad_values_are_refused_naming_the_field_before_temporal(stack, args, field):
    r = await cli(stack, args[0], "moazara-4-ANY", *args[1:], address=CLOSED_PORT)
    assert r.code == 2, r.text
    assert field in r.err and "nothing was sent" in r.err


async def test_a_bad_rib_is_refused_and_never_echoed_in_clear(stack):
    bad = valid_rib(77)[:-2] + ("00" if valid_rib(77)[-2:] != "00" else "01")
    r = await cli(
        stack, "sign", "moazara-4-ANY", "--by", "o", "--on", "2024-02-01", "--rib", bad, "--json", address=CLOSED_PORT
    )
    assert r.code == 2
    answer = r.json()
    assert answer["accepted"] is False and answer["errors"][0]["field"].startswith("bank_account")
    assert bad not in r.text


async def test_review_refused_by_the_workflow_exits_1_with_its_reason(stack):
    app_id = await submitted(stack)
    applicant = app_id.removeprefix("moazara-4-")

    r = await cli(
        stack, "review", app_id, "--reviewer", "r-conflict", "--organisation", applicant, "--scores", FULL_SCORES
    )
    assert r.code == 1, r.text
    assert r.err.startswith("refused:") and "conflict of interest" in r.err

    r = await cli(
        stack,
        "review",
        app_id,
        "--reviewer",
        "r-conflict",
        "--organisation",
        applicant,
        "--scores",
        FULL_SCORES,
        "--json",
    )
    assert r.code == 1
    assert r.json()["accepted"] is False and "conflict of interest" in r.json()["reason"]

    r = await cli(stack, "review", app_id, "--reviewer", "r-ok", "--scores", FULL_SCORES, "--json")
    assert r.code == 0, r.text
    answer = r.json()
    assert answer["accepted"] is True and "review by r-ok recorded" in answer["message"] and answer["stage"] == "review"


async def test_update_of_an_unknown_id_is_a_clear_error(stack):
    r = await cli(stack, "withdraw", "moazara-4-NOBODY", "--by", "officer")
    assert r.code == 1
    assert "no application with id moazara-4-NOBODY" in r.err


async def test_an_application_from_review_to_first_payment(stack, tmp_path):
    app_id = await submitted(stack)
    for reviewer in ("r1", "r2"):
        r = await cli(stack, "review", app_id, "--reviewer", reviewer, "--scores", FULL_SCORES)
        assert r.code == 0, r.text
    await reach(stack.client.get_workflow_handle(app_id), Stage.COMMITTEE)

    r = await cli(
        stack, "decide", app_id, "--decision", "selected", "--award", "40000", "--by", "committee", "--rank", "3"
    )
    assert r.code == 0, r.text
    assert "selected" in r.out
    issued = await reach(stack.client.get_workflow_handle(app_id), Stage.AGREEMENT)
    assert issued.agreement_version == 1 and issued.agreement_sha256
    r = await cli(stack, "status", app_id)
    assert f"version 1, sha256 {issued.agreement_sha256}" in r.out

    rib = valid_rib(4242)
    signing = ("sign", app_id, "--by", "officer-amina", "--on", "2024-02-01", "--rib", rib)
    not_a_scan = write(stack, "scan.txt", "signed, honestly")
    r = await cli(stack, *signing, "--scan", not_a_scan, address=CLOSED_PORT)  # refused before Temporal
    assert r.code == 2 and "scan_sha256 (--scan): the scan is not a PDF, PNG or JPEG file" in r.err, r.text
    other = hashlib.sha256(b"an agreement never issued").hexdigest()
    r = await cli(stack, *signing, "--agreement-sha256", other)
    assert r.code == 1 and f"agreement_sha256: {other} is not the agreement issued" in r.err, r.text
    scan = stack.workdir / "signed.png"
    scan.write_bytes(b"\x89PNG\r\n\x1a\n" + b"the signed agreement, scanned" * 10)
    r = await cli(stack, *signing, "--scan", str(scan))  # names the agreement issued: read from the status
    assert r.code == 0, r.text
    assert rib not in r.text

    s = await reach(stack.client.get_workflow_handle(app_id), Stage.DISBURSEMENT)
    [order] = s.orders
    r = await cli(
        stack, "payment", app_id, "--order", order.key, "--attempt", "1", "--executed", "--reference", "PAY-1"
    )
    assert r.code == 0, r.text
    assert "24000.00 MAD" in r.out

    await reach(stack.client.get_workflow_handle(app_id), Stage.MONITORING)
    r = await cli(stack, "pdf", app_id, "--list", "--json")  # what the workflow issued and received
    assert r.code == 0, r.text
    listed = [(d["kind"], d["version"], d["sha256"], d["content_type"], d["recorded_by"]) for d in r.json()]
    scan_sha = hashlib.sha256(scan.read_bytes()).hexdigest()
    assert (
        listed[:2]
        == [
            ("agreement", 1, issued.agreement_sha256, "application/pdf", "workflow"),
            ("signed_scan", 1, scan_sha, "image/png", actions.CLI_ACTOR.id),  # who sent it: the CLI's actor
        ]
        and [d["order_key"] for d in r.json()[2:]] == [order.key]
    )  # the payment advice of the tranche paid
    r = await cli(stack, "status", app_id, "--json")
    s = r.json()
    assert s["stage"] == "monitoring" and s["paid_total"] == "24000.00" and s["funders"] == {"ministry": "40000.00"}
    r = await cli(stack, "status", app_id)
    assert "24000.00" in r.out and order.key in r.out and rib not in r.text

    # The same payment result again is refused by the workflow, with its reason.
    r = await cli(stack, "payment", app_id, "--order", order.key, "--attempt", "1", "--executed")
    assert r.code == 1 and r.err.startswith("refused:") and "not awaiting a result" in r.err

    # An input given as a file, options overriding it.
    visit = tmp_path / "visit.json"
    visit.write_text(json.dumps({"visited_on": "2024-03-01", "visitor": "someone", "findings": "workshop running"}))
    r = await cli(stack, "site-visit", app_id, "--file", str(visit), "--visitor", "officer-karim", "--json")
    assert r.code == 0, r.text
    assert r.json()["message"] == "site visit of 2024-03-01 recorded"

    r = await cli(stack, "withdraw", app_id, "--by", "applicant", "--reason", "moved away")
    assert r.code == 0, r.text
    assert "withdrawn" in r.out
    r = await cli(stack, "cancel", app_id, "--by", "officer", "--reason", "late")
    assert r.code == 1 and ("closed" in r.err)


# --- Bulk import -------------------------------------------------------------------------------------------


async def test_import_jsonl_with_a_bad_line_reports_it_and_starts_nothing(stack):
    good1, good2 = make_submission(regno()), make_submission(regno())
    bad = json.loads(make_submission(regno()).model_dump_json())
    bad["project"]["requested_amount"] = "40000.999"
    bad["applicant"]["rural"] = "maybe"  # two errors on one line: one refused line
    lines = [good1.model_dump_json(), json.dumps(bad), "", good2.model_dump_json()]
    path = write(stack, "apps.jsonl", "\n".join(lines) + "\n")

    r = await cli(stack, "import", path)
    assert r.code == 1, r.text
    assert "line 2" in r.err and "project.requested_amount" in r.err and "nothing started" in r.err
    assert not await exists(stack, good1.application_id) and not await exists(stack, good2.application_id)

    r = await cli(stack, "import", path, "--json")
    assert r.code == 1
    answer = r.json()
    assert answer["accepted"] is False
    assert sorted((e["line"], e["field"]) for e in answer["errors"]) == [
        (2, "applicant.rural"),
        (2, "project.requested_amount"),
    ]

    # --partial starts the good lines and refuses the bad one.
    r = await cli(stack, "import", path, "--partial", "--json")
    assert r.code == 0, r.text
    summary = r.json()
    assert summary["counts"] == {"started": 2, "duplicates": 0, "refused": 1}  # lines, not errors
    assert len(summary["refused"]) == 2
    assert sorted(summary["started"]) == sorted([good1.application_id, good2.application_id])


async def test_import_csv_starts_all_then_list_shows_them(stack):
    subs = [make_submission(regno("CSV")) for _ in range(3)]
    path = stack.workdir / f"{uuid.uuid4().hex[:6]}-apps.csv"
    # The required columns and some optional ones, as the import names them.
    header = [*imports.CSV_REQUIRED, "jobs_created", "beneficiaries", "women", "youth", "documents", "bank_account"]
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=header)
        w.writeheader()
        for s in subs:
            cells = {**s.applicant.model_dump(mode="json"), **s.project.model_dump(mode="json")}
            documents = ";".join(d.kind.value for d in s.documents)
            w.writerow({**{c: cells[c] for c in header if c in cells}, "rural": "yes", "documents": documents})

    r = await cli(stack, "import", str(path), "--edition", "4")
    assert r.code == 0, r.text
    assert "started" in r.out
    ids = sorted(s.application_id for s in subs)
    for app_id in ids:
        await reach(stack.client.get_workflow_handle(app_id), Stage.REVIEW)

    async def rows() -> dict:
        r = await cli(stack, "list", "--edition", "4", "--json")
        assert r.code == 0, r.text
        return {row["id"]: row for row in r.json()}

    # the worker records submissions asynchronously
    listed = await until(rows, lambda got: all(i in got and got[i]["stage"] == "review" for i in ids), "all in review")
    assert all(listed[i]["edition"] == 4 and listed[i]["award"] == "0.00" for i in ids)

    r = await cli(stack, "list", "--edition", "4", "--stage", "review", "--region", "07")
    assert r.code == 0 and all(i in r.out for i in ids)
    r = await cli(stack, "list", "--stage", "nowhere")
    assert r.code == 2 and "stage" in r.err

    # The same file again: every line a duplicate, not an error.
    r = await cli(stack, "import", str(path), "--edition", "4", "--json")
    assert r.code == 0, r.text
    assert r.json()["counts"] == {"started": 0, "duplicates": 3, "refused": 0}


async def test_csv_errors_name_the_column_and_line(stack):
    path = write(
        stack,
        "apps.csv",
        (
            "edition,registration_number,name,legal_form,region_code,province,rural,sector,title,total_cost,"
            "requested_amount,own_contribution,duration_months\n"
            "4,ASSO-CSV-OK,Asso,association,07,Al Haouz,yes,handicrafts,T,50000,40000,10000,24\n"
            "4,ASSO-CSV-BAD,Asso,association,07,Al Haouz,maybe,handicrafts,T,50000,40000,10000,24\n"
            "9,ASSO-CSV-ED9,Asso,association,07,Al Haouz,no,handicrafts,T,50000,40000,10000,24\n"
        ),
    )
    r = await cli(stack, "import", path, "--json", address=CLOSED_PORT)
    assert r.code == 1
    errors = {(e["line"], e["field"]) for e in r.json()["errors"]}
    assert errors == {(3, "rural"), (4, "edition")}

    r = await cli(stack, "import", write(stack, "x.csv", "registration_number,colour\nA-1,blue\n"), address=CLOSED_PORT)
    assert r.code == 1 and "line 1" in r.err and "colour" in r.err and "missing column" in r.err


# --- The async functions, called directly ------------------------------------------------------------------


async def test_start_many_counts_duplicates(stack):
    settings = edition_4_settings()
    subs = [make_submission(regno("MANY")) for _ in range(5)]
    inps = [ApplicationInput(settings=settings, submission=s, submitted_by="test") for s in subs]
    first = await actions.start_many(
        stack.client, inps[:3], stack.settings.task_queue, concurrency=2, vault=bank_accounts(stack.settings)
    )
    assert len(first.started) == 3 and not first.duplicates and not first.failed
    second = await actions.start_many(
        stack.client, inps, stack.settings.task_queue, concurrency=2, vault=bank_accounts(stack.settings)
    )
    assert sorted(second.duplicates) == sorted(s.application_id for s in subs[:3])
    assert sorted(second.started) == sorted(s.application_id for s in subs[3:])


@asynccontextmanager
async def open_edition(stack: Stack, n: int, prefix: str):
    """An edition open today on the stack's worker, with n new applicants' submissions; closed after."""
    today = datetime.now(UTC).date()
    number = 30 + uuid.uuid4().int % 60
    settings = settings_with(
        edition=number, call_opens=today - timedelta(days=1), call_closes=today + timedelta(days=20)
    )
    edition = await stack.client.start_workflow(
        "EditionWorkflow",
        EditionInput(settings=settings, opened_by="officer"),
        id=edition_workflow_id(number),
        task_queue=stack.settings.task_queue,
    )
    subs = [make_submission(regno(prefix), edition=number) for _ in range(n)]
    try:
        yield settings, edition, subs
    finally:
        await edition.terminate("test over")
        for s in subs:
            try:
                await stack.client.get_workflow_handle(s.application_id).terminate("test over")
            except RPCError:  # never started, or already closed
                pass


async def test_start_many_through_an_open_edition_sends_batches_and_counts_each_once(stack):
    async with open_edition(stack, 7, "BATCH") as (settings, edition, subs):
        inps = [ApplicationInput(settings=settings, submission=s, submitted_by="test") for s in subs]
        first = await actions.start_many(
            stack.client, inps[:2], stack.settings.task_queue, batch_size=3, vault=bank_accounts(stack.settings)
        )
        assert sorted(first.started) == sorted(s.application_id for s in subs[:2])
        seen: list = []
        # Seven, two of them already in, the last one twice: three batches of three.
        again = await actions.start_many(
            stack.client,
            inps + inps[-1:],
            stack.settings.task_queue,
            batch_size=3,
            on_done=seen.append,
            vault=bank_accounts(stack.settings),
        )
        assert sorted(again.started) == sorted(s.application_id for s in subs[2:])
        assert sorted(again.duplicates) == sorted([s.application_id for s in subs[:2]] + [subs[-1].application_id])
        assert not again.failed and len(seen) == 8
        status = await edition.query("get_status", result_type=EditionStatus)
        assert (status.submissions, status.duplicates) == (7, 3)
        for s in subs:
            assert (await status_of(stack, s.application_id)).application_id == s.application_id


async def test_import_into_an_open_edition_goes_in_batches_and_counts_duplicates(stack):
    async with open_edition(stack, 5, "IMP") as (settings, edition, subs):
        path = write(stack, "edition.jsonl", "\n".join(s.model_dump_json() for s in subs))
        settings_path = write(stack, "settings.json", settings.model_dump_json())
        r = await cli(stack, "import", path, "--settings", settings_path, "--batch-size", "0")
        assert r.code == 2 and "--batch-size" in r.err
        r = await cli(stack, "import", path, "--settings", settings_path, "--batch-size", "2", "--json")
        assert r.code == 0, r.text
        assert r.json()["counts"] == {"started": 5, "duplicates": 0, "refused": 0}
        r = await cli(stack, "import", path, "--settings", settings_path, "--batch-size", "2", "--json")
        assert r.code == 0 and r.json()["counts"] == {"started": 0, "duplicates": 5, "refused": 0}, r.text
        status = await edition.query("get_status", result_type=EditionStatus)
        assert (status.submissions, status.duplicates) == (5, 5)
        # Three batches of the five, then three more for the repeat: the edition's history holds six.
        accepted = [
            e
            async for e in edition.fetch_history_events()
            if e.HasField("workflow_execution_update_accepted_event_attributes")
        ]
        names = [e.workflow_execution_update_accepted_event_attributes.accepted_request.input.name for e in accepted]
        assert names == ["submit_batch"] * 6


async def test_a_retried_batch_answers_its_own_starts_as_accepted_and_others_as_duplicates(stack):
    """The activity's second attempt (its worker died after starting) must not call its own starts
    duplicates; another activity's starts stay duplicates. (On the dev server: on the time-skipping
    server, workflows started on a queue without a worker held later tests' time skipping, even
    once terminated.)"""
    settings = edition_4_settings().model_copy(update={"edition": 90 + uuid.uuid4().int % 9})
    subs = [make_submission(regno("RETRY"), edition=settings.edition) for _ in range(2)]
    acts = EditionActivities(None, stack.client)  # type: ignore[arg-type] - starting needs no database
    base = ActivityEnvironment().info
    queue = f"nowhere-{uuid.uuid4().hex[:6]}"  # no worker: the started workflows just wait

    def attempt(n: int, activity_id: str) -> ActivityEnvironment:
        env = ActivityEnvironment()
        env.info = dataclasses.replace(
            base, attempt=n, activity_id=activity_id, workflow_run_id="run-1", task_queue=queue
        )
        return env

    first = await attempt(1, "7").run(acts.start_applications, settings, "edition-wf", subs[:1])
    assert [a.accepted for a in first] == [True]
    again = await attempt(2, "7").run(acts.start_applications, settings, "edition-wf", subs)
    assert [a.accepted for a in again] == [True, True]
    other = await attempt(2, "9").run(acts.start_applications, settings, "edition-wf", subs)
    assert [a.accepted for a in other] == [False, False]
    assert all("already has an application" in a.message for a in other)
    for sub in subs:
        await stack.client.get_workflow_handle(sub.application_id).terminate("test over")


async def test_send_update_answers_refuses_and_knows_unknown_ids(stack):
    app_id = await submitted(stack)
    review = updates.build("review", None, {"reviewer_id": "r9", "scores": {c.value: "6" for c in Criterion}})
    ok = await actions.send_update(stack.client, app_id, "submit_review", review)
    assert ok.accepted and ok.stage == "review"
    again = await actions.send_update(stack.client, app_id, "submit_review", review)
    assert not again.accepted and "already reviewed" in again.reason
    with pytest.raises(actions.NotFound):
        await actions.send_update(stack.client, "moazara-4-NOBODY", "submit_review", review)
    assert (await actions.get_status(stack.client, app_id)).reviews == 1
    assert Decimal((await actions.get_status(stack.client, app_id)).award) == 0


async def test_edition_status_shows_each_envelope_size_lent_committed_paid_and_left(stack):
    async with open_edition(stack, 0, "ENV") as (settings, edition, _):
        # the edition records itself in the database on its first step
        r = await until(
            lambda: cli(stack, "edition", "status", str(settings.edition), "--json"),
            lambda r: r.code == 0 and r.json()["envelopes"],
            "the edition's envelopes listed",
        )
        lines = {x["envelope"]: x for x in r.json()["envelopes"]}
        national = settings.ministry_envelope - settings.priority_envelope
        assert lines["ministry"]["size"] == str(national) and lines["ministry"]["left"] == str(national)
        assert lines["ministry-priority"]["size"] == str(settings.priority_envelope)
        assert {x["committed"] for x in lines.values()} == {"0.00"} and set(lines) >= {"region-02", "region-03"}
        r = await cli(stack, "edition", "status", str(settings.edition))
        assert r.code == 0 and f"Envelopes of edition {settings.edition}" in r.out
        assert "lent" in r.out and "left" in r.out


async def test_stored_text_with_markup_is_shown_as_typed_and_never_breaks_the_cli(stack):
    """A reason holding rich markup and emoji codes is stored as typed and printed as typed (it
    crashed `status --history` for good before)."""
    app_id = await submitted(stack)
    reason = '[/x] [bold red]urgent[/] :bomb: =HYPERLINK("x")'
    r = await cli(stack, "withdraw", app_id, "--by", "officer-7", "--reason", reason)
    assert r.code == 0, r.text
    assert (await status_of(stack, app_id)).stage == Stage.WITHDRAWN
    r = await cli(stack, "status", app_id, "--history")
    assert r.code == 0, r.text
    assert "[/x] [bold red]urgent[/] :bomb:" in r.out and "💣" not in r.out


@pytest.mark.parametrize(
    "name, why",
    [
        ("Association\x00 Al Amal", "control character (U+0000)"),
        ("Association \u202eLAMA LA", "bidirectional override (U+202E)"),
        ("\u200b\u200c\u200b", "no visible character"),
    ],
)
async def test_a_name_no_person_should_store_is_refused_at_submit_naming_the_field(stack, name, why):
    submission = make_submission(regno())
    sub = submission.model_dump(mode="json")
    sub["applicant"]["name"] = name
    r = await cli(stack, "submit", write(stack, "bad-name.json", json.dumps(sub)), "--json")
    assert r.code == 2, r.text
    [error] = r.json()["errors"]
    assert error["field"] == "applicant.name" and why in error["message"]
    assert not await exists(stack, submission.application_id)


async def test_a_key_given_twice_non_utf8_or_deeply_nested_files_exit_2_naming_what(stack):
    sub = make_submission(regno()).model_dump_json()
    twice = sub.replace('"registration_number":', '"registration_number": "ASSO-OTHER-1", "registration_number":', 1)
    r = await cli(stack, "submit", write(stack, "twice.json", twice), "--json", address=CLOSED_PORT)
    assert r.code == 2, r.text
    assert r.json()["errors"][0]["field"] == "registration_number" and "twice" in r.json()["errors"][0]["message"]
    latin1 = stack.workdir / "latin1.json"
    latin1.write_bytes(b'{"name": "Associ\xe9"}')
    r = await cli(stack, "submit", str(latin1), "--json", address=CLOSED_PORT)
    assert r.code == 2 and "not UTF-8" in r.json()["errors"][0]["message"], r.text
    deep = write(stack, "deep.json", "[" * 50_000 + "]" * 50_000)
    for command in (["submit", deep], ["edition", "open", "4", "--settings", deep]):
        r = await cli(stack, *command, "--json", address=CLOSED_PORT)
        assert r.code == 2 and "nested too deeply" in r.text and "Traceback" not in r.err, r.text
    lines = write(stack, "twice.jsonl", sub + "\n" + twice + "\n")
    r = await cli(stack, "import", lines, "--json", address=CLOSED_PORT)
    assert r.code == 1 and r.json()["errors"] == [
        {"line": 2, "field": "registration_number", "message": "given twice in the same object"}
    ], r.text
    header = "registration_number,registration_number,name\nA,B,C\n"
    r = await cli(stack, "import", write(stack, "twice.csv", header), "--json", address=CLOSED_PORT)
    assert r.code == 1 and "given twice: registration_number" in r.text, r.text


async def test_values_that_used_to_crash_the_cli_exit_2_naming_the_field(stack):
    r = await cli(stack, "status", "", address=CLOSED_PORT)
    assert r.code == 2 and "is not an application id" in r.err and "WorkflowId" not in r.text, r.text
    r = await cli(
        stack, "decide", "moazara-4-ANY", "--decision", "selected", "--award", "1e26", "--by", "c", "--json",
        address=CLOSED_PORT,
    )  # fmt: skip
    assert r.code == 2 and r.json()["errors"][0]["field"].startswith("award") and "Traceback" not in r.err, r.text
    r = await cli(stack, "edition", "open", "4", "--by", "x" * 500, "--json", address=CLOSED_PORT)
    assert r.code == 2 and "--by" in r.text and "Traceback" not in r.err, r.text


async def test_reviewer_profiles_and_assignment_commands(stack):
    """`users reviewer` writes the profile assignment reads; `assign-reviewers` and `recuse` are the
    workflow's updates: an open edition (edition 4 here) answers with its rule, a bad option exits 2."""
    r = await cli(stack, "users", "reviewer", "salma", "--sector", "handicrafts", "--link", "ASSO-LINKED", "--json")
    assert r.code == 0, r.text
    assert r.json()["sectors"] == ["handicrafts"] and r.json()["declared_links"] == ["ASSO-LINKED"]
    repo = Repository(make_engine(stack.settings.database_url))
    assert repo.reviewer_pool()["salma"].declared_links == ("ASSO-LINKED",)
    r = await cli(stack, "users", "reviewer", "salma", "--sector", "fishing")
    assert r.code == 2 and "sectors.0 (--sector): Input should be" in r.err

    app_id = await submitted(stack)
    r = await cli(stack, "assign-reviewers", app_id, "--reviewer", "salma", "--by", "officer-nadia")
    assert r.code == 1 and "review_assignment: in this edition reviewers take a free seat themselves" in r.err
    r = await cli(stack, "recuse", app_id, "--reviewer", "salma", "--by", "salma")
    assert r.code == 2 and "--reason" in r.err


# --- Smaller findings of issue 14 ----------------------------------------------------------------------


async def test_a_utf8_bom_is_accepted_by_submit_as_by_import(stack):
    sub = make_submission(regno())
    path = stack.workdir / f"{uuid.uuid4().hex[:6]}-bom.json"
    path.write_text(sub.model_dump_json(), "utf-8-sig")  # as Windows editors and spreadsheets save
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    r = await cli(stack, "submit", str(path), "--json")
    assert r.code == 0 and r.json()["accepted"] is True, r.text
    await reach(stack.client.get_workflow_handle(sub.application_id), Stage.REVIEW)


async def test_a_total_cost_below_the_request_and_contribution_is_reported_against_total_cost(stack):
    data = json.loads(make_submission(regno()).model_dump_json())
    data["project"]["total_cost"] = "100.00"  # requested 40,000 + own 10,000
    r = await cli(stack, "submit", write(stack, "small.json", json.dumps(data)), "--json", address=CLOSED_PORT)
    assert r.code == 2, r.text
    [error] = r.json()["errors"]
    assert error["field"] == "project.total_cost" and "less than the requested amount" in error["message"]


async def test_a_bad_csv_cell_is_reported_on_the_row_a_spreadsheet_shows(stack):
    header = "edition,registration_number,name,legal_form,region_code,province,rural,sector,title,summary,"
    header += "total_cost,requested_amount,own_contribution,duration_months"
    row = "4,{regno},Asso,association,07,Al Haouz,{rural},handicrafts,T,{summary},50000,40000,10000,24"
    text = "\r\n".join(
        [
            header,  # row 1
            row.format(regno=regno(), rural="yes", summary='"two lines:\nof summary"'),  # row 2, lines 2-3
            "",  # row 3: blank, skipped
            row.format(regno=regno(), rural="maybe", summary="one line"),  # row 4, line 5
            row.format(regno=regno(), rural="no", summary='"a\r\nb\rc"'),  # row 5
            row.format(regno=regno(), rural="no", summary="x").replace(",T,", ",,"),  # row 6: no title
        ]
    )
    r = await cli(stack, "import", write(stack, "rows.csv", text), "--json", address=CLOSED_PORT)
    assert r.code == 1, r.text
    assert {(e["line"], e["field"]) for e in r.json()["errors"]} == {(4, "rural"), (6, "title")}


async def test_unknown_values_are_echoed_as_a_short_prefix_only(stack):
    huge = "Z" * 5000
    data = json.loads(make_submission(regno()).model_dump_json())
    data["K" * 5000] = 1
    files = {
        "cols": write(stack, "cols.csv", f"registration_number,{huge},{huge}Y\nA,B,C\n"),
        "unknown key": write(stack, "key.json", json.dumps(data)),
        "twice": write(stack, "twice.json", json.dumps(data)[:-1] + f', "{huge}": 1, "{huge}": 2}}'),
    }
    cases = [
        ("list", "--stage", huge),
        ("list", "--region", huge),
        ("import", files["cols"], "--format", huge),
        ("import", files["cols"]),
        ("submit", files["unknown key"]),
        ("submit", files["twice"]),
        ("status", huge),
        ("review", "moazara-4-ANY", "--reviewer", "r", "--scores", huge),
    ]
    for args in cases:
        r = await cli(stack, *args, address=CLOSED_PORT)
        assert r.code in (1, 2) and "Traceback" not in r.err, (args[:2], r.text[:300])
        assert "Z" * 41 not in r.text and "K" * 41 not in r.text and "…" in r.text, (args[:2], r.text[:300])
        assert len(r.text) < 1200, (args[:2], len(r.text))


async def test_messages_list_and_resend(stack):
    """The outbox seen from the terminal: a submission's message is listed; only a dead one resends."""
    app_id = await submitted(stack)
    r = await cli(stack, "messages", "list", "--application", app_id, "--json")
    assert r.code == 0, r.text
    (received,) = [m for m in r.json() if m["kind"] == "submission_received"]
    assert received["state"] in ("pending", "sent", "undeliverable")
    r = await cli(stack, "messages", "resend", received["id"])
    assert r.code == 1 and "no dead message" in r.err
    assert (await cli(stack, "messages", "list", "--state", "lost")).code == 2


async def test_a_partner_subscribes_to_webhooks_from_the_cli(stack):
    r = await cli(
        stack, "webhooks", "set", "region-02", "--url", "https://cr-oriental.ma/moazara", "--key-id", "cr02",
        "--receives", "region-02", "--json",
    )  # fmt: skip
    assert r.code == 0, r.text
    assert r.json() == {
        "name": "region-02", "url": "https://cr-oriental.ma/moazara", "key_id": "cr02", "receives": ["region-02"],
        "active": True,
    }  # fmt: skip
    r = await cli(
        stack, "webhooks", "set", "portal", "--url", "https://p.ma/x", "--key-id", "p", "--receives", "everyone"
    )
    assert r.code == 2 and "--receives" in r.err


async def test_pdf_documents_of_a_selected_application_in_both_languages(stack, tmp_path):
    app_id = await submitted(stack)
    r = await cli(stack, "pdf", app_id)
    assert r.code == 1 and "no award" in r.err
    Repository(make_engine(stack.settings.database_url)).set_award(app_id, {"ministry": Decimal("40000.00")})
    r = await cli(stack, "pdf", app_id, "--json")
    assert r.code == 0, r.text
    written = r.json()
    assert sorted((d["kind"], d["language"]) for d in written) == [
        ("agreement", "ar"), ("agreement", "fr"), ("award_letter", "ar"), ("award_letter", "fr"),
    ]  # fmt: skip
    for d in written:
        content = Path(d["path"]).read_bytes()
        assert Path(d["path"]).is_relative_to(stack.workdir)  # the store the settings name
        assert content.startswith(b"%PDF") and hashlib.sha256(content).hexdigest() == d["sha256"]
    assert (await cli(stack, "pdf", app_id, "--language", "de")).code == 2
