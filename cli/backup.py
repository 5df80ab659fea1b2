"""Backup and restore of the embedded default, for ops at the terminal (the runbook: docs/backup.md).

    python starter.py backup var/backups/2026-12-02      # while the dev server and the worker run
    python starter.py restore var/backups/2026-12-02     # processes stopped, into empty places

`backup` copies the dev server's SQLite file first, then the domain database (SQLite's online
backup API; PostgreSQL: pg_dump), the document store and the secrets file, and writes a manifest
with each file's SHA-256. `restore` checks every file against the manifest before it writes
anything, and writes only where nothing is (DATABASE_URL, DOCUMENTS_DIR, SECRETS_FILE and
--temporal-db say where). A refusal names what was found and exits 1.
"""

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cli import render
from cli.actions import CliError
from cli.backup_files import BackupError, Places, restore, take
from cli.command import run_command
from domain.db.session import normalize_url
from infra.settings import get_settings

commands = typer.Typer()

Dir = Annotated[Path, typer.Argument(metavar="DIR", help="the backup's directory", file_okay=False)]
TemporalDb = Annotated[
    Path,
    typer.Option("--temporal-db", help="the dev server's SQLite file (make up keeps it in var/)", dir_okay=False),
]
NoTemporal = Annotated[
    bool,
    typer.Option(
        "--no-temporal",
        help="a Temporal cluster: its own databases are backed up on their own, before this (docs/backup.md)",
    ),
]
Json = Annotated[bool, typer.Option("--json", help="machine-readable output (JSON on stdout)")]


def _places(temporal_db: Path, no_temporal: bool) -> Places:
    s = get_settings()
    return Places(
        temporal_db=None if no_temporal else temporal_db,
        domain=normalize_url(s.database_url),
        documents=None if s.documents_s3_bucket else Path(s.documents_dir),  # a bucket keeps its own versions
        secrets=Path(s.secrets_file) if s.secrets_file else None,
    )


def _show(title: str, manifest: dict, as_json: bool) -> None:
    if as_json:
        render.emit_json({"accepted": True, **manifest})
        return
    table = Table(title=title)
    for column in ("what", "files", "bytes", "backed up in (s)"):
        table.add_column(column)
    for what in manifest["order"]:
        files = [f for f in manifest["files"] if f["what"] == what]
        seconds = manifest["seconds"].get(what)
        if files or seconds is not None:
            table.add_row(what, str(len(files)), str(sum(f["bytes"] for f in files)), render.text(seconds))
    render.out.print(table)
    if (after := manifest.get("after_the_temporal_copy")) is not None:
        _show_after(after)
    times = ", ".join(f"{k} {v} s" for k, v in manifest.items() if k.endswith("_seconds"))
    render.out.print(f"taken at {manifest['taken_at']}; {times or 'total ' + str(manifest['seconds']['total']) + ' s'}")


def _show_after(after: dict) -> None:
    """The inputs the restored workflows may have missed (docs/backup.md, what a restore cannot bring back)."""
    events, entries = after["gateway_events"], after["audit_entries"]
    if not events and not entries:
        render.out.print("nothing recorded after the Temporal copy began")
        return
    render.out.print("recorded after the Temporal copy began (send these inputs again: docs/backup.md):")
    for e in events:
        render.out.print(f"  gateway event {e['source']} {e['event_id']} ({e['kind']}, {e['application_id']})")
    for kind, n in sorted(entries.items()):
        render.out.print(f"  {n} audit entries: {kind}")


def _guarded(work):  # type: ignore[no-untyped-def]
    def run() -> int:
        try:
            work()
        except BackupError as e:
            raise CliError(str(e)) from None
        return 0

    return run


def _command(name: str, title: str, do: Callable[[Path, Places], dict], doc: str) -> None:
    """The command `name`: `do(DIR, places)`, its manifest shown under `title`."""

    def command(
        directory: Dir,
        temporal_db: TemporalDb = Path("var/temporal.db"),
        no_temporal: NoTemporal = False,
        as_json: Json = False,
    ) -> None:
        places = _places(temporal_db, no_temporal)
        run_command(as_json, _guarded(lambda: _show(f"{title} {directory}", do(directory, places), as_json)))

    command.__doc__ = doc
    commands.command(name)(command)


_command(
    "backup",
    "backup",
    lambda into, places: take(places, into),
    """Back up the embedded default while it runs: Temporal's persistence first, then the domain
    database, the document store and the secrets file, with a manifest of their SHA-256.""",
)
_command(
    "restore",
    "restored from",
    restore,
    """Restore a backup, server and workers stopped: every file checked against the manifest first,
    then written where nothing is yet (the domain database, --temporal-db, the documents, secrets).""",
)
