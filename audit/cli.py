"""The auditor CLI: export, replay, timeline, reconcile, verify. Run as `python -m audit …`
(its one entry point, in a checkout and installed alike).

Configuration is the service's own (environment, see infra/settings.py): TEMPORAL_ADDRESS and friends
for the server, DATABASE_URL for the domain database, and the payload keys (CODEC_KEYS or the
secrets file) to read encrypted histories. Exit codes: 0 all good; 1 a finding (non-deterministic
replay, money mismatch, broken chain) or the server / database could not answer; 2 bad usage.
Machine-readable output with --json goes to stdout; progress bars go to stderr.
"""

import asyncio
import json
import logging
from collections.abc import Coroutine
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from temporalio.client import WorkflowHistory
from temporalio.service import RPCError

from infra.settings import get_settings

app = typer.Typer(
    help="Moazara auditor tools: workflow histories, deterministic replay, decision timelines, money reconciliation, audit log.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# Stored text is printed as typed, never read as markup or emoji codes (as in cli/render.py).
out = Console(soft_wrap=True, highlight=False, markup=False, emoji=False)
err = Console(stderr=True, soft_wrap=True, highlight=False, markup=False, emoji=False)

Edition = Annotated[
    int | None, typer.Option("--edition", "-e", help="every application workflow of this edition", min=1)
]
Json = Annotated[bool, typer.Option("--json", help="machine-readable output on stdout")]
Source = Annotated[
    str,
    typer.Option(
        "--from", help="how to list an edition's workflows: 'db' (domain database) or 'visibility' (Temporal)"
    ),
]


class Failed(Exception):
    """A clear message for stderr, exit 1."""


def _run(coro: Coroutine[Any, Any, int]) -> None:
    try:
        code = asyncio.run(coro)
    except Failed as e:
        err.print(f"error: {e}")
        raise typer.Exit(1) from None
    except RPCError as e:
        err.print(f"error: Temporal answered {e.status.name}: {e.message}")
        raise typer.Exit(1) from None
    except SQLAlchemyError as e:
        url = make_url(get_settings().database_url).render_as_string(hide_password=True)
        err.print(
            f"error: the domain database ({url}) did not answer as expected: {getattr(e, 'orig', e) or e!s}",
            markup=False,
        )
        raise typer.Exit(1) from None
    except RuntimeError as e:
        if "connect" not in str(e).lower():
            raise
        err.print(f"error: cannot connect to Temporal at {get_settings().temporal_address}: {e}")
        raise typer.Exit(1) from None
    raise typer.Exit(code)


@contextmanager
def _progress(total: int, what: str, show: bool):
    """A progress bar on stderr for many items; silent for one."""
    if not show or total <= 1:
        yield lambda: None
        return
    with Progress(
        TextColumn(what), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=err, transient=True
    ) as p:
        task = p.add_task(what, total=total)
        yield lambda: p.advance(task)


def _repo():
    from domain.db.repository import Repository
    from domain.db.session import make_engine

    return Repository(make_engine(get_settings().database_url))


async def _client():
    from infra.temporal_connection import connect

    try:
        return await connect(get_settings(), accept_clear=True)  # reads histories from before encryption too
    except RuntimeError as e:
        raise Failed(f"cannot connect to Temporal at {get_settings().temporal_address}: {e}") from None


async def _workflow_ids(client, ids: list[str], edition: int | None, source: str) -> list[str]:
    from audit import histories

    if source not in ("db", "visibility"):
        raise typer.BadParameter("--from: 'db' or 'visibility'")
    found = list(ids)
    if edition is not None:
        found += (
            await histories.visible_workflow_ids(client, edition)
            if source == "visibility"
            else histories.edition_workflow_ids(_repo(), edition)
        )
    if not found:
        raise typer.BadParameter("name workflow ids, or --edition")
    return list(dict.fromkeys(found))


# --- export ----------------------------------------------------------------------------------------


@app.command()
def export(
    ids: Annotated[list[str] | None, typer.Argument(metavar="[ID]...", help="workflow ids (= application ids)")] = None,
    edition: Edition = None,
    source: Source = "db",
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="directory for the <workflow id>.json files")] = Path(
        "histories"
    ),
    as_json: Json = False,
) -> None:
    """Write histories as JSON files, in the format of `temporal workflow show --output json`."""

    async def work() -> int:
        from audit import histories

        client = await _client()
        wids = await _workflow_ids(client, ids or [], edition, source)
        written, missing = [], []
        with _progress(len(wids), "exporting", not as_json) as step:
            for wid in wids:
                try:
                    written.append(str(histories.save(await histories.fetch(client, wid), out_dir)))
                except RPCError as e:
                    missing.append({"workflow_id": wid, "error": e.message})
                step()
        if as_json:
            out.print_json(data={"written": written, "missing": missing})
        else:
            for path in written:
                out.print(path)
            for m in missing:
                err.print(f"not exported: {m['workflow_id']}: {m['error']}")
            out.print(
                f"{len(written)} histories written to {out_dir}" + (f", {len(missing)} not found" if missing else "")
            )
        return 1 if missing else 0

    _run(work())


