"""Backup and restore of the embedded default, tested as ops would rehearse it (docs/backup.md): an
edition on the dev server and a worker process (chaos/stack.py), backed up with `starter.py backup`
while both run, once every application is submitted and reviewed and before the committee; then
everything stopped, `starter.py restore` into a fresh directory, a new server and worker started on
the restored files (the same payload key and task queue, as a restored deployment keeps its
configuration), and the edition finished from there: the committee, its decisions, the Region's
co-funding, agreements, first tranches paid.

Afterwards the chaos run's invariants (chaos/invariants.py), as ops and an auditor check them:
every application in the one stage its inputs give it, nothing started, decided, ordered or paid
twice, no ledger above its award, no envelope above its size, audit verify and reconcile clean,
every history replays. About 90 s here.
"""

import asyncio
import json
from datetime import date

from chaos import edition
from chaos.calls import together
from chaos.invariants import Invariants, fetch_histories
from chaos.killer import Progress
from chaos.people import People
from chaos.stack import Stack
from tests.cli.test_backup import starter

APPLICATIONS = 20
# What a restored deployment keeps of its configuration: the payload key the histories are
# encrypted with, the task queue the workflows are on.
KEPT = ("CODEC_KEYS", "CODEC_ENCRYPT_KEY", "TASK_QUEUE")


async def ops(*args: str, env: dict[str, str]) -> dict:
    done = await asyncio.to_thread(starter, *args, "--json", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)


async def test_an_edition_backed_up_before_its_committee_finishes_from_the_restored_files(tmp_path):
    groups = edition.plan(APPLICATIONS)
    settings = edition.settings(date.today(), groups)
    before, after, backup = tmp_path / "before", tmp_path / "after", tmp_path / "backup"
    async with asyncio.timeout(600):  # a guard against a hang, not a measure
        async with Stack(before, print) as stack:
            people = People(stack, Progress(), groups, settings)
            await people.open_edition()
            await together(people.submissions(), people.reviews())
            await people.reviewed()
            temporal_db = str(before / "temporal.db")
            taken = await ops("backup", str(backup), "--temporal-db", temporal_db, env=stack.env)
            kept = {k: stack.env[k] for k in KEPT}
            answers = people.answers  # what each officer was answered at submission, for the checks
        assert [f["what"] for f in taken["files"]][:2] == ["temporal", "domain"], "Temporal first"

        restored_env = {
            **kept,
            "DATABASE_URL": f"sqlite:///{after / 'moazara.db'}",
            "DOCUMENTS_DIR": str(after / "documents"),
            "SECRETS_FILE": "",
        }
        restored = await ops("restore", str(backup), "--temporal-db", str(after / "temporal.db"), env=restored_env)
        sizes = {f["what"]: f["bytes"] for f in taken["files"]}
        print(f"backup {taken['seconds']} s of {sizes} bytes; restore {restored['restore_seconds']} s")

        stack = Stack(after, print)
        stack.env.update(kept)
        async with stack:
            people = People(stack, Progress(), groups, settings)
            people.answers = answers
            await people.committee()
            await together(people.decisions(), people.agreements(), people.payments())
            await people.settled()
            checks = await Invariants(people).all(await fetch_histories(people))
    for c in checks:
        print(c.line())
    assert [c.name for c in checks if not c.ok] == [], "\n".join(c.line() for c in checks if not c.ok)
    assert len(checks) == 9
