"""Determinism: the golden histories (tests/golden, real runs of every lifecycle path) replay on the
current workflow code; a deliberately non-deterministic change fails with the SDK's message and
the event where it diverged; the CLI says so line by line and exits non-zero."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from activities.application import ApplicationActivities
from audit import events, histories, replay
from codec.keys import new_key
from domain.models import FINAL_STAGES
from infra.settings import Settings
from infra.temporal_connection import data_converter
from tests import golden_histories as golden
from tests.versioning.broken import BrokenApplicationWorkflow
from worker import WORKFLOWS
from workflows.application import ApplicationWorkflow

ROOT = Path(__file__).resolve().parents[2]

# Every input the application workflow accepts: the golden set must have received each.
UPDATES = {
    "submit_review",
    "assign_reviewers",
    "recuse",
    "decide",
    "cofunding_decision",
    "sign_agreement",
    "payment_result",
    "fix_bank_details",
    "approve_bank_details",
    "submit_report",
    "review_report",
    "complete_documents",
    "record_site_visit",
    "withdraw",
    "cancel",
    "terminate",
    "retry_payment_orders",
}


@pytest.fixture(scope="module")
def golden_histories():
    files = golden.golden_files()
    assert files, "no golden histories: run `make golden`"
    return [histories.load(p) for p in files]


@pytest.fixture(scope="module")
def golden_converter():
    return data_converter(golden.golden_settings())  # the golden histories' own test-only key


async def test_golden_histories_replay_on_the_current_code(golden_histories, golden_converter):
    outcomes = await replay.replay(golden_histories, replayer_=replay.replayer(converter=golden_converter))
    assert [o.line() for o in outcomes if not o.ok] == []
    assert len(outcomes) == len(golden_histories) >= 26


async def test_golden_set_covers_every_workflow_ending_input_and_activity(golden_histories, golden_converter):
    endings, inputs, steps, types = set(), set(), set(), set()
    for h in golden_histories:
        p = await events.parse(h, golden_converter)
        types.add(p.workflow_type)
        if p.workflow_type != "ApplicationWorkflow":
            continue
        inputs |= {u.name for u in p.updates}
        steps |= {a.name for a in p.activities if a.status == "completed"}
        if p.close == "completed":
            endings.add(p.close_detail["stage"])
    assert types == {w.__name__ for w in WORKFLOWS}  # every workflow the worker runs, the edition's too
    assert endings == {s.value for s in FINAL_STAGES}
    assert inputs == UPDATES
    assert steps == {fn.__name__ for fn in ApplicationActivities(None).all()}  # type: ignore[arg-type]


async def test_a_non_deterministic_change_fails_replay_naming_the_event(golden_histories, golden_converter):
    """The test-only BrokenApplicationWorkflow (same workflow name) adds a timer before each stage
    change: every golden history must fail, at the event where the history has the activity."""
    broken = replay.replayer([BrokenApplicationWorkflow], golden_converter)
    golden_histories = [
        h
        for h in golden_histories
        if not h.workflow_id.startswith(("moazara-edition-", "moazara-outbox", "moazara-digest", "moazara-archive"))
    ]
    outcomes = await replay.replay(golden_histories, replayer_=broken)
    assert outcomes and all(o.nondeterministic for o in outcomes), [o.line() for o in outcomes if o.ok]
    for o, h in zip(outcomes, golden_histories, strict=False):
        assert "Nondeterminism" in o.error
        assert o.event_id is not None
        # The event named is the first `record_stage` activity the history scheduled.
        first_stage = next(
            e.event_id
            for e in h.events
            if e.activity_task_scheduled_event_attributes.activity_type.name == "record_stage"
        )
        assert o.event_id == first_stage, o.line()
        assert o.line().startswith(
            f"NON-DETERMINISTIC {o.workflow_id} at event {o.event_id}: [TMPRL1100] Nondeterminism error"
        )
    # And the real class still replays them (the replayer holds no state across runs).
    again = await replay.replay(
        golden_histories[:2], replayer_=replay.replayer([ApplicationWorkflow], golden_converter)
    )
    assert all(o.ok for o in again)


def altered_history(good: Path) -> tuple[dict, int]:
    """An exported history saying a notice was sent where the code records a stage; that event's id."""
    altered = json.loads(good.read_text())
    for e in altered["events"]:
        attrs = e.get("activityTaskScheduledEventAttributes")
        if attrs and attrs["activityType"]["name"] == "record_stage":
            attrs["activityType"]["name"] = "send_notice"
            return altered, int(e["eventId"])
    raise AssertionError(f"{good} schedules no record_stage")


