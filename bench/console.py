"""The console's reads at programme scale: an edition of N applications (10,000 by default) in a
SQLite domain database, the board's pages (filtered, searched, sorted), the dashboard and the CSV
export, each requested in process and timed on the server side; beside them, in the same run, the
floor: the console's own cheapest page (/healthz), so the figures read as ratios on a noisy
machine. Results in bench/results/console.json.

    .venv/bin/python -m bench.console -n 10000
"""

import argparse
import asyncio
import json
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert

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


async def timed(client: httpx.AsyncClient, path: str, times: int) -> dict[str, float]:
    samples = []
    for _ in range(times):
        t = time.perf_counter()
        r = await client.get(path)
        samples.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200, (path, r.status_code)
    samples.sort()
    return {"p50_ms": round(statistics.median(samples), 1), "p95_ms": round(samples[int(0.95 * (len(samples) - 1))], 1)}


async def run(n: int, times: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(database_url=f"sqlite:///{tmp}/bench.db", secrets_file=f"{tmp}/secrets.json")
        engine = make_engine(settings.database_url)
        migrate(engine)
        seed(engine, n)
        s = console_state(settings, engine)
        s.accounts.create("bench-officer", "Bench", PASSWORD, ["officer"], by="bench")
        app = create_app(s)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://console") as c:
            login = await c.get("/login")
            token = login.text.split('name="csrf" value="')[1].split('"')[0]
            await c.post("/login", data={"csrf": token, "login": "bench-officer", "password": PASSWORD})
            pages = {
                "floor (/healthz)": "/healthz",
                "board, first page": "/applications?edition=4",
                "board, stage filter, page 3": "/applications?edition=4&stage=review&page=3",
                "board, search by name": "/applications?edition=4&q=Tiwizi",
                "board, sorted by date, last page": f"/applications?edition=4&sort=-since&page={n // 50}",
                "dashboard": "/editions/4",
                "csv export (all)": "/applications.csv?edition=4",
            }
            figures = {
                name: await timed(c, path, times if "csv" not in name else max(3, times // 10))
                for name, path in pages.items()
            }
        engine.dispose()
    floor = figures["floor (/healthz)"]["p50_ms"]
    for f in figures.values():
        f["x_floor"] = round(f["p50_ms"] / floor, 1) if floor else None
    return {"applications": n, "requests_per_page": times, "database": "sqlite", "pages": figures}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=10_000)
    parser.add_argument("--times", type=int, default=30)
    args = parser.parse_args()
    result = asyncio.run(run(args.n, args.times))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "console.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
