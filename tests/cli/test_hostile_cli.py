"""The ops CLI (starter.py) given every class of hostile input (tests/hostile.py), as an officer's
script could give it: in an option, in a JSON file (`submit FILE`, an action's `--file`), as bytes
that are not UTF-8 (a file, or the command line itself, which Python reads with surrogateescape).

Each class is a hypothesis property over the CLI's fields of its kinds, run through the CLI's own
entry point (starter.app's command, click's CliRunner: the same parsing, validation and output as
a subprocess, in this process, so that many examples stay cheap) against the module's dev server and
worker (tests/cli/test_starter.py's stack). A refused value: exit 2, the field named on stderr,
nothing echoed beyond a short prefix, no traceback, and nothing changed (the parked application's
status and row, no application started). Markup, SQL and formulas are text a person may write:
stored as typed and shown as typed by `status --history` (no markup read, nothing crashing).
"""

import asyncio
import json
import os
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer
from click.testing import CliRunner

import starter
from cli import actions
from domain.db.repository import Repository
from domain.db.session import make_engine
from domain.edition import edition_4_settings
from domain.errors import ECHO_LIMIT
from domain.models import ApplicationInput, Stage
from infra.settings import get_settings
from infra.vault import bank_accounts
from simulation.driver import reach
from simulation.factories import make_submission
from tests.cli.test_starter import FULL_SCORES, Run, Stack, regno, stack  # noqa: F401 - stack is the fixture
from tests.hostile import CLASSES, RIB, door_property

RUNNER = CliRunner()
COMMAND = typer.main.get_command(starter.app)  # what `python starter.py` runs (built once: typer builds it per call)
PARKED = "@ID"  # stands for the parked application's id in a command


def typed(on: Stack, *args: str) -> Run:
    """`starter.py ARGS` through its entry point, with the environment an officer's shell gives it."""
    env = {
        "TEMPORAL_ADDRESS": on.address,
        "TEMPORAL_NAMESPACE": "default",
        "TEMPORAL_TLS": "false",
        "TASK_QUEUE": on.settings.task_queue,
        "DATABASE_URL": on.settings.database_url,
        "DOCUMENTS_DIR": str(on.workdir / "documents"),
    }
    get_settings.cache_clear()  # a process reads its environment once: each command here is a process
    actions.bank_accounts.cache_clear()
    result = RUNNER.invoke(COMMAND, list(args), env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"starter.py {args!r:.300} raised {result.exception!r}") from result.exception
    return Run(result.exit_code, result.stdout, result.stderr)


def unwrapped(text: str) -> str:
    """Text as a table shows it, without the table: a long value wraps inside its cell, across lines
    and borders, so spaces, line breaks and box-drawing characters are left out on both sides."""
    return re.sub(r"[\s\u2500-\u257f]", "", text)


@dataclass(frozen=True)
class Slot:
    """A field of the CLI: its kind, what a refusal must name, and the command that sends `value` there."""

    kind: str
    named: str
    command: Callable[[Any], list[str]]
    typed: bool = True  # an option (text); False: a value of a JSON file
    shown: bool = False  # stored, it is shown by `status --history`


def option(command: str, *args: str) -> Callable[[Any], list[str]]:
    """`command @ID ARGS`, "{}" in ARGS standing for the value."""
    return lambda v: [command, PARKED, *(v if a == "{}" else a for a in args)]


VALID = make_submission("ASSO-SLOTS").model_dump(mode="json")
SUBMISSION_FIELDS = {
    ("applicant", "name"): "name",
    ("project", "title"): "name",
    ("applicant", "province"): "id",  # one of the reference list's: anything else is refused
    ("applicant", "registration_number"): "id",
    ("project", "total_cost"): "amount",
    ("project", "duration_months"): "count",
    ("applicant", "rural"): "flag",
    ("applicant", "bank_account"): "rib",
}


def submission(path: tuple[str, str] | None = None, value: Any = None, *, remove: bool = False) -> dict:
    """A valid submission of a new applicant, the field at `path` replaced by `value` (or removed)."""
    data = json.loads(json.dumps(VALID))
    data["applicant"]["registration_number"] = regno("HOST")
    if path and remove:
        del data[path[0]][path[1]]
    elif path:
        data[path[0]][path[1]] = value
    return data


def submit(path: tuple[str, str], *, remove: bool = False) -> Callable[[Any], list[Any]]:
    return lambda v: ["submit", submission(path, v, remove=remove)]


