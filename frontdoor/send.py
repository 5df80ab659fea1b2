"""Sending an update to a workflow and turning whatever comes back into one `Result`."""

import asyncio
import re
from enum import StrEnum
from typing import Any

from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError
from temporalio.client import (
    Client,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.service import RPCError, RPCStatusCode

from domain.db.bank_accounts import BankAccounts
from domain.models import Answer, ApplicationStatus
from frontdoor.actor import Actor
from frontdoor.bank_accounts import held
from infra.actor_header import ActorHeader, sending_as
from infra.failure_converter import refusal_of, refusal_reason
from workflows.names import GET_STATUS, ApplicationUpdate


class ResultCode(StrEnum):
    ACCEPTED = "accepted"
    REFUSED = "refused"  # the workflow's rule said no (the reason names the field)
    WRONG_STAGE = "wrong_stage"  # refused because the application is not (or no longer) in that stage
    NOT_FOUND = "not_found"  # no such workflow, or it has closed
    UNAVAILABLE = "unavailable"  # Temporal did not take the input: nothing was applied; retry
    TIMEOUT = "timeout"  # no answer in time: it may still be applied; retry under the same update id


class Result(BaseModel):
    """The answer to one input, the same for every door."""

    code: ResultCode
    workflow_id: str
    actor: str
    message: str = ""  # the workflow's answer, when accepted
    stage: str | None = None
    reason: str = ""  # why not, in the workflow's words
    field: str | None = None  # the input field a refusal names
    refusal: str | None = None  # the refusal's code (domain/refusals.py), for a door to translate
    params: dict[str, str] = {}  # the refusal's parameters, named as in its sentence

    @property
    def accepted(self) -> bool:
        return self.code == ResultCode.ACCEPTED


def _result(workflow_id: str, actor: Actor, code: ResultCode, **answer: Any) -> Result:
    """The Result of `actor`'s input to `workflow_id`."""
    return Result(code=code, workflow_id=workflow_id, actor=actor.id, **answer)


def _refused(workflow_id: str, actor: Actor, reason: str, refusal: tuple[str, dict[str, str]] | None = None) -> Result:
    prefix = reason.partition(":")[0]
    field = prefix if re.fullmatch(r"[a-z_][a-z_.0-9]*", prefix) else None  # the workflows' reasons start "field: …"
    code = ResultCode.WRONG_STAGE if field == "stage" else ResultCode.REFUSED
    refusal_code, params = refusal if refusal is not None else (None, {})
    return _result(workflow_id, actor, code, reason=reason, field=field, refusal=refusal_code, params=params)


async def _naming_the_agreement(handle: WorkflowHandle, payload: BaseModel) -> BaseModel:
    """A signature that names no agreement names the one the workflow issued, as its status says
    (the version the signer was shown); one that names a hash is sent as it is, for the workflow
    to judge. When the status cannot be read, the workflow answers the signature as sent."""
    if getattr(payload, "agreement_sha256", "") is not None:
        return payload
    try:
        status = await handle.query(GET_STATUS, result_type=ApplicationStatus)
    except (RPCError, WorkflowQueryFailedError, WorkflowQueryRejectedError):
        return payload
    if status.agreement_sha256 is None:  # a workflow from before the agreement was issued
        return payload
    return payload.model_copy(update={"agreement_sha256": status.agreement_sha256})


async def send_update(
    client: Client,
    workflow_id: str,
    update: str,
    payload: BaseModel,
    actor: Actor,
    *,
    update_id: str | None = None,
    timeout: float = 60,
    result_type: type = Answer,
    vault: BankAccounts | None = None,
) -> Result:
    """Send `payload` to `workflow_id`'s update `update` as `actor`; never raises for an outcome.
    A RIB in the payload is held in `vault` and only its reference is sent (bank_accounts.py).
    Raises ValueError for a client that cannot carry the actor (one not made by
    infra.temporal_connection.connect): the workflow's rules would judge the input without it."""
    if not any(isinstance(i, ActorHeader) for i in client.config()["interceptors"]):
        raise ValueError("this client does not send the actor's header: connect with infra.temporal_connection")
    try:
        payload = held(payload, vault, actor.id)
    except ValueError as e:
        return _refused(workflow_id, actor, str(e))
    except SQLAlchemyError as e:
        reason = f"the domain database did not take the bank account: {type(e).__name__}"
        return _result(workflow_id, actor, ResultCode.UNAVAILABLE, reason=reason)
    handle = client.get_workflow_handle(workflow_id)
    if update == ApplicationUpdate.SIGN_AGREEMENT:
        payload = await _naming_the_agreement(handle, payload)
    try:
        with sending_as(actor):  # the actor rides in the update's header (infra/actor_header.py)
            answer = await asyncio.wait_for(
                handle.execute_update(update, payload, id=update_id, result_type=result_type), timeout
            )
    except WorkflowUpdateFailedError as e:
        return _refused(workflow_id, actor, refusal_reason(e), refusal_of(e))
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
        reason = f"no answer from {workflow_id} in {timeout:g} s; it may still be applied"
        return _result(workflow_id, actor, ResultCode.TIMEOUT, reason=reason)
    except RPCError as e:
        if e.status == RPCStatusCode.NOT_FOUND:
            return _result(workflow_id, actor, ResultCode.NOT_FOUND, reason=e.message)
        name = e.status.name if e.status else "error"
        reason = f"Temporal did not take the input ({name}): {e.message}"
        return _result(workflow_id, actor, ResultCode.UNAVAILABLE, reason=reason)
    if isinstance(answer, Answer):
        return _result(workflow_id, actor, ResultCode.ACCEPTED, message=answer.message, stage=answer.stage.value)
    return _result(workflow_id, actor, ResultCode.ACCEPTED, message=str(answer))
