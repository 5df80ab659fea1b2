"""The console's pages and the routes their forms post to."""

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from console import actions, work
from console.board import WAITING_FOR, Filters, board, csv_export, places
from console.i18n import LANGUAGES
from console.oidc import FAILURES
from console.web import (
    LANGUAGE_COOKIE,
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    ConsoleState,
    Signed,
    checked_form,
    failed,
    render,
    require,
    signed_in,
    state,
    too_many_failures,
)
from documents.store import open_store
from domain.models import ApplicationStatus, Stage
from domain.reference import LegalForm, Sector
from workflows.names import GET_STATUS, ApplicationUpdate

router = APIRouter()
EVERYTHING = ("officer", "committee", "finance", "auditor", "admin")  # roles that see every application
State = Annotated[ConsoleState, Depends(state)]
Who = Annotated[Signed, Depends(signed_in)]
Form = Annotated[dict[str, Any], Depends(checked_form)]


def _cookie(response: Response, s: ConsoleState, name: str, value: str, max_age: int | None = None) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        secure=s.settings.console_secure_cookies,
        samesite="strict",
        path="/",
    )


# --- Signing in --------------------------------------------------------------------------------------


def _next(value: object) -> str:
    """Where to go once signed in: a path of this site only (never another origin)."""
    path = str(value or "/")
    return path if path.startswith("/") and not path.startswith("//") and "\\" not in path else "/"


@router.get("/login")
def login_page(request: Request, s: State) -> Response:
    token = secrets.token_urlsafe(24)
    nxt = _next(request.query_params.get("next"))
    error = FAILURES.get(request.query_params.get("failed", ""))  # from the identity provider's sign-in
    oidc = bool(s.settings.console_oidc_issuer)
    response = render(request, "login.html", None, login_csrf=token, error=error, next=nxt, oidc=oidc)
    _cookie(response, s, LOGIN_CSRF_COOKIE, token, max_age=1800)
    return response


@router.post("/login")
async def login(request: Request, s: State) -> Response:
    form = dict(await request.form())
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not secrets.compare_digest(str(form.get("csrf", "")), expected):
        raise HTTPException(403, "csrf")
    login_name = str(form.get("login", ""))[:100]
    address = request.client.host if request.client else "?"
    keys = (f"login:{login_name}", f"address:{address}")
    # 5 failures per login, 30 per address, in 5 minutes (an office shares one address).
    if too_many_failures(s, keys[0], limit=5) or too_many_failures(s, keys[1], limit=30):
        return render(
            request, "login.html", None, http_status=429, login_csrf=expected, error="Too many attempts",
            next=_next(form.get("next")),
        )  # fmt: skip
    user = s.accounts.authenticate(login_name, str(form.get("password", "")))
    if user is None:
        failed(s, *keys)
        return render(
            request, "login.html", None, http_status=401, login_csrf=expected, error="Wrong login or password"
        )
    token, _ = s.accounts.open_session(user.login)
    response = RedirectResponse(_next(form.get("next")), status_code=303)
    _cookie(response, s, SESSION_COOKIE, token, max_age=int(s.accounts.session_ttl.total_seconds()))
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/")
    return response


