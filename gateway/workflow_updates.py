"""Sending an event to its application's workflow as an update, by name, and reading the answer.

The update id is the inbox key ("gateway:<client>:<event id>"): should the gateway send an event
twice (a retry after a timeout, two deliveries racing), Temporal applies it once and gives both
the same outcome. The gateway addresses the workflow by its update names, so it imports no
workflow code.
"""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from pydantic import BaseModel
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from domain.models import Answer
from gateway.problems import unavailable


@dataclass
class Outcome:
    """The workflow's answer (accepted) or refusal (reason, as the workflow worded it)."""

    accepted: bool
    message: str = ""
    stage: str = ""
    reason: str = ""
    workflow_missing: bool = False


class TemporalLink:
    """One Temporal client for the gateway, connected on first use (the gateway starts, and
    answers 503, while Temporal is down) and reused afterwards."""

    def __init__(self, connect: Callable[[], Awaitable[Client]]) -> None:
        self._connect = connect
        self._client: Client | None = None
        self._lock: asyncio.Lock | None = None

    async def client(self) -> Client:
        if self._client is None:
            self._lock = self._lock or asyncio.Lock()
            async with self._lock:
                if self._client is None:
                    try:
                        self._client = await self._connect()
                    except Exception as e:  # noqa: BLE001 - any failure to connect is "unavailable"
                        raise unavailable(f"Temporal is unreachable ({type(e).__name__}); retry later") from None
        return self._client


def refusal_reason(err: WorkflowUpdateFailedError) -> str:
    cause = err.cause
    while cause is not None:
        message = getattr(cause, "message", None) or str(cause)
        if message:
            return message
        cause = cause.__cause__
    return str(err)


async def send_update(link: TemporalLink, workflow_id: str, update: str, payload: BaseModel, update_id: str,
                      timeout: float) -> Outcome:
    client = await link.client()
    handle = client.get_workflow_handle(workflow_id)
    try:
        answer = await asyncio.wait_for(handle.execute_update(update, payload, id=update_id, result_type=Answer), timeout)
    except WorkflowUpdateFailedError as e:
        return Outcome(False, reason=refusal_reason(e))
    except RPCError as e:
        if e.status == RPCStatusCode.NOT_FOUND:
            return Outcome(False, reason=e.message, workflow_missing=True)
        # Anything else (unreachable, overloaded, a misconfigured namespace) is the gateway's
        # problem, not the sender's: nothing was applied, the sender retries.
        raise unavailable(f"Temporal did not take the event ({e.status.name if e.status else 'error'}); retry later") from None
    except TimeoutError:
        # The update may still be applied when a worker picks it up: the retry, under the same
        # update id, then gets its outcome.
        raise unavailable(f"no answer from the workflow in {timeout:g} s; retry later with the same event id") from None
    return Outcome(True, message=answer.message, stage=answer.stage.value)
