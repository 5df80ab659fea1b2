"""`starter.py backup` and `restore` run as ops run them (a subprocess, configured by the environment)
on real databases: a SQLite domain database and a SQLite file written to all along the backup, as
the dev server writes its own; PostgreSQL on the machine's server, into scratch databases. The
edition restored mid-way and finished is tests/faults/test_backup_restore.py."""

import json
import os
import sqlite3
import subprocess
import sys
import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select, text

from domain.db.repository import Repository
from domain.db.session import make_engine, migrate
from domain.db.tables import Application
from simulation.factories import make_submission

ROOT = Path(__file__).resolve().parents[2]


def starter(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "starter.py", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def domain_with(url: str, n: int) -> None:
    migrate(url)
    repo = Repository(make_engine(url))
    for i in range(n):
        sub = make_submission(f"ASSO-{i:04d}")
        repo.record_submission(f"moazara-4-ASSO-{i:04d}", f"moazara-4-ASSO-{i:04d}", sub, "officer", datetime.now(UTC))


def applications(url: str) -> list[str]:
    with make_engine(url).connect() as c:
        return sorted(c.scalars(select(Application.application_id)))


class Writer:
    """Writes rows into a WAL-mode SQLite file until stopped, as the dev server does."""

    def __init__(self, path: Path) -> None:
        self.path, self.stop, self.rows = path, threading.Event(), 0
        with sqlite3.connect(path) as c:
            c.execute("PRAGMA journal_mode=wal")
            c.execute("create table events (id integer primary key, body blob)")
        self.thread = threading.Thread(target=self._write)

    def _write(self) -> None:
        with sqlite3.connect(self.path) as c:
            while not self.stop.is_set():
                c.execute("insert into events (body) values (?)", (os.urandom(4096),))
                c.commit()
                self.rows += 1

    def __enter__(self) -> "Writer":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


def test_a_running_embedded_default_is_backed_up_and_restored_whole(tmp_path):
    live, fresh, backup = tmp_path / "live", tmp_path / "fresh", tmp_path / "backup"
    live.mkdir()
    (live / "documents" / "ab").mkdir(parents=True)
    (live / "documents" / "ab" / "ab12-agreement.pdf").write_bytes(b"%PDF-1.7 the agreement")
    (live / "secrets.json").write_text('{"codec_keys": {}}')
    domain_with(f"sqlite:///{live / 'moazara.db'}", 5)
    # A partner's event the gateway answered after the Temporal copy began (its clock an hour on).
    later = datetime.now(UTC) + timedelta(hours=1)
    repo = Repository(make_engine(f"sqlite:///{live / 'moazara.db'}"))
    repo.inbox_claim("region-02", "evt-7", "cofunding", "moazara-4-ASSO-0001", "f" * 64, later)
    repo.inbox_answer("region-02", "evt-7", 200, {"accepted": True}, later)

    def env(d: Path) -> dict[str, str]:
        return {
            "DATABASE_URL": f"sqlite:///{d / 'moazara.db'}",
            "DOCUMENTS_DIR": str(d / "documents"),
            "SECRETS_FILE": str(d / "secrets.json"),
        }

    with Writer(live / "temporal.db") as writer:
        while writer.rows < 50:
            pass
        taken = starter("backup", str(backup), "--temporal-db", str(live / "temporal.db"), "--json", env=env(live))
        during = writer.rows
    assert taken.returncode == 0, taken.stderr
    manifest = json.loads(taken.stdout)
    assert [f["what"] for f in manifest["files"]] == ["temporal", "domain", "document", "secrets"]
    assert during > 50, "the file was written to while it was backed up"

    keyless = starter(
        "restore", str(backup), "--temporal-db", str(fresh / "t.db"), env=env(fresh) | {"SECRETS_FILE": ""}
    )
    assert keyless.returncode == 1 and "set SECRETS_FILE" in keyless.stderr and not fresh.exists()
    restored = starter("restore", str(backup), "--temporal-db", str(fresh / "temporal.db"), env=env(fresh))
    assert restored.returncode == 0, restored.stderr
    assert applications(f"sqlite:///{fresh / 'moazara.db'}") == [f"moazara-4-ASSO-{i:04d}" for i in range(5)]
    with sqlite3.connect(fresh / "temporal.db") as c:
        copied = c.execute("select count(*) from events").fetchone()[0]
        assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert 50 <= copied <= during  # a consistent snapshot taken while it was written
    assert (fresh / "documents" / "ab" / "ab12-agreement.pdf").read_bytes() == b"%PDF-1.7 the agreement"
    assert (fresh / "secrets.json").stat().st_mode & 0o777 == 0o600
    assert "recorded after the Temporal copy began" in restored.stdout
    assert "gateway event region-02 evt-7 (cofunding, moazara-4-ASSO-0001)" in restored.stdout

    again = starter("restore", str(backup), "--temporal-db", str(fresh / "temporal.db"), env=env(fresh))
    assert again.returncode == 1
    assert "already there" in again.stderr and "moazara.db" in again.stderr


def test_a_backup_that_differs_from_its_manifest_restores_nothing(tmp_path):
    live, fresh, backup = tmp_path / "live", tmp_path / "fresh", tmp_path / "backup"
    live.mkdir()
    domain_with(f"sqlite:///{live / 'moazara.db'}", 2)
    env = {"DATABASE_URL": f"sqlite:///{live / 'moazara.db'}", "DOCUMENTS_DIR": str(live / "documents")}
    with sqlite3.connect(live / "temporal.db") as c:
        c.execute("create table t (x)")
    taken = starter("backup", str(backup), "--temporal-db", str(live / "temporal.db"), env=env | {"SECRETS_FILE": ""})
    assert taken.returncode == 0, taken.stderr

    with (backup / "moazara.db").open("r+b") as f:  # one byte changed
        f.seek(200)
        byte = f.read(1)
        f.seek(200)
        f.write(bytes([byte[0] ^ 1]))
    fresh_env = {"DATABASE_URL": f"sqlite:///{fresh / 'moazara.db'}", "DOCUMENTS_DIR": str(fresh / "documents")}
    refused = starter(
        "restore", str(backup), "--temporal-db", str(fresh / "t.db"), env=fresh_env | {"SECRETS_FILE": ""}
    )
    assert refused.returncode == 1
    assert "moazara.db: SHA-256 differs from the manifest's" in refused.stderr
    assert not fresh.exists(), "nothing restored"

    (backup / "manifest.json").unlink()
    unfinished = starter("restore", str(backup), env=fresh_env | {"SECRETS_FILE": ""})
    assert unfinished.returncode == 1 and "no manifest.json, not a finished backup" in unfinished.stderr
    occupied = starter("backup", str(backup), "--no-temporal", env=env | {"SECRETS_FILE": ""})
    assert occupied.returncode == 1 and "not empty" in occupied.stderr


def test_a_postgresql_domain_database_is_dumped_and_restored(postgres_admin, tmp_path):
    names = [f"moazara_backup_{uuid.uuid4().hex[:8]}" for _ in range(2)]
    with postgres_admin.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        for name in names:
            c.execute(text(f'CREATE DATABASE "{name}"'))
    live, fresh = (postgres_admin.url.set(database=n).render_as_string(hide_password=False) for n in names)
    try:
        domain_with(live, 3)
        env = {"DATABASE_URL": live, "DOCUMENTS_DIR": str(tmp_path / "docs"), "SECRETS_FILE": ""}
        taken = starter("backup", str(tmp_path / "b"), "--no-temporal", "--json", env=env)
        assert taken.returncode == 0, taken.stderr
        assert [f["path"] for f in json.loads(taken.stdout)["files"]] == ["moazara.dump"]
        env |= {"DATABASE_URL": fresh, "DOCUMENTS_DIR": str(tmp_path / "docs2")}
        restored = starter("restore", str(tmp_path / "b"), "--no-temporal", env=env)
        assert restored.returncode == 0, restored.stderr
        assert applications(fresh) == applications(live) and len(applications(fresh)) == 3
        with make_engine(fresh).connect() as c:  # the schema at Alembic's head, as migrated
            assert c.execute(text("select count(*) from alembic_version")).scalar() == 1
            assert c.execute(select(func.count()).select_from(Application)).scalar() == 3
        again = starter("restore", str(tmp_path / "b"), "--no-temporal", env=env)
        assert again.returncode == 1 and "tables" in again.stderr
    finally:
        with postgres_admin.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            for name in names:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
