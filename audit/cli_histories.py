"""The auditor CLI's commands on workflow histories: export them, replay them against the current
code, read one as a timeline of decisions."""

import logging
from pathlib import Path
from typing import Annotated, Any

import typer
from temporalio.client import WorkflowHistory
from temporalio.service import RPCError

from audit.cli_common import (
    Edition,
    FromArchive,
    Json,
    Source,
    archived,
    archived_ids,
    command,
    err,
    open_archive,
    open_client,
    out,
    progress,
    workflow_ids,
)

commands = typer.Typer()


# --- export ----------------------------------------------------------------------------------------


@command(commands)
async def export(
    ids: Annotated[list[str] | None, typer.Argument(metavar="[ID]...", help="workflow ids (= application ids)")] = None,
    edition: Edition = None,
    source: Source = "db",
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="directory for the <workflow id>.json files")] = Path(
        "histories"
    ),
    archive: FromArchive = False,
    as_json: Json = False,
) -> int:
    """Write histories as JSON files, in the format of `temporal workflow show --output json`."""

    from audit import histories

    if archive:
        if source != "db":
            raise typer.BadParameter("--archive lists an edition's workflows from the domain database (--from db)")
        wids = archived_ids(ids or [], edition)
        read = _from_archive(wids)
    else:
        client = await open_client()
        wids = await workflow_ids(client, ids or [], edition, source)
        read = _from_server(client)
    written, missing = [], []
    with progress(len(wids), "exporting", not as_json) as step:
        for wid in wids:
            try:
                written.append(str(histories.save(await read(wid), out_dir)))
            except Missing as e:
                missing.append({"workflow_id": wid, "error": str(e)})
            step()
    if as_json:
        out.print_json(data={"written": written, "missing": missing})
    else:
        for path in written:
            out.print(path)
        for m in missing:
            err.print(f"not exported: {m['workflow_id']}: {m['error']}")
        out.print(
            f"{len(written)} histories written to {out_dir}" + (f", {len(missing)} not exported" if missing else "")
        )
    return 1 if missing else 0


class Missing(Exception):
    """A history not exported: the server or the archive does not have it, or its archive is altered."""


def _from_server(client):
    from audit import histories

    async def read(wid: str) -> WorkflowHistory:
        try:
            return await histories.fetch(client, wid)
        except RPCError as e:
            raise Missing(e.message) from None

    return read


def _from_archive(wids: list[str]):
    """Each archived history checked against its recorded SHA-256 before it is written: an
    altered one is not exported, and named with the mismatch."""
    from audit.archive import BadArchive

    kept = open_archive()
    found = kept.found(wids)

    async def read(wid: str) -> WorkflowHistory:
        if wid not in found:
            raise Missing("not archived")
        try:
            return kept.history(found[wid])
        except BadArchive as e:
            raise Missing(str(e)) from None

    return read


# --- replay ----------------------------------------------------------------------------------------


@command(commands)
async def replay(
    files: Annotated[
        list[Path] | None,
        typer.Argument(metavar="[FILE|DIR]...", help="exported histories (a directory: every *.json in it)"),
    ] = None,
    edition: Edition = None,
    ids: Annotated[
        list[str] | None, typer.Option("--id", help="a workflow id to fetch from the server (repeatable)")
    ] = None,
    source: Source = "db",
    archive: FromArchive = False,
    jobs: Annotated[
        int, typer.Option("--jobs", "-j", min=0, help="processes replaying side by side (0: one per core)")
    ] = 0,
    as_json: Json = False,
) -> int:
    """Replay histories against the current workflow code: one line per workflow, a total; exit 1 if any is non-deterministic."""

    from audit.replay_pool import ReplayPool

    async with ReplayPool(jobs or None) as pool:
        return await _replay(pool, files, edition, ids, source, archive, as_json)


async def _replay(pool, files, edition, ids, source, archive, as_json) -> int:
    from audit import histories

    if files and (edition is not None or ids or archive):
        raise typer.BadParameter(
            "replay files, or workflows from the server or the archive (--edition / --id), not both"
        )
    if files:
        paths = histories.files(files)
        for p in paths:
            if not p.exists():
                raise typer.BadParameter(f"{p}: no such file")
        if not paths:
            raise typer.BadParameter("no *.json history in the given directories")
        try:  # all read first (by the pool's processes): a bad file is named before anything replays
            source_iter: Any = await pool.load(paths)
        except histories.NotAHistory as e:
            raise typer.BadParameter(str(e)) from None
        total = len(paths)
    elif archive:
        source_iter, total = archived(ids or [], edition)
    else:
        client = await open_client()
        wids = await workflow_ids(client, ids or [], edition, source)
        source_iter, total = histories.fetch_many(client, wids), len(wids)
    # The SDK logs each failed activation with a traceback; every failure gets its own line here.
    logging.getLogger("temporalio").setLevel(logging.CRITICAL)
    outcomes = []
    with progress(total, "replaying", not as_json) as step:

        def show(o) -> None:
            outcomes.append(o)
            if not as_json:
                (out if o.ok else err).print(o.line(), markup=False)
            step()

        await pool.replay(source_iter, on_outcome=show, total=total)
    failed = [o for o in outcomes if not o.ok]
    if as_json:
        out.print_json(
            data={
                "ok": not failed,
                "total": len(outcomes),
                "failed": len(failed),
                "workflows": [
                    {
                        "workflow_id": o.workflow_id,
                        "run_id": o.run_id,
                        "status": o.status,
                        "events": o.events,
                        "event_id": o.event_id,
                        "error": o.error,
                    }
                    for o in outcomes
                ],
            }
        )
    else:
        nd = sum(o.nondeterministic for o in failed)
        out.print(
            f"total: {len(outcomes)} replayed, {len(outcomes) - len(failed)} ok, {nd} non-deterministic, "
            f"{len(failed) - nd} could not replay"
        )
    return 1 if failed else 0


# --- timeline --------------------------------------------------------------------------------------


@command(commands)
async def timeline(
    workflow_id: Annotated[
        str | None, typer.Argument(metavar="[ID]", help="application id (= workflow id), fetched from the server")
    ] = None,
    file: Annotated[Path | None, typer.Option("--file", "-f", help="an exported history instead of the server")] = None,
    archive: FromArchive = False,
    as_json: Json = False,
) -> int:
    """One application's decisions in plain language, oldest first (bank accounts masked)."""

    from audit import events, histories
    from audit import timeline as tl
    from infra.temporal_connection import data_converter

    if (workflow_id is None) == (file is None) or (archive and file is not None):
        raise typer.BadParameter("give an application id (from the server, or with --archive), or --file, not both")
    if file is not None:
        if not file.exists():
            raise typer.BadParameter(f"{file}: no such file")
        try:
            history: WorkflowHistory = histories.load(file)
        except histories.NotAHistory as e:
            raise typer.BadParameter(str(e)) from None
        dc = data_converter(accept_clear=True)
    elif archive:
        history, dc = next(open_archive().histories([workflow_id])), data_converter(accept_clear=True)  # type: ignore[list-item]
    else:
        client = await open_client()
        history, dc = await histories.fetch(client, workflow_id), client.data_converter  # type: ignore[arg-type]
    t = tl.build(await events.parse(history, dc))
    if as_json:
        out.print(t.model_dump_json(indent=2), markup=False)
    else:
        for line in tl.render_lines(t):
            out.print(line, markup=False)
    return 0
