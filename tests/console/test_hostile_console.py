"""The console given every class of hostile input (tests/hostile.py) as a person, a browser or a
forged request could post it: an application's action forms, signed in with the session's CSRF
token, one field holding the hostile value (or a field added, a required one left empty, bytes
that are not UTF-8 percent-encoded in the body).

Each class is a hypothesis property over the forms' fields of its kinds, against test_console's
world (the console in process over HTTP, the production worker on the time-skipping server). A
refused value: the application's page again (422, never a 500) with the form and its field's
error, nothing echoed beyond a short prefix, and nothing changed (the workflow's status, the
application's row). Markup, SQL and formulas are text a person may write: accepted, and shown as
text on the application's page (escaped, never markup).
"""

import asyncio
import html
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, quote_from_bytes

import pytest

from domain.errors import ECHO_LIMIT
from domain.models import Stage
from simulation.waiting import until
from tests.console.sessions import csrf_of, signed_in
from tests.console.test_console import in_review, world  # noqa: F401 - world is the fixture
from tests.hostile import CLASSES, RIB, door_property, shown_as_text
from workflows.application import ApplicationWorkflow

REFUSED = re.compile(r'<p class="refused" role="alert">(.*?)</p>', re.S)


@dataclass(frozen=True)
class Slot:
    """A field of an action's form: the action, the field, its kind, and the form's other fields."""

    action: str
    field: str
    kind: str
    others: tuple[tuple[str, str], ...] = ()
    login: str = "officer-amina"
    shown: bool = False  # stored, the application's page shows it
    typed: bool = True  # typed in a form


SLOTS = [
    Slot("withdraw", "reason", "name", shown=True),  # on the page's timeline, once withdrawn
    Slot("cancel", "reason", "name"),
    Slot("recuse-reviewer", "reviewer_id", "name", (("reason", "a cousin"),)),
    Slot("site-visit", "findings", "text", (("visited_on", "2024-03-01"),)),
    Slot("site-visit", "visited_on", "date"),
    Slot("sign", "signed_on", "date", (("bank_account", RIB),)),
    Slot("sign", "bank_account", "rib", (("signed_on", "2024-03-01"),)),
    Slot("fix-bank", "bank_account", "rib", login="finance-karim"),
    Slot("terminate", "amount_to_recover", "amount", (("reason", "fraud"),)),
    Slot("review-report", "period", "count", (("approved", "yes"),)),
    Slot("cancel", "reason", "missing"),
    Slot("sign", "signed_on", "missing", (("bank_account", RIB),)),
    Slot("withdraw", "", "unknown", (("reason", "moved"),)),
    Slot("terminate", "", "unknown", (("reason", "fraud"),)),
    Slot("withdraw", "reason", "bytes"),
    Slot("site-visit", "findings", "bytes", (("visited_on", "2024-03-01"),)),
]


def form_body(csrf: str, slot: Slot, value: Any) -> bytes:
    """The form as a browser encodes it (application/x-www-form-urlencoded), the slot's field
    holding `value` (bytes percent-encoded as they are), left out, or an unknown field added."""
    pairs = [("csrf", csrf), *slot.others]
    if slot.kind == "unknown":
        pairs.append((value, "1"))
    elif slot.kind != "missing" and slot.kind != "bytes":
        pairs.append((slot.field, value))
    encoded = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in pairs)
    if slot.kind == "bytes":
        encoded += f"&{slot.field}={quote_from_bytes(b'ok ' + value, safe='')}"
    return encoded.encode("ascii")


@dataclass
class Officers:
    d: Any
    s: Any
    app: Any
    app_id: str
    browsers: dict[str, Any]
    loop: asyncio.AbstractEventLoop

    def run(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=120)

    async def post(self, login: str, app_id: str, action: str, slot: Slot, value: Any):
        c, csrf = self.browsers[login]
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        return await c.post(
            f"/applications/{app_id}/actions/{action}", content=form_body(csrf, slot, value), headers=headers
        )

    async def status(self):
        return await self.d.client.get_workflow_handle(self.app_id).query(ApplicationWorkflow.get_status)