def test_replay_cli_one_line_per_workflow_a_total_and_the_exit_code(tmp_path):
    """An exported history whose recorded steps were altered: the CLI names it and exits 1."""
    good = golden.GOLDEN / "moazara-4-GOLD-REJ.json"
    altered, tampered_at = altered_history(good)
    (tmp_path / "moazara-4-ALTERED.json").write_text(json.dumps(altered))
    (tmp_path / good.name).write_text(good.read_text())
    env = {**os.environ, "SECRETS_FILE": str(golden.GOLDEN_SECRETS), "COLUMNS": "250"}
    run = subprocess.run(
        [sys.executable, "-m", "audit", "replay", str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 1, run.stdout + run.stderr
    assert f"ok                moazara-4-GOLD-REJ ({len(altered['events'])} events)" in run.stdout
    [line] = [ln for ln in run.stderr.splitlines() if ln.startswith("NON-DETERMINISTIC")]
    assert line.startswith(f"NON-DETERMINISTIC moazara-4-ALTERED at event {tampered_at}: ")
    assert "send_notice" in line and "record_stage" in line
    assert "total: 2 replayed, 1 ok, 1 non-deterministic, 0 could not replay" in run.stdout


async def test_replay_with_the_right_key_id_but_the_wrong_key_says_decryption_failed(golden_histories):
    wrong = Settings(
        secrets_file=None, codec_keys={"golden-test-only": new_key()}, codec_encrypt_key="golden-test-only"
    )
    [outcome] = await replay.replay(
        golden_histories[:1], replayer_=replay.replayer(converter=data_converter(wrong, accept_clear=True))
    )
    assert not outcome.ok
    assert "could not be decrypted with key 'golden-test-only'" in outcome.line()


def test_replay_cli_on_two_processes_answers_as_one_in_the_same_order(tmp_path):
    """Enough histories for the pool (audit/replay_pool.py): with --jobs 2 and --jobs 1 the same
    outcomes, in the files' order, the altered history named at its event, exit 1; a file that is
    not a history among them is named before anything replays (exit 2)."""
    good = [p for p in golden.golden_files() if p.parent == golden.GOLDEN][:9]
    for p in good:
        (tmp_path / p.name).write_text(p.read_text())
    altered, tampered_at = altered_history(good[0])
    (tmp_path / "moazara-4-ALTERED.json").write_text(json.dumps(altered))
    env = {**os.environ, "SECRETS_FILE": str(golden.GOLDEN_SECRETS), "COLUMNS": "250"}

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "audit", "replay", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    two, one = cli("--jobs", "2", "--json", str(tmp_path)), cli("--jobs", "1", "--json", str(tmp_path))
    assert two.returncode == one.returncode == 1, two.stderr + one.stderr
    assert json.loads(two.stdout) == json.loads(one.stdout)
    answer = json.loads(two.stdout)
    assert [w["workflow_id"] for w in answer["workflows"]] == [p.stem for p in histories.files([tmp_path])]
    assert answer["total"] == 10 and answer["failed"] == 1
    [bad] = [w for w in answer["workflows"] if w["status"] != "ok"]
    assert (bad["workflow_id"], bad["status"], bad["event_id"]) == (
        "moazara-4-ALTERED",
        "non-deterministic",
        tampered_at,
    )

    (tmp_path / "moazara-4-ZZ-NOT.json").write_text('{"events": "not a list"}')
    refused = cli("--jobs", "2", str(tmp_path))
    assert refused.returncode == 2
    assert "moazara-4-ZZ-NOT.json: not a workflow history" in refused.stderr
    assert "ok " not in refused.stdout  # nothing replayed
