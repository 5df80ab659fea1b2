"""The bulk import of bench/lifecycle.py: `starter.py import` of generated applications, straight
to Temporal or through an open edition (its own worker, bench.lifecycle.Phase.editions_queue), timed
until the CLI is done and until every application is recorded in the domain database."""

import asyncio
import json
import os
import subprocess
import sys
import time
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select

from bench.measuring import ROOT
from domain.db.session import make_engine
from domain.db.tables import Application
from domain.edition_messages import EditionInput, edition_workflow_id
from domain.models import Stage
from simulation.factories import make_submission, settings_with
from simulation.waiting import until
from workflows.edition import EditionWorkflow

PATIENCE = 3600.0  # seconds an import may take to be recorded and to settle


async def import_rate(phase: Any, m: int, through_edition: bool) -> tuple[float, float]:
    """`starter.py import` of m generated applications: applications per second until the CLI is
    done (every start accepted), and until every one is recorded in the domain database (what an
    officer sees on the board; the applications' first activity)."""
    edition = 90 if through_edition else 91
    settings = settings_with(
        edition=edition,
        call_opens=date.today() - timedelta(days=1),
        call_closes=date.today() + timedelta(days=30),
        day_length=timedelta(seconds=1),
    )
    settings_file = phase.dir / f"edition-{edition}.json"
    settings_file.write_text(settings.model_dump_json())
    if through_edition:
        await phase.client.start_workflow(
            EditionWorkflow.run,
            EditionInput(settings=settings, opened_by="bench"),
            id=edition_workflow_id(edition),
            task_queue=await phase.editions_queue(),
        )
    path = phase.dir / f"import-{edition}.jsonl"
    path.write_text(
        "\n".join(make_submission(f"IMP-{edition}-{i:05d}", edition=edition).model_dump_json() for i in range(m))
    )
    env = {**os.environ, **phase.env, "SECRETS_FILE": ""}
    t = time.perf_counter()
    run = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "starter.py", "import", str(path), "--settings", str(settings_file), "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    elapsed = time.perf_counter() - t
    counts = json.loads(run.stdout)["counts"] if run.returncode == 0 else {"error": run.stderr[-500:]}
    if counts.get("started") != m:
        raise RuntimeError(f"import through_edition={through_edition}: {counts}")
    engine = make_engine(phase.env["DATABASE_URL"])
    query = select(func.count()).select_from(Application).where(Application.edition == edition)

    def count(q: Any) -> int:
        with engine.connect() as c:
            return c.scalar(q) or 0

    try:
        await until(lambda: asyncio.to_thread(count, query), lambda k: k >= m, f"{m} recorded", PATIENCE, 0.1)
        took = time.perf_counter() - t
        # Not timed: the applications' first steps done (all waiting for reviewers), so that the next
        # measurement does not share the machine with this one's leftovers.
        early = query.where(Application.stage.in_([Stage.SUBMITTED.value, Stage.ELIGIBILITY.value]))
        await until(lambda: asyncio.to_thread(count, early), lambda k: k == 0, f"{m} past eligibility", PATIENCE, 0.5)
    finally:
        engine.dispose()
    return m / elapsed, m / took
