"""The console's edition pages: the list, an edition's dashboard and its programme report as PDF,
and the committee's page with its what-if and the confirmation (sent through the front door as the
signed-in member)."""

from datetime import date
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from charts import regions_map
from console import editions
from console.audit_pages import download
from console.pages import Form, State, Who
from console.web import render, require, words_for
from documents.issue import issue_report
from documents.store import open_store
from domain.db.edition_repository import EditionRepository
from domain.edition_messages import EditionStatus, SelectionConfirmed, edition_workflow_id
from frontdoor import send_update
from workflows.names import GET_STATUS, EditionUpdate

router = APIRouter()
READERS = ("officer", "committee", "finance", "auditor", "admin")
REPORT_LANGUAGES = ("fr", "ar", "en")


def _repo(s: Any) -> EditionRepository:
    return EditionRepository(s.repo.engine)


async def _status(s: Any, edition: int) -> EditionStatus | None:
    try:
        handle = s.temporal().get_workflow_handle(edition_workflow_id(edition))
        return await handle.query(GET_STATUS, result_type=EditionStatus)  # type: ignore[no-any-return]
    except Exception:  # noqa: BLE001 - Temporal unreachable, no such workflow …: the page shows the database's record
        return None


@router.get("/editions")
def edition_list(request: Request, s: State, who: Who) -> Response:
    require(who, *READERS)
    return render(request, "editions.html", who, editions=editions.editions(_repo(s)))


@router.get("/editions/{edition}")
async def dashboard(request: Request, s: State, who: Who, edition: int) -> Response:
    require(who, *READERS)
    settings = editions.settings_of(_repo(s), edition)
    if settings is None:
        raise HTTPException(404, "edition")
    figures, envelopes = editions.dashboard(_repo(s), settings)
    charts = editions.charts(figures, words_for(request, who.user))
    status = await _status(s, edition)
    awarded = {code: g.awarded for code, g in figures.by_region.items()}
    return render(
        request, "dashboard.html", who, edition=edition, figures=figures, charts=charts, envelopes=envelopes,
        status=status, region_label=editions.region_label, percent=editions.percent,
        region_map=regions_map.shade(awarded), awarded=awarded,
    )  # fmt: skip


@router.get("/editions/{edition}/report-{language}.pdf")
def report(s: State, who: Who, edition: int, language: str) -> Response:
    """The edition's programme report (documents/report.py) as the database holds it now, kept in the
    document store under its SHA-256 (sent in a header); on the access trail."""
    require(who, *READERS)
    settings = editions.settings_of(_repo(s), edition)
    if settings is None or language not in REPORT_LANGUAGES:
        raise HTTPException(404, "edition or language")
    store = open_store(s.settings)
    sha, _, content = issue_report(s.repo.engine, settings, language, store, date.today())
    name = f"programme-report-{edition}-{language}.pdf"
    return download(s, who, content, sha, name, f"programme_report edition {edition} ({language})")


@router.get("/editions/{edition}/committee")
async def committee(request: Request, s: State, who: Who, edition: int) -> Response:
    require(who, "committee", "officer", "auditor", "admin")
    settings = editions.settings_of(_repo(s), edition)
    if settings is None:
        raise HTTPException(404, "edition")
    view = editions.committee(_repo(s), settings, dict(request.query_params))
    status = await _status(s, edition)
    return render(
        request, "committee.html", who, edition=edition, settings=settings, view=view, status=status,
        query=dict(request.query_params), result=None,
    )  # fmt: skip


@router.post("/editions/{edition}/committee/confirm")
async def confirm(request: Request, s: State, who: Who, form: Form, edition: int) -> Response:
    """Confirm the stored proposal (never a what-if), as the signed-in member: the edition's
    validator refuses the officer who closed the call (four eyes)."""
    require(who, "committee")
    payload = SelectionConfirmed(confirmed_by=who.user.login, note=str(form.get("note", ""))[:2000])
    result = await send_update(
        s.temporal(), edition_workflow_id(edition), EditionUpdate.CONFIRM_SELECTION, payload, who.user.actor(),
        timeout=30, result_type=str,
    )  # fmt: skip
    if result.accepted:
        return RedirectResponse(f"/editions/{edition}/committee?done=1", status_code=303)
    settings = editions.settings_of(_repo(s), edition)
    if settings is None:
        raise HTTPException(404, "edition")
    view = editions.committee(_repo(s), settings, {})
    return render(
        request, "committee.html", who, 409, edition=edition, settings=settings, view=view,
        status=await _status(s, edition), query={}, result=result,
    )  # fmt: skip
