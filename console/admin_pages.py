"""The admin's pages: users and their roles, deactivation (their sessions end at once), and the
access trail with its chain verified. Each change is on the trail (console/accounts.py)."""

from collections.abc import Callable

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from console.accounts import ROLES, verify_trail
from console.pages import Form, State, Who
from console.web import render, require

router = APIRouter()


def _roles(form: dict[str, object]) -> list[str]:
    return [r.strip() for r in str(form.get("roles", "")).replace(",", " ").split() if r.strip()]


def _page(request: Request, s: State, who: Who, status: int = 200, error: str | None = None) -> Response:
    trail = s.accounts.trail()
    return render(
        request, "admin.html", who, status, users=s.accounts.users(), trail=trail[-200:],
        broken=verify_trail(trail), roles=ROLES, error=error,
    )  # fmt: skip


@router.get("/admin/users")
def users(request: Request, s: State, who: Who) -> Response:
    require(who, "admin")
    return _page(request, s, who)


def _change(request: Request, s: State, who: Who, change: Callable[[], object]) -> Response:
    """An admin's change, then back to the users' page; refused (ValueError), the page again with
    the reason (422)."""
    try:
        change()
    except ValueError as e:
        return _page(request, s, who, 422, str(e))
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/admin/users")
def add_user(request: Request, s: State, who: Who, form: Form) -> Response:
    require(who, "admin")

    def create() -> None:
        password = str(form.get("password", ""))
        if len(password) < 12:
            raise ValueError("password: at least 12 characters")
        s.accounts.create(
            str(form.get("login", "")).strip()[:100],
            str(form.get("display_name", "")).strip()[:200],
            password,
            _roles(form),
            by=who.user.login,
        )

    return _change(request, s, who, create)


@router.post("/admin/users/{login}/roles")
def set_roles(request: Request, s: State, who: Who, form: Form, login: str) -> Response:
    require(who, "admin")
    return _change(request, s, who, lambda: s.accounts.set_roles(login, _roles(form), by=who.user.login))


@router.post("/admin/users/{login}/deactivate")
def deactivate(request: Request, s: State, who: Who, form: Form, login: str) -> Response:
    require(who, "admin")
    if login == who.user.login:
        raise HTTPException(422, "an admin does not deactivate themselves")
    return _change(request, s, who, lambda: s.accounts.deactivate(login, by=who.user.login))