SLOTS = [
    Slot("name", "reason (--reason)", option("withdraw", "--by", "officer-7", "--reason", "{}"), shown=True),
    Slot("name", "requested_by (--by)", option("withdraw", "--by", "{}", "--reason", "moved"), shown=True),
    Slot("name", "cancelled_by (--by)", option("cancel", "--by", "{}", "--reason", "duplicate")),
    Slot("name", "visitor (--visitor)", option("site-visit", "--on", "2024-03-01", "--visitor", "{}")),
    Slot("text", "findings (--findings)", option("site-visit", "--on", "2024-03-01", "--visitor", "x", "--findings", "{}")),
    Slot("text", "comment (--comment)", option("review", "--reviewer", "r9", "--scores", FULL_SCORES, "--comment", "{}")),
    Slot("text", "narrative (--narrative)", option("report", "--period", "1", "--narrative", "{}")),
    Slot("amount", "award (--award)", option("decide", "--decision", "selected", "--award", "{}", "--by", "c")),
    Slot("amount", "amount_to_recover (--recover)", option("terminate", "--by", "o", "--reason", "r", "--recover", "{}")),
    Slot("amount", "amount (--amount)", option("cofunding", "--region", "02", "--approve", "--amount", "{}", "--by", "c")),
    Slot("amount", "revenue (--revenue)", option("report", "--period", "1", "--revenue", "{}")),
    Slot("count", "--rank", option("decide", "--decision", "waitlisted", "--rank", "{}", "--by", "c")),
    Slot("count", "--period", option("report", "--period", "{}")),
    Slot("date", "signed_on (--on)", option("sign", "--by", "o", "--on", "{}", "--rib", RIB)),
    Slot("date", "visited_on (--on)", option("site-visit", "--on", "{}", "--visitor", "x")),
    Slot("rib", "bank_account (--rib)", option("sign", "--by", "o", "--on", "2024-03-01", "--rib", "{}")),
    Slot("rib", "bank_account (--rib)", option("fix-bank", "--by", "f", "--rib", "{}")),
    # Options left out, an option that does not exist, a key --file does not take.
    Slot("missing", "reason (--reason)", lambda _: ["cancel", PARKED, "--by", "o"]),
    Slot("missing", "signed_on (--on)", lambda _: ["sign", PARKED, "--by", "o", "--rib", RIB]),
    Slot("unknown", "--{}", lambda name: ["withdraw", PARKED, f"--{name}", "x", "--by", "o", "--reason", "r"]),
    Slot("unknown", "{}", lambda name: ["withdraw", PARKED, "--file", {"reason": "moved", "requested_by": "o", name: 1}]),
    # Bytes that are not UTF-8: in a file, and on the command line (read with surrogateescape).
    Slot("bytes", "FILE", lambda raw: ["submit", (submission(("applicant", "name"), "@@"), raw)]),
    Slot("bytes", "--file", lambda raw: ["withdraw", PARKED, "--file", ({"reason": "@@", "requested_by": "o"}, raw)]),
    Slot("bytes", "reason (--reason)", lambda raw: ["withdraw", PARKED, "--by", "o", "--reason", "ok " + os.fsdecode(raw)]),
    # A submission's JSON file: its fields, a field left out or added.
    *(Slot(kind, ".".join(path), submit(path), typed=False) for path, kind in SUBMISSION_FIELDS.items()),
    *(
        Slot("missing", ".".join(path), submit(path, remove=True), typed=False)
        for path in (("applicant", "name"), ("applicant", "province"), ("project", "requested_amount"))
    ),
    Slot("unknown", "applicant.{}", lambda name: ["submit", submission(("applicant", name), 1)], typed=False),
]  # fmt: skip
# What an unknown field's drawn name must not be: an option every action has, a field it takes.
TAKEN = {"by", "reason", "file", "json", "timeout", "help", "f", "requested_by", *VALID["applicant"]}


def _file(on: Stack, content: Any) -> str:
    """A file holding `content`: a JSON document, or (document, raw) with raw bytes in place of "@@"."""
    path = on.workdir / f"hostile-{uuid.uuid4().hex[:8]}.json"
    if isinstance(content, tuple):
        document, raw = content
        path.write_bytes(json.dumps(document).encode().replace(b"@@", raw))
    else:
        path.write_text(json.dumps(content), "utf-8")
    return str(path)


def argv(on: Stack, app_id: str, command: list[Any]) -> list[str]:
    return [app_id if a == PARKED else _file(on, a) if isinstance(a, dict | tuple) else a for a in command]


def new_application(command: list[Any]) -> str | None:
    """The application a `submit` command would start."""
    if command[0] != "submit":
        return None
    document = command[1][0] if isinstance(command[1], tuple) else command[1]
    return f"moazara-4-{document['applicant']['registration_number']}"