# --- replay ----------------------------------------------------------------------------------------


@app.command()
def replay(
    files: Annotated[
        list[Path] | None,
        typer.Argument(metavar="[FILE|DIR]...", help="exported histories (a directory: every *.json in it)"),
    ] = None,
    edition: Edition = None,
    ids: Annotated[
        list[str] | None, typer.Option("--id", help="a workflow id to fetch from the server (repeatable)")
    ] = None,
    source: Source = "db",
    as_json: Json = False,
) -> None:
    """Replay histories against the current workflow code: one line per workflow, a total; exit 1 if any is non-deterministic."""

    async def work() -> int:
        from audit import histories
        from audit import replay as rp

        if files and (edition is not None or ids):
            raise typer.BadParameter("replay files, or workflows from the server (--edition / --id), not both")
        if files:
            paths = histories.files(files)
            for p in paths:
                if not p.exists():
                    raise typer.BadParameter(f"{p}: no such file")
            if not paths:
                raise typer.BadParameter("no *.json history in the given directories")
            try:  # all read first: a bad file is named before anything replays
                source_iter: Any = [histories.load(p) for p in paths]
            except histories.NotAHistory as e:
                raise typer.BadParameter(str(e)) from None
            total = len(paths)
        else:
            client = await _client()
            wids = await _workflow_ids(client, ids or [], edition, source)
            source_iter, total = histories.fetch_many(client, wids), len(wids)
        # The SDK logs each failed activation with a traceback; every failure gets its own line here.
        logging.getLogger("temporalio").setLevel(logging.CRITICAL)
        outcomes = []
        with _progress(total, "replaying", not as_json) as step:

            def show(o) -> None:
                outcomes.append(o)
                if not as_json:
                    (out if o.ok else err).print(o.line(), markup=False)
                step()

            await rp.replay(source_iter, replayer_=rp.replayer(runtime=rp.quiet_runtime()), on_outcome=show)
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

    _run(work())


# --- timeline --------------------------------------------------------------------------------------


@app.command()
def timeline(
    workflow_id: Annotated[
        str | None, typer.Argument(metavar="[ID]", help="application id (= workflow id), fetched from the server")
    ] = None,
    file: Annotated[Path | None, typer.Option("--file", "-f", help="an exported history instead of the server")] = None,
    as_json: Json = False,
) -> None:
    """One application's decisions in plain language, oldest first (bank accounts masked)."""

    async def work() -> int:
        from audit import events, histories
        from audit import timeline as tl
        from infra.temporal_connection import data_converter

        if (workflow_id is None) == (file is None):
            raise typer.BadParameter("give an application id, or --file, not both")
        if file is not None:
            if not file.exists():
                raise typer.BadParameter(f"{file}: no such file")
            try:
                history: WorkflowHistory = histories.load(file)
            except histories.NotAHistory as e:
                raise typer.BadParameter(str(e)) from None
            dc = data_converter(accept_clear=True)
        else:
            client = await _client()
            history, dc = await histories.fetch(client, workflow_id), client.data_converter  # type: ignore[arg-type]
        t = tl.build(await events.parse(history, dc))
        if as_json:
            out.print(t.model_dump_json(indent=2), markup=False)
        else:
            for line in tl.render_lines(t):
                out.print(line, markup=False)
        return 0

    _run(work())


