"""What every console page stands on: the state it reads and acts through, the signed-in user,
CSRF, roles, and rendering in the user's language.

Pages are rendered on the server by Jinja2 with autoescaping (a `<script>` typed into an
application shows as text) and served with a Content-Security-Policy that allows no inline script
and no other origin: the console's own stylesheet and script only (console/static/).
"""

import secrets
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from temporalio.client import Client

from console.accounts import Accounts, User
from console.i18n import Words, language_of
from domain.db.bank_accounts import BankAccounts
from domain.db.repository import Repository
from domain.documents import MAX_SCAN_BYTES
from infra.settings import Settings

SESSION_COOKIE = "moazara_session"
LOGIN_CSRF_COOKIE = "moazara_login_csrf"
LANGUAGE_COOKIE = "moazara_language"
TEMPLATES = Path(__file__).parent / "templates"
MAX_FORM_BYTES = MAX_SCAN_BYTES + 1024 * 1024  # a signed scan and the form's other fields

env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True))


@dataclass
class ConsoleState:
    settings: Settings
    accounts: Accounts
    repo: Repository
    vault: BankAccounts
    client: Client | None = None  # connected at start (console/app.py)
    oidc: Any = None  # the identity provider (console/oidc.py), when one is configured
    failed_logins: dict[str, deque[float]] = field(default_factory=lambda: defaultdict(deque))

    def temporal(self) -> Client:
        if self.client is None:
            raise HTTPException(503, "Temporal is not connected")
        return self.client


def state(request: Request) -> ConsoleState:
    return request.app.state.console  # type: ignore[no-any-return]


@dataclass
class Signed:
    """The signed-in user of this request and their session's CSRF token."""

    user: User
    csrf: str


class SignInRequired(Exception):
    pass


def signed_in(request: Request) -> Signed:
    token = request.cookies.get(SESSION_COOKIE)
    found = state(request).accounts.session(token) if token else None
    if found is None:
        raise SignInRequired
    return Signed(*found)


async def checked_form(request: Request, who: Signed = Depends(signed_in)) -> dict[str, Any]:  # noqa: B008
    """The posted form, once its CSRF token matches the session's (else 403); a body larger than a
    scan and its fields is refused before it is read (413)."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_FORM_BYTES:
        raise HTTPException(413, "form too large")
    form = dict(await request.form())
    if not secrets.compare_digest(str(form.pop("csrf", "")), who.csrf):
        raise HTTPException(403, "csrf")
    return form


def require(who: Signed, *roles: str) -> None:
    """403 unless the user holds one of `roles` (checked on the server for every page and action)."""
    if not any(who.user.has(r) for r in roles):
        raise HTTPException(403, "role")


def words_for(request: Request, user: User | None = None) -> Words:
    return Words(user.language if user else language_of(request.cookies.get(LANGUAGE_COOKIE)))


def render(request: Request, template: str, who: Signed | None, http_status: int = 200, **context: Any) -> HTMLResponse:
    """`template` in the user's language: every page gets the words `t`, the user, their CSRF token
    and `ui`, the list pages' shared shapes (templates/_macros.html) speaking those words."""
    page = {"t": words_for(request, who.user if who else None), "user": who.user if who else None}
    page |= {"csrf": who.csrf if who else "", **context}
    page["ui"] = env.get_template("_macros.html").make_module(page)
    return HTMLResponse(env.get_template(template).render(page), status_code=http_status)


def too_many_failures(s: ConsoleState, key: str, limit: int = 5, window: float = 300) -> bool:
    """Login rate limiting: `limit` failures per `window` seconds per login and per address."""
    seen = s.failed_logins[key]
    now = time.monotonic()
    while seen and now - seen[0] > window:
        seen.popleft()
    return len(seen) >= limit


def failed(s: ConsoleState, *keys: str) -> None:
    for k in keys:
        s.failed_logins[k].append(time.monotonic())