@dataclass
class Parked:
    stack: Stack
    app_id: str
    repo: Repository
    loop: asyncio.AbstractEventLoop

    def run(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=120)

    def rows(self) -> tuple:
        """What the domain database says: the parked application's row, how many applications."""
        return self.repo.get_application(self.app_id), len(self.repo.list_applications(limit=100_000))


async def start(on: Stack) -> str:
    sub = make_submission(regno("HOST"))
    inp = ApplicationInput(settings=edition_4_settings(), submission=sub, submitted_by="ops")
    vault = bank_accounts(on.settings)
    await actions.start_application(on.client, inp, on.settings.task_queue, via_edition=False, vault=vault)
    await reach(on.client.get_workflow_handle(sub.application_id), Stage.REVIEW)
    return sub.application_id


@pytest.fixture(scope="module")
async def parked(stack):  # noqa: F811 - the fixture imported above
    """An application waiting for its reviews, which no refused command may change."""
    engine = make_engine(stack.settings.database_url)
    yield Parked(stack, await start(stack), Repository(engine), asyncio.get_running_loop())
    engine.dispose()


def refused(p: Parked, slot: Slot, value: Any) -> None:
    command = slot.command(value)
    before = p.rows()
    r = typed(p.stack, *argv(p.stack, p.app_id, command))
    named = slot.named.replace("{}", str(value))
    assert r.code == 2, (command[:3], r.text[:500])
    assert named in r.err, (named, r.err[:500])
    assert len(r.err) < 2_000 and "Traceback" not in r.text, r.err[:500]
    if isinstance(value, str) and len(value.strip()) > ECHO_LIMIT:
        assert value.strip() not in r.text, "a refusal echoes the value"
    assert p.rows() == before, "a refused command changed the database"
    if new_id := new_application(command):
        assert p.repo.get_application(new_id) is None


def stored_and_shown(p: Parked, slot: Slot, value: str) -> None:
    """Markup is text: a new application withdrawn with it, then its history shown as typed."""
    app_id = p.run(start(p.stack))
    r = typed(p.stack, *argv(p.stack, app_id, slot.command(value)))
    assert r.code == 0, r.text[:500]
    p.run(reach(p.stack.client.get_workflow_handle(app_id), Stage.WITHDRAWN))
    r = typed(p.stack, "status", app_id, "--history")
    assert r.code == 0 and unwrapped(value) in unwrapped(r.out), (value, r.text[:1000])


@pytest.mark.parametrize("name", list(CLASSES))
async def test_each_hostile_class_is_refused_naming_the_field_or_stored_and_shown_inert(parked, name):
    prop = door_property(
        name,
        SLOTS,
        lambda slot, value: refused(parked, slot, value),
        lambda slot, value: stored_and_shown(parked, slot, value),
        allowed=lambda slot, value: slot.kind != "unknown" or (value.isidentifier() and value.lower() not in TAKEN),
    )
    before = await actions.get_status(parked.stack.client, parked.app_id)
    await asyncio.to_thread(prop)
    if not CLASSES[name].stored:
        assert await actions.get_status(parked.stack.client, parked.app_id) == before, "a refused command reached it"


def test_a_submitted_province_is_refused_naming_the_field_never_echoing_it(tmp_path):
    """`submit` with a province no reference list holds: exit 2, applicant.province named, and
    neither the text given nor a part of it on the screen (it was echoed whole before)."""
    for province in ("<script>alert('Atlantis')</script>", "Provincia Atlantis del Norte e del Sud", "Fès"):
        sub = make_submission(regno("PROV")).model_dump(mode="json")
        sub["applicant"]["province"] = province
        path = Path(tmp_path / f"{uuid.uuid4().hex[:6]}.json")
        path.write_text(json.dumps(sub), "utf-8")
        result = RUNNER.invoke(COMMAND, ["submit", str(path)], env={"TEMPORAL_ADDRESS": "127.0.0.1:1"})
        assert result.exit_code == 2, result.output
        assert "applicant.province" in result.stderr or "applicant: province" in result.stderr, result.stderr
        assert "Atlantis" not in result.output and "del Norte" not in result.output, result.stderr


def test_an_unknown_option_or_command_is_named_by_its_first_characters_only():
    """Click repeated an unknown option's or command's name whole (3,000 characters here)."""
    for args in (["withdraw", "moazara-4-ASSO-1", "--" + "q" * 3_000, "x"], ["edition", "z" * 3_000], ["y" * 3_000]):
        result = RUNNER.invoke(COMMAND, args, env={"TEMPORAL_ADDRESS": "127.0.0.1:1"})
        assert result.exit_code == 2 and "No such" in result.stderr, result.stderr[:300]
        assert len(result.stderr) < 1_000 and args[-2 if args[0] == "withdraw" else -1][:80] not in result.stderr
