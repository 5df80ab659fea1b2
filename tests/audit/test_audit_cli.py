"""The auditor CLI against a real Temporal dev server (with visibility): an edition's workflows
listed by Temporal, exported in exactly the format of `temporal workflow show --output json`,
replayed as fetched from the server, and read as a timeline."""

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from domain.db.repository import Repository
from domain.db.session import make_engine, migrate
from infra.temporal_connection import data_converter
from simulation.dev_server import DEV_SERVER
from tests import golden_histories as golden

ROOT = Path(__file__).resolve().parents[2]


async def test_export_replay_and_timeline_against_the_dev_server(tmp_path, executor):
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(DEV_SERVER), data_converter=data_converter()
    )
    try:
        db = tmp_path / "moazara.db"
        engine = make_engine(f"sqlite:///{db}")
        migrate(engine)
        chosen = [s for s in golden.SCENARIOS if s.name in ("ineligible", "rejected")]
        handles = await golden.run_scenarios(env, Repository(engine), chosen, executor)
        ids = sorted(h.id for h in handles.values())
        address = env.client.service_client.config.target_host
        environ = {**os.environ, "TEMPORAL_ADDRESS": address, "DATABASE_URL": f"sqlite:///{db}", "COLUMNS": "200"}

        def audit(*args: str) -> subprocess.CompletedProcess:
            return subprocess.run(
                [sys.executable, "-m", "audit", *args],
                cwd=ROOT,
                env=environ,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )

        # Listed by Temporal's visibility, not the database.
        out = tmp_path / "histories"
        run = audit("export", "--edition", "4", "--from", "visibility", "--out", str(out), "--json")
        assert run.returncode == 0, run.stderr
        assert sorted(Path(p).name for p in json.loads(run.stdout)["written"]) == [f"{i}.json" for i in ids]

        # Byte for byte what the Temporal CLI prints (compared as JSON documents).
        for wid in ids:
            shown = await asyncio.to_thread(
                subprocess.run,
                [str(DEV_SERVER), "workflow", "show", "-w", wid, "--address", address, "--output", "json"],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert shown.returncode == 0, shown.stderr
            assert json.loads((out / f"{wid}.json").read_text()) == json.loads(shown.stdout)

        # Replayed as fetched from the server (workflows listed from the domain database).
        run = audit("replay", "--edition", "4")
        assert run.returncode == 0, run.stderr
        assert [ln.split()[:2] for ln in run.stdout.splitlines() if ln.startswith("ok")] == [["ok", i] for i in ids]
        assert "total: 2 replayed, 2 ok, 0 non-deterministic, 0 could not replay" in run.stdout

        # An unknown workflow is a clear error, exit 1.
        run = audit("timeline", "moazara-4-NOPE")
        assert run.returncode == 1 and "moazara-4-NOPE" in run.stderr

        run = audit("timeline", handles["rejected"].id)
        assert run.returncode == 0, run.stderr
        lines = run.stdout.splitlines()
        assert any(
            " committee " in ln and "committee decision: rejected: below the line - accepted" in ln for ln in lines
        )
        assert lines[-1].endswith("workflow completed: final stage rejected")
    finally:
        await env.shutdown()
