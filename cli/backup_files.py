"""What `starter.py backup` and `restore` do to files: copies taken while the processes run, a
manifest of what was copied with each file's SHA-256, and the copies put back after checking them.

The order is the point (docs/backup.md): Temporal's persistence is copied FIRST, then the domain
database, then the document store. The domain is then never older than the workflows' view of it:
a restored workflow re-runs the activities it had not seen complete, and each finds its row (every
row has a natural key; a payment order its idempotency key, sent again under the same key) instead
of a row missing for a step the workflow believes done. The document store comes after the domain,
so every document a row names is in it (documents are write-once, named by their SHA-256).
"""

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import URL

from domain.db.session import make_engine
from domain.db.tables import AuditEntry, GatewayInboxRow

MANIFEST = "manifest.json"
FORMAT = 1
TEMPORAL, DOMAIN, DOCUMENT, SECRETS = "temporal", "domain", "document", "secrets"
TEMPORAL_FILE, DOMAIN_SQLITE, DOMAIN_DUMP = "temporal.db", "moazara.db", "moazara.dump"
DOCUMENTS, SECRETS_FILE = "documents", "secrets.json"


class BackupError(Exception):
    """The backup or restore cannot go on; what was found, naming the file or place."""


@dataclass(frozen=True)
class Entry:
    path: str  # inside the backup directory
    what: str  # TEMPORAL, DOMAIN, DOCUMENT or SECRETS
    bytes: int
    sha256: str


@dataclass(frozen=True)
class Places:
    """Where the embedded default keeps what a backup holds (None: not backed up here)."""

    temporal_db: Path | None  # the dev server's SQLite file; None for a Temporal cluster
    domain: URL  # the domain database (SQLite file or PostgreSQL)
    documents: Path | None  # the directory store; None when documents are in a bucket
    secrets: Path | None  # the secrets file (the payload keys: without them no history reads)


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def sqlite_path(url: URL) -> Path | None:
    return Path(url.database) if url.get_backend_name() == "sqlite" and url.database else None


def copy_sqlite(src: Path, dst: Path) -> None:
    """SQLite's online backup API in one step: a consistent snapshot while the owner keeps writing
    (in WAL mode its writers are not blocked), then checked whole."""
    if not src.is_file():
        raise BackupError(f"{src}: no such database file")
    with closing(sqlite3.connect(src, timeout=60)) as s, closing(sqlite3.connect(dst)) as d:
        s.backup(d)  # pages=-1: every page under one read transaction
        found = d.execute("PRAGMA quick_check").fetchone()[0]
    if found != "ok":
        raise BackupError(f"{dst}: the copy of {src} fails SQLite's quick_check: {found}")


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """The URL pg_dump and pg_restore take, and the environment carrying the password (never argv)."""
    env = {**os.environ}
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _run(cmd: list[str], env: dict[str, str], what: str) -> None:
    try:
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=6 * 3600)
    except FileNotFoundError:
        raise BackupError(f"{cmd[0]} is not installed: {what} needs PostgreSQL's client tools") from None
    if done.returncode != 0:
        raise BackupError(f"{what}: {cmd[0]} exited with {done.returncode}: {done.stderr.strip()[:500]}")


def _documents(root: Path) -> Iterator[Path]:
    return (p for p in sorted(root.rglob("*")) if p.is_file() and p.suffix != ".part")