@pytest.fixture(scope="module")
async def officers(world):  # noqa: F811 - the fixture imported above
    d, s, app = world
    app_id = await in_review(d)
    browsers = {}
    for login in ("officer-amina", "finance-karim"):  # signed in, with their session's CSRF token
        c = await signed_in(app, login)
        browsers[login] = (c, csrf_of((await c.get(f"/applications/{app_id}")).text))
    yield Officers(d, s, app, app_id, browsers, asyncio.get_running_loop())


def refused(o: Officers, slot: Slot, value: Any) -> None:
    before = o.s.repo.get_application(o.app_id)
    r = o.run(o.post(slot.login, o.app_id, slot.action, slot, value))
    assert r.status_code == 422, (slot, r.status_code, r.text[:300])
    assert f'id="action-{slot.action}"' in r.text, "the form is not shown again"
    errors = [html.unescape(e) for e in REFUSED.findall(r.text)]
    named = f"not a field of this form: {value}" if slot.kind == "unknown" else f"{slot.field}: "
    assert any(e.startswith(named) for e in errors), (named, errors)
    if isinstance(value, str) and len(value.strip()) > ECHO_LIMIT:
        assert value.strip() not in r.text and html.escape(value.strip()) not in r.text, "the page echoes it"
    assert o.s.repo.get_application(o.app_id) == before, "a refused form changed the application"


def stage_of(o: Officers, app_id: str):
    async def probe() -> str:
        return str(o.s.repo.get_application(app_id)["stage"])

    return probe


def stored_and_shown(o: Officers, slot: Slot, value: str) -> None:
    """Markup is text: a new application withdrawn with it as the reason, its page showing it as text."""
    app_id = o.run(in_review(o.d))
    r = o.run(o.post(slot.login, app_id, slot.action, slot, value))
    assert r.status_code == 303, r.text[:300]
    o.run(o.d.reach(o.d.client.get_workflow_handle(app_id), Stage.WITHDRAWN))
    o.run(until(stage_of(o, app_id), lambda stage: stage == "withdrawn", f"{app_id} withdrawn in the database"))
    page = o.run(o.browsers[slot.login][0].get(f"/applications/{app_id}")).text
    shown_as_text(page, value)


@pytest.mark.parametrize("name", list(CLASSES))
async def test_each_hostile_class_is_refused_naming_the_field_or_stored_and_shown_inert(officers, name):
    prop = door_property(
        name,
        SLOTS,
        lambda slot, value: refused(officers, slot, value),
        lambda slot, value: stored_and_shown(officers, slot, value),
        allowed=lambda slot, value: slot.kind != "unknown" or value not in ("csrf", *dict(slot.others)),
    )
    before = await officers.status()
    await asyncio.to_thread(prop)
    if not CLASSES[name].stored:
        assert await officers.status() == before, "a refused form reached the workflow"


async def test_an_admins_refused_role_or_login_is_named_with_a_short_prefix_only(officers):
    """The admin's forms refuse an unknown role and an unknown login quoting at most their first
    characters (they were repeated whole)."""
    c = await signed_in(officers.app, "admin-nadia")
    token = csrf_of((await c.get("/admin/users")).text)
    role = "superuser-" + "x" * 12_000
    new = {"csrf": token, "login": "newcomer-hostile", "display_name": "N", "password": "correct horse battery"}
    r = await c.post("/admin/users", data={**new, "roles": role})
    assert r.status_code == 422 and "role: 'superuser-xxx" in html.unescape(r.text) and role[:60] not in r.text
    r = await c.post(f"/admin/users/{'y' * 5_000}/roles", data={"csrf": token, "roles": "officer"})
    assert r.status_code == 422 and "login: no user 'yyy" in html.unescape(r.text) and "y" * 60 not in r.text
