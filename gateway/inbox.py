"""Exactly once: an event is recorded in the inbox before its update is sent, and answered from it.

1. Claim (source, event_id) in the database inbox (unique key): new, or already there.
2. Already answered: the first answer again (`duplicate: true`); no update is sent.
   Same id for a different event (another kind, target or body): 409 event_id_reused.
3. New, or pending (an earlier attempt's answer is unknown): send the update under the update id
   `gateway:<source>:<event_id>` (Temporal applies one update per id), store the answer.
   Answers stored: the workflow's acceptance (200) and its refusals (409). Temporal unreachable
   or slow (503) is not an answer: the row stays pending and a retry sends again. Nor is a
   `wrong_stage` refusal of an application still running: its stage may be passing (an
   eligibility re-check between two documents events), so the partner's retry under the same
   event id is sent again once the application waits for it, not answered with a stale 409.
"""

import hashlib
import json
from datetime import UTC, datetime

from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from domain.models import FINAL_STAGES
from frontdoor import Actor, ResultCode
from gateway.auth import Caller
from gateway.problems import GatewayError, not_found
from gateway.workflow_updates import send_update


def fingerprint(kind: str, target: str, event: BaseModel) -> str:
    canonical = json.dumps({"kind": kind, "target": target, "event": event.model_dump(mode="json")}, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def update_id(source: str, event_id: str) -> str:
    return f"gateway:{source}:{event_id}"


async def deliver(
    gw, who: Caller, kind: str, target: str, app: dict, event, update: str, payload: BaseModel
) -> JSONResponse:
    """Apply `event` (already authenticated, authorised, validated) once; answer as the workflow did."""
    application_id = app["application_id"]
    fp = fingerprint(kind, target, event)
    now = datetime.now(UTC)
    _, row = await run_in_threadpool(gw.repo.inbox_claim, who.client_id, event.event_id, kind, application_id, fp, now)
    ids = {"event_id": event.event_id, "application_id": application_id}
    if row["fingerprint"] != fp:
        raise GatewayError(
            409,
            "event_id_reused",
            f"event id {event.event_id} was already used for a different event",
            field="event_id",
            **ids,
        )
    if row["status"] == "answered":
        gw.log.info("event repeated", kind=kind, client=who.client_id, http_status=row["http_status"], **ids)
        return JSONResponse({**row["answer"], "duplicate": True}, status_code=row["http_status"])

    outcome = await send_update(
        gw.temporal,
        application_id,
        update,
        payload,
        update_id(who.client_id, event.event_id),
        gw.settings().gateway_update_timeout_seconds,
        Actor(
            id=who.client_id,
            door="gateway",
            roles=frozenset({f"{who.role}:{who.region_code}" if who.region_code else str(who.role)}),
        ),
    )
    if outcome.code == ResultCode.NOT_FOUND:
        if app["stage"] in {s.value for s in FINAL_STAGES}:
            status, body = (
                409,
                {
                    "code": "wrong_stage",
                    "detail": f"stage: the application is closed ({app['stage']})",
                    "field": "stage",
                    **ids,
                    "duplicate": False,
                },
            )
        else:  # the database knows it, Temporal does not (another namespace?): not an answer to store
            raise not_found(f"no workflow for application {application_id}: {outcome.reason}")
    elif outcome.accepted:
        status, body = (
            200,
            {**ids, "accepted": True, "message": outcome.message, "stage": outcome.stage, "duplicate": False},
        )
    else:
        status, body = (
            409,
            {"code": outcome.code.value, "detail": outcome.reason, "field": outcome.field, **ids, "duplicate": False},
        )
        if outcome.code == ResultCode.WRONG_STAGE:  # transient: the row stays pending (see above)
            gw.log.info("event refused for now", kind=kind, client=who.client_id, reason=outcome.reason, **ids)
            return JSONResponse({**body, "retry": True}, status_code=status)
    stored = await run_in_threadpool(
        gw.repo.inbox_answer, who.client_id, event.event_id, status, body, datetime.now(UTC)
    )
    gw.log.info(
        "event answered",
        kind=kind,
        client=who.client_id,
        http_status=stored["http_status"],
        code=stored["answer"].get("code"),
        **ids,
    )
    # A concurrent delivery of the same event may have stored its (identical) answer first: the stored one counts.
    return JSONResponse(stored["answer"], status_code=stored["http_status"])
