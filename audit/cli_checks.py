"""The auditor CLI's checks: money in the database against the histories (reconcile), the audit
log's hash chains against the rows they recorded (verify). Each exits 1 on any finding."""

import json
from pathlib import Path
from typing import Annotated

import typer
from temporalio.client import WorkflowHistory
from temporalio.service import RPCError

from audit.cli_common import (
    Edition,
    FromArchive,
    Json,
    command,
    open_archive,
    open_client,
    open_repo,
    progress,
    show_check,
)

commands = typer.Typer()
Histories = Annotated[Path | None, typer.Option("--histories", help="exported histories instead of the server")]


# --- reconcile -------------------------------------------------------------------------------------


@command(commands)
async def reconcile(
    edition: Annotated[int, typer.Option("--edition", "-e", help="the edition to reconcile", min=1)],
    histories_dir: Histories = None,
    archive: FromArchive = False,
    as_json: Json = False,
) -> int:
    """Money in the database against the histories: orders, ledger, sums per funder, selection, agreement, award. Exit 1 on any mismatch."""

    from audit import histories
    from audit import reconcile as rc
    from infra.temporal_connection import data_converter

    repo = open_repo()
    wids = histories.application_workflow_ids(repo, edition)  # money lives in the applications' histories
    found: dict[str, WorkflowHistory | None] = {}
    if archive and histories_dir is not None:
        raise typer.BadParameter("--histories or --archive, not both")
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
    elif archive:  # a workflow the archive does not hold is a finding of reconcile's, as a missing history
        kept = open_archive()
        found = {wid: kept.history(a) for wid, a in kept.found(wids).items()}
        dc = data_converter(accept_clear=True)
    else:
        client = await open_client()
        dc = client.data_converter
        with progress(len(wids), "fetching histories", not as_json) as step:
            for wid in wids:
                try:
                    found[wid] = await histories.fetch(client, wid)
                except RPCError:
                    found[wid] = None
                step()
    result = await rc.reconcile(repo, edition, found, dc)
    paid = ", ".join(f"{f} {a} MAD" for f, a in sorted(result.paid_db.items())) or "nothing"
    return show_check(
        result,
        as_json,
        f"edition {edition}: {result.applications} applications, {result.histories} histories, paid {paid}; "
        f"{len(result.mismatches)} mismatch(es)",
    )


# --- verify ----------------------------------------------------------------------------------------


@command(commands)
async def verify(
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
) -> int:
    """Check the audit log's hash chains and that every recorded row still has its entry; name every edited or deleted row."""

    from audit import verify as vf

    anchor = None
    if heads is not None:
        try:
            anchor = {k: vf.Head(**v) for k, v in json.loads(heads.read_text()).items()}
        except (OSError, ValueError, TypeError) as e:
            raise typer.BadParameter(f"--heads {heads}: {e}") from None
    report = vf.verify(open_repo().engine, edition=edition, application_ids=ids or None, anchor=anchor)
    if save_heads is not None:
        save_heads.write_text(
            json.dumps({k: {"seq": h.seq, "hash": h.hash} for k, h in report.heads.items()}, indent=2)
        )
    return show_check(
        report,
        as_json,
        f"{report.applications} applications, {report.entries} audit entries checked; "
        f"{len(report.findings)} finding(s)",
    )