def take(places: Places, into: Path) -> dict:
    """Copy everything `places` names into `into` (new or empty), Temporal first; the manifest."""
    if into.exists() and any(into.iterdir()):
        raise BackupError(f"{into}: not empty; a backup goes into a new directory")
    into.mkdir(parents=True, exist_ok=True)
    began, taken_at = time.monotonic(), datetime.now(UTC)
    seconds: dict[str, float] = {}
    entries: list[Entry] = []

    def timed(what: str, step: float) -> None:
        seconds[what] = round(time.monotonic() - step, 3)

    if places.temporal_db is not None:
        step = time.monotonic()
        copy_sqlite(places.temporal_db, into / TEMPORAL_FILE)
        entries.append(_entry(into, TEMPORAL_FILE, TEMPORAL))
        timed(TEMPORAL, step)
    step = time.monotonic()
    if (db := sqlite_path(places.domain)) is not None:
        copy_sqlite(db, into / DOMAIN_SQLITE)
        entries.append(_entry(into, DOMAIN_SQLITE, DOMAIN))
    else:
        url, env = _libpq(places.domain)
        _run(["pg_dump", "--format=custom", "--no-owner", f"--file={into / DOMAIN_DUMP}", url], env, "the domain dump")
        entries.append(_entry(into, DOMAIN_DUMP, DOMAIN))
    timed(DOMAIN, step)
    step = time.monotonic()
    if places.documents is not None and places.documents.is_dir():
        for doc in _documents(places.documents):
            rel = Path(DOCUMENTS) / doc.relative_to(places.documents)
            (into / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(doc, into / rel)
            entries.append(_entry(into, str(rel), DOCUMENT))
    timed(DOCUMENT, step)
    if places.secrets is not None and places.secrets.is_file():
        shutil.copyfile(places.secrets, into / SECRETS_FILE)
        os.chmod(into / SECRETS_FILE, 0o600)
        entries.append(_entry(into, SECRETS_FILE, SECRETS))
    manifest = {
        "format": FORMAT,
        "taken_at": taken_at.isoformat(),
        "order": [TEMPORAL, DOMAIN, DOCUMENT, SECRETS],
        "seconds": {**seconds, "total": round(time.monotonic() - began, 3)},
        "files": [asdict(e) for e in entries],
    }
    # Written last: a directory without it is a backup that did not finish.
    (into / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", "utf-8")
    return manifest


def _entry(root: Path, rel: str, what: str) -> Entry:
    path = root / rel
    return Entry(rel, what, path.stat().st_size, sha256_of(path))


def verify(backup: Path) -> tuple[dict, list[Entry]]:
    """The manifest and its entries, every file present with its size and SHA-256; else BackupError."""
    try:
        manifest = json.loads((backup / MANIFEST).read_text("utf-8"))
        entries = [Entry(**e) for e in manifest["files"]]
    except FileNotFoundError:
        raise BackupError(f"{backup}: no {MANIFEST}, not a finished backup") from None
    except (ValueError, KeyError, TypeError) as e:
        raise BackupError(f"{backup / MANIFEST}: unreadable manifest: {type(e).__name__}") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{backup / MANIFEST}: format {manifest.get('format')!r}, this version reads {FORMAT}")
    bad = []
    for e in entries:
        path = backup / e.path
        if not path.resolve().is_relative_to(backup.resolve()):
            bad.append(f"{e.path}: outside the backup")
        elif not path.is_file():
            bad.append(f"{e.path}: missing")
        elif path.stat().st_size != e.bytes or sha256_of(path) != e.sha256:
            bad.append(f"{e.path}: SHA-256 differs from the manifest's")
    if bad:
        raise BackupError(f"{backup}: the backup does not match its manifest: " + "; ".join(bad[:5]))
    return manifest, entries


def _targets(places: Places, entries: list[Entry]) -> dict[str, Path | None]:
    kinds = {e.what for e in entries}
    return {
        TEMPORAL: places.temporal_db if TEMPORAL in kinds else None,
        DOMAIN: sqlite_path(places.domain),
        DOCUMENT: places.documents if DOCUMENT in kinds else None,
        SECRETS: places.secrets if SECRETS in kinds else None,
    }


def _refuse_occupied(places: Places, entries: list[Entry]) -> None:
    """Nothing is restored over something: the processes must be stopped and the places empty."""
    taken = []
    for what, target in _targets(places, entries).items():
        if target is None:
            continue
        near = [target] if what in (DOCUMENT, SECRETS) else [target, Path(f"{target}-wal"), Path(f"{target}-shm")]
        taken += [str(p) for p in near if p.exists() and (p.is_file() or any(p.iterdir()))]
    if sqlite_path(places.domain) is None:
        with make_engine(places.domain).connect() as c:
            tables = c.exec_driver_sql("select count(*) from pg_tables where schemaname = current_schema()").scalar()
        if tables:
            taken.append(f"{places.domain.render_as_string(hide_password=True)} ({tables} tables)")
    if taken:
        raise BackupError("restore puts files in empty places only; already there: " + ", ".join(taken[:5]))


def restore(backup: Path, places: Places) -> dict:
    """Check the backup against its manifest, then put each file where `places` says."""
    began = time.monotonic()
    manifest, entries = verify(backup)
    checked = round(time.monotonic() - began, 3)
    held = {e.what for e in entries}
    if places.temporal_db is None and TEMPORAL in held:
        raise BackupError("this backup holds the dev server's persistence: give --temporal-db")
    if places.documents is None and DOCUMENT in held:
        raise BackupError("this backup holds a document directory, and documents now go to a bucket: copy them there")
    if places.secrets is None and SECRETS in held:
        raise BackupError("this backup holds the secrets file (the payload keys): set SECRETS_FILE to where it goes")
    dump = any(e.path == DOMAIN_DUMP for e in entries)
    if dump != (sqlite_path(places.domain) is None):
        held, given = ("a PostgreSQL dump", "SQLite") if dump else ("a SQLite file", "PostgreSQL")
        raise BackupError(f"this backup holds the domain as {held}; DATABASE_URL names {given}")
    _refuse_occupied(places, entries)
    targets = _targets(places, entries)
    for e in entries:
        src = backup / e.path
        if e.what == DOMAIN and e.path == DOMAIN_DUMP:
            url, env = _libpq(places.domain)
            _run(["pg_restore", "--no-owner", "--exit-on-error", f"--dbname={url}", str(src)], env, "the restore")
            continue
        target = targets[e.what]
        assert target is not None  # a file of a kind the places hold
        dst = target / Path(e.path).relative_to(DOCUMENTS) if e.what == DOCUMENT else target
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
        if e.what == SECRETS:
            os.chmod(dst, 0o600)
    seconds = round(time.monotonic() - began, 3)
    after = after_the_copy(places.domain, datetime.fromisoformat(manifest["taken_at"]))
    return {**manifest, "checked_seconds": checked, "restore_seconds": seconds, "after_the_temporal_copy": after}


def after_the_copy(domain: URL, taken_at: datetime) -> dict:
    """What the restored domain recorded after the Temporal copy began: inputs the restored
    workflows may not have seen, to be sent again (docs/backup.md) — the partners' events the
    gateway answered, and the audit chain's entries by kind."""
    engine = make_engine(domain)
    try:
        with engine.connect() as c:
            i = GatewayInboxRow
            events = c.execute(select(i.source, i.event_id, i.kind, i.application_id).where(i.answered_at >= taken_at))
            entries = c.execute(
                select(AuditEntry.kind, func.count()).where(AuditEntry.at >= taken_at).group_by(AuditEntry.kind)
            )
            return {
                "gateway_events": [dict(r._mapping) for r in events],
                "audit_entries": {kind: n for kind, n in entries},
            }
    finally:
        engine.dispose()