# --- reconcile -------------------------------------------------------------------------------------


@app.command()
def reconcile(
    edition: Annotated[int, typer.Option("--edition", "-e", help="the edition to reconcile", min=1)],
    histories_dir: Annotated[
        Path | None, typer.Option("--histories", help="exported histories instead of the server")
    ] = None,
    as_json: Json = False,
) -> None:
    """Money in the database against the histories: orders, ledger, sums per funder, selection, agreement, award. Exit 1 on any mismatch."""

    async def work() -> int:
        from audit import histories
        from audit import reconcile as rc
        from infra.temporal_connection import data_converter

        repo = _repo()
        wids = histories.application_workflow_ids(repo, edition)  # money lives in the applications' histories
        found: dict[str, WorkflowHistory | None] = {}
        if histories_dir is not None:
            if not histories_dir.is_dir():
                raise typer.BadParameter(f"{histories_dir}: not a directory")
            for p in histories.files([histories_dir]):
                try:
                    h = histories.load(p)
                except histories.NotAHistory as e:
                    raise typer.BadParameter(str(e)) from None
                found[h.workflow_id] = h
            dc = data_converter(accept_clear=True)
        else:
            client = await _client()
            dc = client.data_converter
            with _progress(len(wids), "fetching histories", not as_json) as step:
                for wid in wids:
                    try:
                        found[wid] = await histories.fetch(client, wid)
                    except RPCError:
                        found[wid] = None
                    step()
        result = await rc.reconcile(repo, edition, found, dc)
        if as_json:
            out.print_json(data=result.as_json())
        else:
            for m in result.mismatches:
                err.print(f"MISMATCH {m}", markup=False)
            paid = ", ".join(f"{f} {a} MAD" for f, a in sorted(result.paid_db.items())) or "nothing"
            out.print(
                f"edition {edition}: {result.applications} applications, {result.histories} histories, paid {paid}; "
                f"{len(result.mismatches)} mismatch(es)"
            )
        return 0 if result.ok else 1

    _run(work())


# --- verify ----------------------------------------------------------------------------------------


@app.command()
def verify(
    edition: Edition = None,
    ids: Annotated[list[str] | None, typer.Option("--id", help="an application id (repeatable)")] = None,
    save_heads: Annotated[
        Path | None,
        typer.Option("--save-heads", help="write each chain's head (seq, hash) to this file, to keep elsewhere"),
    ] = None,
    heads: Annotated[
        Path | None, typer.Option("--heads", help="heads saved earlier: each must still be in its chain")
    ] = None,
    as_json: Json = False,
) -> None:
    """Check the audit log's hash chains and that every recorded row still has its entry; name every edited or deleted row."""

    async def work() -> int:
        from audit import verify as vf

        anchor = None
        if heads is not None:
            try:
                anchor = {k: vf.Head(**v) for k, v in json.loads(heads.read_text()).items()}
            except (OSError, ValueError, TypeError) as e:
                raise typer.BadParameter(f"--heads {heads}: {e}") from None
        report = vf.verify(_repo().engine, edition=edition, application_ids=ids or None, anchor=anchor)
        if save_heads is not None:
            save_heads.write_text(
                json.dumps({k: {"seq": h.seq, "hash": h.hash} for k, h in report.heads.items()}, indent=2)
            )
        if as_json:
            out.print_json(data=report.as_json())
        else:
            for f in report.findings:
                err.print(f"TAMPERED {f}", markup=False)
            out.print(
                f"{report.applications} applications, {report.entries} audit entries checked; "
                f"{len(report.findings)} finding(s)"
            )
        return 0 if report.ok else 1

    _run(work())


def main() -> None:
    app()