@router.post("/logout")
def logout(request: Request, s: State, form: Form) -> Response:
    s.accounts.close_session(request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/language")
def language(request: Request, s: State, who: Who, form: Form) -> Response:
    chosen = str(form.get("language", ""))
    if chosen not in LANGUAGES:
        raise HTTPException(422, "language")
    s.accounts.set_language(who.user.login, chosen)
    response = RedirectResponse(request.headers.get("referer") or "/", status_code=303)
    _cookie(response, s, LANGUAGE_COOKIE, chosen, max_age=365 * 86400)
    return response


# --- The board ---------------------------------------------------------------------------------------


def _regions_of(who: Signed) -> set[str] | None:
    """The Regions this user may see: all (None), or a Region agent's own."""
    return None if any(who.user.has(r) for r in EVERYTHING) else set(who.user.scopes("region-council"))


def _visible(who: Signed, f: Filters) -> Filters:
    """The filters narrowed to what this user may see: a Region's agent, their region only."""
    regions = _regions_of(who)
    if regions is None:
        return f
    if not regions:
        raise HTTPException(403, "role")
    region = f.region if f.region in regions else sorted(regions)[0]
    return f.model_copy(update={"region": region})


def _filters(request: Request) -> Filters:
    try:
        return Filters.model_validate({k: v for k, v in request.query_params.items() if v != ""})
    except ValidationError as e:
        raise HTTPException(422, "filters: " + "; ".join(str(x["loc"][0]) for x in e.errors())) from None


@router.get("/")
def home(request: Request, s: State, who: Who) -> Response:
    """What waits on this person or their role, oldest first."""
    with Session(s.repo.engine) as db:
        items = work.waiting_on(db, who.user)
    return render(request, "home.html", who, items=items)


@router.get("/payments")
def payments(request: Request, s: State, who: Who, status: str | None = None, edition: int | None = None) -> Response:
    require(who, "finance", "auditor", "admin")
    if status not in (None, "", *work.ORDER_STATES):
        raise HTTPException(422, "status")
    with Session(s.repo.engine) as db:
        orders = work.payment_orders(db, status or None, edition)
    return render(request, "payments.html", who, orders=orders, status=status or "", states=work.ORDER_STATES)


@router.get("/applications")
def applications(request: Request, s: State, who: Who) -> Response:
    f = _visible(who, _filters(request))
    with Session(s.repo.engine) as db:
        found = board(db, f)
    visible = _regions_of(who)
    region_codes, provinces = places(f, visible)
    return render(
        request, "board.html", who, board=found, f=f, stages=[x.value for x in Stage], waiting_for=WAITING_FOR,
        sectors=[x.value for x in Sector], legal_forms=[x.value for x in LegalForm], regions=region_codes,
        provinces=provinces, any_region=visible is None,
    )  # fmt: skip


@router.get("/applications.csv")
def applications_csv(request: Request, s: State, who: Who) -> Response:
    f = _visible(who, _filters(request))
    with Session(s.repo.engine) as db:
        text, n = csv_export(db, f)
    s.accounts.record_export(who.user.login, f"applications {f.model_dump(exclude_defaults=True)}", n)
    headers = {"Content-Disposition": 'attachment; filename="applications.csv"'}
    return Response(text.encode("utf-8"), media_type="text/csv; charset=utf-8", headers=headers)


# --- One application ---------------------------------------------------------------------------------


def application_of(s: ConsoleState, who: Signed, application_id: str) -> dict[str, Any]:
    """The application's record, when this user may see it (404, 403 otherwise)."""
    app = s.repo.get_application(application_id[:80])
    if app is None:
        raise HTTPException(404, "application")
    if not any(who.user.has(r) for r in EVERYTHING) and app["region_code"] not in who.user.scopes("region-council"):
        raise HTTPException(403, "region")
    return app


async def status_of(s: ConsoleState, application_id: str) -> ApplicationStatus | None:
    """The workflow's own view (what it waits for, until when); None when it cannot answer now."""
    try:
        handle = s.temporal().get_workflow_handle(application_id)
        return await handle.query(GET_STATUS, result_type=ApplicationStatus)
    except Exception:  # noqa: BLE001 - Temporal unreachable, no such workflow …: the page shows the database's record
        return None


async def _page(
    request: Request, s: ConsoleState, who: Signed, app: dict[str, Any], http_status: int = 200, **context: Any
) -> Response:
    """An application's page: the workflow's own view and the actions this user may take there
    (plus the one just sent, which stays on the page with its answer)."""
    status = await status_of(s, app["id"])
    offered = actions.allowed(who.user, status.stage.value if status else app["stage"], app["region_code"])
    if status is None or status.review_assignment == "open":  # reviewers take free seats there: none to assign
        offered = [a for a in offered if a.update not in actions.ASSIGNING]
    sent = context.pop("sent", None)
    if sent is not None and sent not in offered:
        offered.append(sent)
    context = {"result": None, "errors": {}, **context}
    assignments = s.repo.assignments(app["id"])
    return render(
        request,
        "application.html",
        who,
        http_status,
        app=app,
        status=status,
        actions=offered,
        assignments=assignments,
        **context,
    )


@router.get("/applications/{application_id}")
async def application(request: Request, s: State, who: Who, application_id: str) -> Response:
    app = application_of(s, who, application_id)
    return await _page(request, s, who, app, request_done=bool(request.query_params.get("done")))


@router.get("/applications/{application_id}/live")
async def live(s: State, who: Who, application_id: str) -> JSONResponse:
    """What a page polls to show a workflow's changes without a reload."""
    app = application_of(s, who, application_id)
    status = await status_of(s, app["id"])
    return JSONResponse(
        {
            "stage": status.stage.value if status else app["stage"],
            "waiting_for": status.waiting_for if status else None,
            "history": len(status.history) if status else len(app["history"]),
        }
    )


@router.post("/applications/{application_id}/actions/{key}")
async def act(request: Request, s: State, who: Who, form: Form, application_id: str, key: str) -> Response:
    action = actions.ACTIONS.get(key)
    if action is None:
        raise HTTPException(404, "action")
    require(who, *action.roles)
    app = application_of(s, who, application_id)
    if action.update == ApplicationUpdate.COFUNDING_DECISION and app["region_code"] not in who.user.scopes(
        "region-council"
    ):
        raise HTTPException(403, "region")
    store = open_store(s.settings)
    try:
        result = await actions.act(action, app["id"], form, who.user, s.temporal(), s.vault, store)
    except ValidationError as e:
        return await _page(request, s, who, app, 422, sent=action, errors={key: actions.form_errors(e)})
    except actions.FormError as e:
        return await _page(request, s, who, app, 422, sent=action, errors={key: {e.field: e.message}})
    if result.accepted:
        return RedirectResponse(f"/applications/{app['id']}?done={key}", status_code=303)
    return await _page(request, s, who, app, 409, sent=action, result=(key, result))
