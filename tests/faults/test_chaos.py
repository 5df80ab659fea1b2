"""`make chaos` in small: an edition on the embedded default while the seeded driver (chaos/) kills
its worker (SIGKILL, a new one started) and its Temporal dev server (SIGKILL, restarted on the same
SQLite file) ten times, the simulated people acting all along and retrying what failed under the
same update id.

The seed is fixed and its plan covers what ops fear most: the server killed while submissions come
in (twice), and down longer than the Temporal client's own retries (about 10 s) while the
committee's decisions are being delivered; the worker killed while submissions, the committee's
ranking and the decisions are in flight. Afterwards, as ops and an auditor check it: every
application in the one stage the edition's rules give it (the workflow, the database and its stage
history agreeing); each started, reviewed, decided, ordered and paid once; a late submission
refused and counted; no ledger above its award, no envelope above its size; `audit verify` and
`audit reconcile` clean; every history replays on today's code; no worker exited on its own.

Size: 40 applications and 10 kills, about 150 s here; a worker kill holds the activities it had in
flight for their timeout (30 s for a database write, the heartbeat's 30 s for a document), which is
most of it. It replaced the server-restart fault test (two server kills in a 100-application
edition, 185 s), whose cases it covers.
"""

import asyncio

from chaos import plan
from chaos.run import command, run

SEED, APPLICATIONS, KILLS = 12, 40, 10
CHECKS = [
    "every application in exactly one stage, where its inputs put it",
    "no application started twice",
    "every review and decision applied once",
    "no payment order sent twice",
    "no ledger above its award",
    "no envelope above its size",
    "audit verify clean",
    "audit reconcile clean",
    "every history replays",
    "no worker exited on its own",
]


def test_the_seed_kills_where_ops_fear_it_most():
    kills = plan.draw(SEED, KILLS)
    assert plan.draw(SEED, KILLS) == kills  # the seed replays the same kills
    server = {k.phase for k in kills if k.target == plan.SERVER}
    long = {k.phase for k in kills if k.long}
    worker = {k.phase for k in kills if k.target == plan.WORKER}
    assert plan.SUBMISSIONS in server and plan.DECISIONS in long, plan.summary(kills)
    assert {plan.SUBMISSIONS, plan.COMMITTEE, plan.DECISIONS} <= worker, plan.summary(kills)


async def test_an_edition_under_ten_kills_keeps_every_promise(tmp_path):
    print(f"chaos seed {SEED}; replay with: {command(SEED, APPLICATIONS, KILLS)}")
    async with asyncio.timeout(900):  # a guard against a hang, not a measure
        report = await run(SEED, APPLICATIONS, KILLS, tmp_path / "chaos")
    assert report.error is None, f"seed {SEED}: {report.error}"
    assert sorted(d.kill.n for d in report.kills) == list(range(1, KILLS + 1)), "every planned kill came"
    assert [c.name for c in report.checks] == CHECKS, [c.line() for c in report.checks]
    assert report.ok, f"seed {SEED}:\n" + "\n".join(report.failures)
