"""The integration gateway given every class of hostile input (tests/hostile.py) as a partner system
could send it: HTTP requests signed with the partner's HMAC secret, as a real partner client signs
them, whose JSON body carries the hostile value in one field (or a field added, a field left out,
bytes that are not UTF-8).

Each class is a hypothesis property over the fields of the Region Council's and the payment
system's events, against test_gateway's stack (the gateway in process over HTTP, a worker on the
time-skipping server, a SQLite domain database). A refused value: 422 `invalid_body` naming the
field, no 5xx, nothing echoed beyond a short prefix, and nothing changed (the application's
status, its row, no update in its history, no event kept in the inbox). Markup, SQL and formulas
are text a partner may send: accepted, stored as sent, and shown inert (escaped) by the console's
pages of the application.

The gateway takes no date and no bank account: those classes have no field here (the CLI's and
the console's properties send them).
"""

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from console.app import console_state, create_app
from domain.errors import ECHO_LIMIT
from domain.models import Stage
from gateway.auth import sign
from infra.settings import Settings
from simulation.factories import make_submission
from tests.console.sessions import PASSWORD, signed_in
from tests.gateway.test_gateway import (  # noqa: F401 - gw is the fixture
    CLIENTS,
    GatewayStack,
    at_cofunding,
    event_id,
    gw,
    updates_in_history,
)
from tests.hostile import CLASSES, door_property, shown_as_text

NOT_HERE = {"impossible date", "wrong RIB"}  # the gateway takes no date and no bank account


@dataclass(frozen=True)
class Slot:
    """A field of an event: the route, its signer, a valid body, and the field's kind and path."""

    route: str  # "cofunding" or "executed" / "rejected"
    kind: str
    field: str  # in the body; what the refusal names (dotted for a nested one)
    shown: bool = False  # stored, the console shows it
    typed: bool = False  # a JSON value


BODIES: dict[str, Callable[[], dict[str, Any]]] = {
    "cofunding": lambda: {"event_id": event_id(), "approved": True, "decided_by": "council session 12"},
    "executed": lambda: {"event_id": event_id(), "attempt": 1, "reference": "VIR-2024-1"},
    "rejected": lambda: {"event_id": event_id(), "attempt": 1, "reason": "account closed"},
}
SLOTS = [
    Slot("cofunding", "id", "event_id"),
    Slot("cofunding", "flag", "approved"),
    Slot("cofunding", "amount", "amount"),
    Slot("cofunding", "name", "decided_by"),
    Slot("cofunding", "text", "reason"),
    Slot("executed", "count", "attempt"),
    Slot("executed", "name", "reference"),
    Slot("rejected", "name", "reason", shown=True),  # on the console's payments page
    *(Slot(route, "missing", f) for route, f in [("cofunding", "decided_by"), ("cofunding", "approved"), ("rejected", "reason")]),
    *(Slot(route, "unknown", "") for route in BODIES),
    *(Slot(route, "bytes", f) for route, f in [("cofunding", "reason"), ("executed", "reference")]),
]  # fmt: skip


def body_with(slot: Slot, value: Any) -> tuple[Any, bytes]:
    """(its event id, the route's valid body with the slot's field replaced by `value`, removed,
    added, or given as raw bytes)."""
    body = BODIES[slot.route]()
    if slot.kind == "missing":
        del body[slot.field]
    elif slot.kind == "unknown":
        body[value] = 1
    elif slot.kind == "bytes":
        body[slot.field] = "@@"
        return body["event_id"], json.dumps(body).encode().replace(b"@@", value)
    else:
        body[slot.field] = value
    return body["event_id"], json.dumps(body, default=str).encode()


