"""What one application costs, measured for docs/sizing.md: an edition of N applications on the
embedded default (the chaos run's stack and people, chaos/, without kills), from submission to
the first tranche paid, then every workflow's history fetched and counted, the domain database's
rows and bytes, the dev server's file, the CPU of server and worker, and a backup and restore of
it all (starter.py's, cli/backup_files.py) timed.

    .venv/bin/python -m bench.sizing -n 100          # bench/results/sizing.json
"""

import argparse
import asyncio
import json
import tempfile
import time
from collections import Counter, defaultdict
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, inspect, select, table

from bench.measuring import ROOT, cpu_seconds
from chaos import edition
from chaos.calls import together
from chaos.invariants import fetch_histories
from chaos.killer import Progress
from chaos.people import People
from chaos.stack import Stack
from cli.backup_files import Places, restore, take
from domain.db.session import make_engine, normalize_url

RESULTS = ROOT / "bench" / "results" / "sizing.json"
# Event kinds counted per history (the attribute a HistoryEvent carries for each).
KINDS = {
    "activity_task_scheduled_event_attributes": "activities",
    "activity_task_started_event_attributes": "activity_attempts",
    "workflow_task_completed_event_attributes": "workflow_tasks",
    "workflow_execution_update_accepted_event_attributes": "updates",
    "workflow_execution_signaled_event_attributes": "signals",
    "timer_started_event_attributes": "timers",
    "start_child_workflow_execution_initiated_event_attributes": "children",
    "marker_recorded_event_attributes": "markers",
    "workflow_execution_continued_as_new_event_attributes": "continued_as_new",
}


def history_shape(h: Any) -> dict[str, Any]:
    """Events, bytes (the protobuf's encoded size: what the server stores) and kinds of one run."""
    from temporalio.api.history.v1 import History

    c: Counter[str] = Counter()
    for e in h.events:
        for field, name in KINDS.items():
            if e.HasField(field):
                c[name] += 1
    first = h.events[0].workflow_execution_started_event_attributes
    return {
        "type": first.workflow_type.name,
        "events": len(h.events),
        "bytes": History(events=h.events).ByteSize(),
        **c,
    }


def summarise(shapes: list[dict[str, Any]]) -> dict[str, Any]:
    by_type: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for s in shapes:
        by_type[s["type"]].append(s)
    out = {}
    for kind, runs in sorted(by_type.items()):
        keys = sorted({k for r in runs for k in r} - {"type"})
        out[kind] = {
            "runs": len(runs),
            "mean": {k: round(sum(r.get(k, 0) for r in runs) / len(runs), 1) for k in keys},
            "max": {k: max(r.get(k, 0) for r in runs) for k in keys},
        }
    return out


def domain_rows(url: str) -> dict[str, int]:
    engine = make_engine(url)
    with engine.connect() as c:
        return {
            t: c.scalar(select(func.count()).select_from(table(t))) or 0
            for t in sorted(inspect(engine).get_table_names())
        }


def file_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())


async def run(n: int, work: Path) -> dict[str, Any]:
    groups = edition.plan(n)
    settings = edition.settings(date.today(), groups)
    phases: dict[str, float] = {}
    async with Stack(work / "live", print) as stack:
        pids = {"temporal_server": stack.server.proc, "worker": stack.worker.proc}
        cpu0 = {k: cpu_seconds(p.pid) for k, p in pids.items()}
        people = People(stack, Progress(), groups, settings)
        began = time.monotonic()
        for name, step in (
            ("open", people.open_edition()),
            ("submissions_and_reviews", together(people.submissions(), people.reviews())),
            ("committee", people.committee()),
            ("decisions_agreements_payments", together(people.decisions(), people.agreements(), people.payments())),
            ("settling", people.settled()),
        ):
            t = time.monotonic()
            await step
            phases[name] = round(time.monotonic() - t, 1)
        edition_seconds = round(time.monotonic() - began, 1)
        cpu = {k: round(cpu_seconds(p.pid) - cpu0[k], 1) for k, p in pids.items()}
        shapes = [history_shape(h) for hs in (await fetch_histories(people)).values() for h in hs]
        places = Places(stack.dir / "temporal.db", normalize_url(stack.database_url), stack.dir / "documents", None)
        backup = take(places, work / "backup")  # while the server and worker still run
        rows = domain_rows(stack.database_url)
        live = {"temporal_db": file_bytes(stack.dir / "temporal.db"), "domain_db": file_bytes(stack.dir / "moazara.db")}
    # The backup's copies: each database as one file without its write-ahead log.
    sizes = {w: sum(f["bytes"] for f in backup["files"] if f["what"] == w) for w in ("temporal", "domain", "document")}
    fresh = work / "restored"
    restored = restore(
        work / "backup",
        Places(fresh / "temporal.db", normalize_url(f"sqlite:///{fresh / 'm.db'}"), fresh / "documents", None),
    )
    return {
        "command": f"python -m bench.sizing -n {n}",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "applications": n,
        "edition_seconds": edition_seconds,
        "phases_seconds": phases,
        "cpu_seconds": cpu,
        "histories": summarise(shapes),
        "history_totals": {
            "runs": len(shapes),
            "events": sum(s["events"] for s in shapes),
            "bytes": sum(s["bytes"] for s in shapes),
        },
        "domain_rows": rows,
        "bytes": sizes,
        "bytes_live_with_wal": live,
        "bytes_per_application": {k: round(v / n) for k, v in sizes.items()},
        "backup": {
            "seconds": backup["seconds"],
            "files": len(backup["files"]),
            "bytes": sum(f["bytes"] for f in backup["files"]),
        },
        "restore_seconds": {"checked": restored["checked_seconds"], "total": restored["restore_seconds"]},
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.sizing", description=__doc__)
    parser.add_argument("-n", type=int, default=100, help="applications in the edition")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sizing-") as tmp:
        result = asyncio.run(run(args.n, Path(tmp)))
    # One entry per edition size: the per-application cost is the difference between two sizes.
    runs = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    runs[str(args.n)] = result
    RESULTS.write_text(json.dumps(runs, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
