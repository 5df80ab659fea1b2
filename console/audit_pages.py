"""The auditor's page of an application: its timeline in plain language (from the workflow's
history), its hash chain verified against the rows it recorded, its money reconciled between the
history and the database, and the history exported for replay — the auditor CLI's functions
(audit/) behind buttons; and the application's documents (award letter, agreement, payment
advices) as PDF. Every export is on the access trail.

Once the server's retention has deleted a closed workflow's history, the page and the export read
it from the archive (audit/archive.py: checked against the SHA-256 recorded when it was archived,
then opened with the archive key), and the page says so; an archive that is not what was recorded
is never shown as a history: the page says it is altered (409), the chain still verified."""

import asyncio
from datetime import date
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from temporalio.client import WorkflowHistory
from temporalio.service import RPCError, RPCStatusCode

from audit import events, histories, reconcile, timeline, verify
from audit.archive import Archive, BadArchive
from console.pages import State, Who, application_of
from console.web import render, require
from documents.issue import NotIssuable, issue
from documents.render import KINDS
from documents.store import TamperedDocument, open_store
from domain.db.archive_tables import Archived

router = APIRouter()
AUDITORS = ("auditor", "officer", "admin")


class AlteredArchive(Exception):
    def __init__(self, archived: Archived, detail: str) -> None:
        super().__init__(detail)
        self.archived, self.detail = archived, detail


async def history_of(s: Any, workflow_id: str) -> tuple[WorkflowHistory, Archived | None]:
    """The workflow's history from the server, or, once the server no longer has it, from the
    archive (with its record); AlteredArchive when the archive is not what was recorded."""
    try:
        return await histories.fetch(s.temporal(), workflow_id), None
    except RPCError as e:
        if e.status != RPCStatusCode.NOT_FOUND:
            raise HTTPException(404, f"history: {e.message}") from None
        gone = e.message
    kept = Archive(s.repo.engine, s.settings)
    archived = (await asyncio.to_thread(kept.found, [workflow_id])).get(workflow_id)
    if archived is None:
        raise HTTPException(404, f"history: {gone}; not archived") from None
    try:
        return await asyncio.to_thread(kept.history, archived), archived
    except BadArchive as e:
        raise AlteredArchive(archived, str(e)) from None


@router.get("/applications/{application_id}/audit")
async def audit(request: Request, s: State, who: Who, application_id: str) -> Response:
    require(who, *AUDITORS)
    app = application_of(s, who, application_id)
    chain = verify.verify(s.repo.engine, application_ids=[app["id"]])
    try:
        history, archived = await history_of(s, app["id"])
    except AlteredArchive as e:
        page = dict(app=app, chain=chain, archived=e.archived, altered=e.detail, entries=[], money=[])
        return render(request, "audit.html", who, http_status=409, **page)
    parsed = await events.parse(history, s.temporal().data_converter)
    entries = timeline.build(parsed).entries
    money = reconcile.check_application(app, reconcile.money_of(parsed))
    page = dict(app=app, entries=entries, chain=chain, money=money, archived=archived, altered=None)
    return render(request, "audit.html", who, **page)


@router.get("/applications/{application_id}/documents/{kind}-{language}.pdf")
def document(s: State, who: Who, application_id: str, kind: str, language: str, order: str | None = None) -> Response:
    """The application's award letter, funding agreement or a paid order's payment advice (`order`),
    issued now and kept in the document store under its SHA-256 (sent in a header). Personal data
    leaving the console: on the access trail."""
    require(who, "officer", "committee", "finance", "auditor", "admin")
    app = application_of(s, who, application_id)
    if kind not in (*KINDS, "payment_advice") or language not in ("fr", "ar"):
        raise HTTPException(404, "document")
    store = open_store(s.settings)
    try:
        sha, _, content = issue(s.repo.engine, app, kind, language, store, date.today(), order)
    except NotIssuable:
        raise HTTPException(409, "no award yet, or not a paid order") from None
    except TamperedDocument:  # never handed out: the store's copy is not what was issued
        raise HTTPException(409, "the stored document no longer has its recorded SHA-256") from None
    return download(s, who, content, sha, f"{app['id']}-{kind}-{language}.pdf", f"{kind} {app['id']} ({language})")


def download(s: Any, who: Any, content: bytes, sha: str, filename: str, subject: str) -> Response:
    """A document from the store as an attachment, its SHA-256 in a header, on the access trail."""
    s.accounts.record_export(who.user.login, f"{subject} sha256 {sha}", 1)
    headers = {"Content-Disposition": f'attachment; filename="{filename}"', "X-Document-SHA256": sha}
    return Response(content, media_type="application/pdf", headers=headers)


@router.get("/applications/{application_id}/history.json")
async def export_history(s: State, who: Who, application_id: str) -> Response:
    """The workflow's history as `temporal workflow show --output json` writes it (payloads stay
    encrypted), for `python -m audit replay --file`."""
    require(who, "auditor", "admin")
    app = application_of(s, who, application_id)
    try:
        history, archived = await history_of(s, app["id"])
    except AlteredArchive as e:
        raise HTTPException(409, f"the archived history is not the one archived: {e.detail}") from None
    where = f" (archive sha256 {archived.sha256})" if archived else ""
    s.accounts.record_export(who.user.login, f"history {app['id']}{where}", len(history.events))
    headers = {"Content-Disposition": f'attachment; filename="{histories.file_name(app["id"])}"'}
    return Response(history.to_json(), media_type="application/json", headers=headers)
