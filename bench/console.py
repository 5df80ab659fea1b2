"""The console's reads at programme scale: an edition of N applications (10,000 by default) in a
SQLite domain database, and with `--postgresql` the same edition in a scratch schema of a
PostgreSQL server (dropped at the end) beside it, the board's pages (filtered, searched, sorted),
the dashboard and the CSV export, each requested in process and timed on the server side, the two
databases' requests alternated so that they share the machine's load; beside them, in the same
run, the floor: the console's own cheapest page (/healthz), so the figures read as ratios on a
noisy machine. Results in bench/results/console.json (SQLite alone) or console-postgresql.json.

    .venv/bin/python -m bench.console -n 10000
    .venv/bin/python -m bench.console -n 10000 --postgresql postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

import argparse
import asyncio
import json
import random
import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, ExitStack, asynccontextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert, text

from bench.measuring import database
from console.app import console_state, create_app
from domain.db.session import make_engine, migrate
from domain.db.tables import Application, AwardRow, EditionRow, LedgerRow, ProgressReportRow
from domain.edition import edition_4_settings
from domain.models import Stage
from domain.reference import LegalForm, Sector, province_region
from infra.settings import Settings

RESULTS = Path(__file__).parent / "results"
PASSWORD = "bench password long enough"


def seed(engine: Any, n: int, edition: int = 4) -> None:
    """An edition of n applications in every stage, with the awards, payments and progress reports
    of those past the committee (tests/console/ seed their dashboards with it too)."""
    rng = random.Random(4)
    provinces = sorted(province_region().items())
    now = datetime.now(UTC)
    settings = edition_4_settings().model_copy(update={"edition": edition})
    stages = [s.value for s in Stage]
    rows = []
    for i in range(n):
        province, region = provinces[i % len(provinces)]
        rows.append(
            {
                "application_id": f"moazara-{edition}-BENCH-{i:05d}",
                "edition": edition,
                "registration_number": f"BENCH-{i:05d}",
                "applicant_name": f"Association {rng.choice(['Al Amal', 'Tiwizi', 'Annour', 'Assafa'])} {i}",
                "legal_form": rng.choice(list(LegalForm)).value,
                "region_code": region,
                "province": province,
                "rural": bool(i % 2),
                "sector": rng.choice(list(Sector)).value,
                "title": "Atelier de tissage de tapis",
                "total_cost": Decimal("50000.00"),
                "requested_amount": Decimal("40000.00"),
                "own_contribution": Decimal("10000.00"),
                "workflow_id": f"moazara-{edition}-BENCH-{i:05d}",
                "stage": rng.choice(stages),
                "stage_since": now - timedelta(hours=i % 2000),  # up to 83 days: some past their deadline
                "score": Decimal(rng.randint(30, 95)),
                "award": Decimal("0.00"),
                "honorary_award": False,
                "submission": {"project": {"jobs_created": 3}},
                "submitted_by": "bench",
                "submitted_at": now,
            }
        )
    with engine.begin() as conn:
        conn.execute(
            insert(EditionRow),
            [
                {
                    "edition": edition,
                    "year": settings.year,
                    "settings": settings.model_dump(mode="json"),
                    "workflow_id": f"moazara-edition-{edition}",
                    "opened_by": "bench",
                    "opened_at": now,
                }
            ],
        )
        for k in range(0, n, 1000):
            conn.execute(insert(Application), rows[k : k + 1000])
        awards, ledger, reports = money_of(rows, now)
        for table, values in ((AwardRow, awards), (LedgerRow, ledger), (ProgressReportRow, reports)):
            for k in range(0, len(values), 1000):
                conn.execute(insert(table), values[k : k + 1000])


AWARDED = {"cofunding", "agreement", "disbursement", "monitoring", "completed", "withdrawn", "terminated"}
PAID = {"disbursement": 1, "monitoring": 1, "completed": 2, "terminated": 1, "withdrawn": 1}


def money_of(rows: list[dict[str, Any]], now: datetime) -> tuple[list[Any], list[Any], list[Any]]:
    """What the dashboard sums: awards of the stages past the committee, the tranches paid, the
    progress reports of the projects under way."""
    awards, ledger, reports = [], [], []
    for r in rows:
        if r["stage"] not in AWARDED:
            continue
        a = r["application_id"]
        funder = "region-02" if r["legal_form"] == "cooperative" and r["region_code"] == "02" else "ministry"
        awards.append({"application_id": a, "funder": funder, "amount": Decimal("40000.00")})
        for t in range(PAID.get(r["stage"], 0)):
            amount = Decimal("24000.00") if t == 0 else Decimal("16000.00")
            ledger.append(
                {
                    "application_id": a,
                    "funder": funder,
                    "kind": "payment",
                    "amount": amount,
                    "order_key": f"{a}-{t}",
                    "at": now,
                }
            )
        if r["stage"] in ("monitoring", "completed"):
            n = len(reports)
            indicators = {
                "jobs_created": 3,
                "jobs_kept": 2,
                "beneficiaries": 40 + n % 20,
                "women": 20 + n % 10,
                "youth": 9,
            }
            for period in (1, 2):
                reports.append(
                    {"application_id": a, "period": period, "indicators": indicators, "status": "approved", "at": now}
                )
    return awards, ledger, reports


def summary(samples: list[float]) -> dict[str, float]:
    samples = sorted(samples)
    return {"p50_ms": round(statistics.median(samples), 1), "p95_ms": round(samples[int(0.95 * (len(samples) - 1))], 1)}


async def timed(clients: dict[str, httpx.AsyncClient], path: str, times: int) -> dict[str, dict[str, float]]:
    """Each database's server time for `path`, their requests alternated so that both see the same
    load on a shared machine."""
    samples: dict[str, list[float]] = {name: [] for name in clients}
    for _ in range(times):
        for name, client in clients.items():
            t = time.perf_counter()
            r = await client.get(path)
            samples[name].append((time.perf_counter() - t) * 1000)
            assert r.status_code == 200, (name, path, r.status_code)
    return {name: summary(s) for name, s in samples.items()}


@asynccontextmanager
async def console_on(url: str, tmp: str, n: int) -> AsyncIterator[tuple[httpx.AsyncClient, float]]:
    """The console on a database seeded with an edition of n applications, an officer signed in;
    and the seconds the seed took."""
    settings = Settings(database_url=url, secrets_file=f"{tmp}/secrets.json")
    engine = make_engine(settings.database_url)
    migrate(engine)
    seeded = time.perf_counter()
    seed(engine, n)
    seconds = round(time.perf_counter() - seeded, 1)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:  # fresh statistics, as autovacuum would give a day-old table
            conn.execute(text("ANALYZE"))
    s = console_state(settings, engine)
    s.accounts.create("bench-officer", "Bench", PASSWORD, ["officer"], by="bench")
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(s)), base_url="http://c") as c:
            login = await c.get("/login")
            token = login.text.split('name="csrf" value="')[1].split('"')[0]
            await c.post("/login", data={"csrf": token, "login": "bench-officer", "password": PASSWORD})
            yield c, seconds
    finally:
        engine.dispose()


async def run(n: int, times: int, postgresql: str | None = None) -> dict[str, Any]:
    """The pages timed on SQLite, and on PostgreSQL beside it when `postgresql` names a server."""
    pages = {
        "floor (/healthz)": "/healthz",
        "board, first page": "/applications?edition=4",
        "board, stage filter, page 3": "/applications?edition=4&stage=review&page=3",
        "board, search by name": "/applications?edition=4&q=Tiwizi",
        "board, sorted by date, last page": f"/applications?edition=4&sort=-since&page={n // 50}",
        "dashboard": "/editions/4",
        "csv export (all)": "/applications.csv?edition=4",
    }
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as urls:
        async with AsyncExitStack() as consoles:
            clients, seeds = {}, {}
            for name, server in (("sqlite", None), ("postgresql", postgresql)):
                if name == "sqlite" or server is not None:
                    url = urls.enter_context(database(f"{tmp}", server))
                    clients[name], seeds[name] = await consoles.enter_async_context(console_on(url, tmp, n))
            figures = {
                page: await timed(clients, path, times if "csv" not in page else max(3, times // 10))
                for page, path in pages.items()
            }
    by_database: dict[str, dict[str, dict[str, float | None]]] = {name: {} for name in clients}
    for page, measured in figures.items():
        for name, f in measured.items():
            floor = figures["floor (/healthz)"][name]["p50_ms"]
            by_database[name][page] = {**f, "x_floor": round(f["p50_ms"] / floor, 1) if floor else None}
    if postgresql is None:
        return {"applications": n, "requests_per_page": times, "database": "sqlite", "pages": by_database["sqlite"]}
    return {
        "applications": n,
        "requests_per_page": times,
        "measured": "side by side: each page's requests alternated between the two databases",
        "seed_seconds": seeds,
        "pages": by_database,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=10_000)
    parser.add_argument("--times", type=int, default=30)
    parser.add_argument("--postgresql", metavar="URL", help="also time a PostgreSQL server's (a scratch schema)")
    args = parser.parse_args()
    result = asyncio.run(run(args.n, args.times, args.postgresql))
    RESULTS.mkdir(exist_ok=True)
    name = "console.json" if args.postgresql is None else "console-postgresql.json"
    (RESULTS / name).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