@dataclass
class Partner:
    """The gateway's stack, an application waiting for its Region's co-funding, and the test's loop."""

    gw: GatewayStack
    app_id: str
    loop: asyncio.AbstractEventLoop

    def run(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=120)

    def path(self, route: str, app_id: str | None = None) -> str:
        if route == "cofunding":
            return f"/v1/applications/{app_id or self.app_id}/cofunding-decision"
        return f"/v1/payment-orders/{self.app_id}:T1:ministry/{route}"

    async def post(self, path: str, content: bytes, client: str) -> Any:
        """POST as `client` signs it: HMAC-SHA256 of its timestamp, method, path and the body's bytes."""
        ts = str(int(time.time()))
        signature = sign(CLIENTS[client]["hmac_secrets"][0], ts, "POST", path, content)
        headers = {"Content-Type": "application/json", "X-Client-Id": client, "X-Timestamp": ts}
        return await self.gw.http.post(path, content=content, headers={**headers, "X-Signature": signature})

    async def seen(self) -> tuple:
        """What a partner or an officer would check: the workflow's status, the row, the updates."""
        h = self.gw.driver.client.get_workflow_handle(self.app_id)
        return await self.gw.driver.status(h), self.gw.repo.get_application(self.app_id), await updates_in_history(h)


@pytest.fixture(scope="module")
async def partner(gw):  # noqa: F811 - the fixture imported above
    h = await at_cofunding(gw)
    yield Partner(gw, h.id, asyncio.get_running_loop())


@pytest.fixture(scope="module")
async def console(gw):  # noqa: F811 - the fixture imported above
    """The console over the gateway's database and Temporal, with a finance officer signed in."""
    s = console_state(Settings(database_url=str(gw.repo.engine.url)), gw.repo.engine)
    s.client = gw.driver.client
    s.accounts.create("finance-hostile", "Finance", PASSWORD, ["finance"], by="test-admin")
    return await signed_in(create_app(s), "finance-hostile")


def refused(p: Partner, slot: Slot, value: Any) -> None:
    event, content = body_with(slot, value)
    client = "oriental" if slot.route == "cofunding" else "payments"
    r = p.run(p.post(p.path(slot.route), content, client))
    assert r.status_code == 422, (slot, r.status_code, r.text[:500])
    problem = r.json()
    # Bytes that are not UTF-8 make the body unreadable ("body"), or, encoding a surrogate, the field's text.
    named = {value} if slot.kind == "unknown" else {slot.field, "body"} if slot.kind == "bytes" else {slot.field}
    field = problem["field"]
    assert problem["code"] == "invalid_body" and field in named, (named, problem)
    assert problem["detail"].startswith(f"{field}:") and len(r.text) < 2_000, problem
    if isinstance(value, str) and len(value.strip()) > ECHO_LIMIT:
        assert value.strip() not in r.text, "a refusal echoes the value"
    assert "Traceback" not in r.text, r.text[:500]
    assert not isinstance(event, str) or p.gw.repo.inbox_event(client, event) is None, "the inbox kept it"


async def awaiting_payment(stack: GatewayStack) -> str:
    """A signed agreement whose first payment order waits for the payment system: its key."""
    d = stack.driver
    h = await d.start(make_submission(f"PAY-{uuid.uuid4().hex[:6].upper()}"))
    await d.review_all(h)
    await d.select(h)
    await d.sign(h)
    return (await d.reach(h, Stage.DISBURSEMENT, "payment system")).orders[0].key


def stored_and_shown(p: Partner, value: str, console) -> None:
    """Markup is text: the payment system's rejection carrying it is applied, and the console's
    payments page shows it as text."""
    key = p.run(awaiting_payment(p.gw))
    body = {**BODIES["rejected"](), "reason": value}
    r = p.run(p.post(f"/v1/payment-orders/{key}/rejected", json.dumps(body).encode(), "payments"))
    assert r.status_code == 200 and r.json()["accepted"], r.text[:500]
    page = p.run(console.get("/payments?status=rejected")).text
    assert key in page
    shown_as_text(page, value)


@pytest.mark.parametrize("name", sorted(set(CLASSES) - NOT_HERE))
async def test_each_hostile_class_is_refused_naming_the_field_or_stored_and_shown_inert(partner, console, name):
    prop = door_property(
        name,
        SLOTS,
        lambda slot, value: refused(partner, slot, value),
        lambda slot, value: stored_and_shown(partner, value, console),
        allowed=lambda slot, value: slot.kind != "unknown" or (value not in BODIES[slot.route]() and value.strip()),
        examples=8,
    )
    before = await partner.seen()
    await asyncio.to_thread(prop)
    assert await partner.seen() == before, "a refused event changed the application"


def test_the_classes_without_a_field_here_have_none():
    for name in NOT_HERE:
        assert not [s for s in SLOTS if CLASSES[name].draw(s.kind, s.typed) is not None], f"{name}: test it here"
