"""Backup and restore of the embedded default, tested as ops would rehearse it (docs/backup.md): an
edition on the dev server and a worker process (chaos/stack.py), backed up as `starter.py backup`
backs up (cli/backup_files.py, in this process so that it comes at once) while both run, once every
application is submitted and a third of the reviews are in; the reviewers go on reviewing. Then everything stopped, `starter.py restore` into a fresh directory, a new server
and worker started on the restored files (the same payload key and task queue, as a restored
deployment keeps its configuration). The reviews given after the backup are not in the restored
workflows (some are in the restored domain database, which was copied after Temporal's file): the
reviewers send every review again under its own update id, as the runbook asks of staff — the
restored server answers those it has from their first answer and applies the others, whose
activities find the rows already there. The edition then finishes from the restored state: the
committee, its decisions, the Region's co-funding, agreements, first tranches paid.

Afterwards the chaos run's invariants (chaos/invariants.py), as ops and an auditor check them:
every application in the one stage its inputs give it, nothing started, decided, ordered or paid
twice, no ledger above its award, no envelope above its size, audit verify and reconcile clean,
every history replays. About 100 s here.
"""

import asyncio
import json
from datetime import date
from pathlib import Path

from chaos import edition
from chaos.calls import bounded, together, update
from chaos.invariants import Invariants, fetch_histories
from chaos.killer import Progress
from chaos.people import AT_ONCE, People
from chaos.plan import REVIEWS
from chaos.stack import Stack
from cli.backup_files import Places, take
from domain.db.session import normalize_url
from simulation.factories import make_review
from tests.cli.test_backup import starter
from workflows.application import ApplicationWorkflow as W

APPLICATIONS = 20
# What a restored deployment keeps of its configuration: the payload key the histories are
# encrypted with, the task queue the workflows are on.
KEPT = ("CODEC_KEYS", "CODEC_ENCRYPT_KEY", "TASK_QUEUE")


async def ops(*args: str, env: dict[str, str]) -> dict:
    done = await asyncio.to_thread(starter, *args, "--json", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)


async def backup_during_the_reviews(people: People, backup: Path, stack: Stack) -> dict:
    """Every submission answered, then the reviewers start; once a third of the reviews are in, a
    backup as `starter.py backup` takes it (in this process, so that it comes at once), the
    reviewers going on."""
    await people.submissions()
    progress, reviews = people.progress, asyncio.create_task(people.reviews())
    while progress.done[REVIEWS] < progress.total.get(REVIEWS, 3) // 3 and not reviews.done():
        await asyncio.sleep(0.02)
    places = Places(stack.dir / "temporal.db", normalize_url(stack.database_url), stack.dir / "documents", None)
    taken = await asyncio.to_thread(take, places, backup)
    print(f"backed up at {progress.where(REVIEWS)}")
    await reviews
    return taken


async def review_again(people: People) -> None:
    """Every reviewer sends every review again, under the same update id."""
    eligible = people.of(lambda g: g.score is not None)

    async def again(app: str, reviewer: str) -> None:
        score = people.group_of[app].score
        assert score is not None
        await update(people.handles[app], W.submit_review, make_review(reviewer, score), f"review-{reviewer}-{app}")

    await bounded(AT_ONCE, [again(a, r) for a in eligible for r in edition.REVIEWERS])


async def test_an_edition_backed_up_during_its_reviews_finishes_from_the_restored_files(tmp_path):
    groups = edition.plan(APPLICATIONS)
    settings = edition.settings(date.today(), groups)
    before, after, backup = tmp_path / "before", tmp_path / "after", tmp_path / "backup"
    async with asyncio.timeout(600):  # a guard against a hang, not a measure
        async with Stack(before, print) as stack:
            people = People(stack, Progress(), groups, settings)
            await people.open_edition()
            taken = await backup_during_the_reviews(people, backup, stack)
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
        print(f"recorded after the Temporal copy began: {restored['after_the_temporal_copy']}")

        stack = Stack(after, print)
        stack.env.update(kept)
        async with stack:
            people = People(stack, Progress(), groups, settings)
            people.answers = answers
            await review_again(people)
            await people.committee()
            await together(people.decisions(), people.agreements(), people.payments())
            await people.settled()
            checks = await Invariants(people).all(await fetch_histories(people))
    for c in checks:
        print(c.line())
    assert [c.name for c in checks if not c.ok] == [], "\n".join(c.line() for c in checks if not c.ok)
    assert len(checks) == 9
