"""Sending an event to its application's workflow as an update, by name, and reading the answer.

Through the front door (frontdoor/), as the authenticated client. The update id is the inbox key ("gateway:<client>:<event id>"): should the gateway send an event
twice (a retry after a timeout, two deliveries racing), Temporal applies it once and gives both
the same outcome. The gateway addresses the workflow by its update names, so it imports no
workflow code.
"""

import asyncio
from collections.abc import Awaitable, Callable

from pydantic import BaseModel
from temporalio.client import Client

import frontdoor
from frontdoor import Actor, Result, ResultCode
from gateway.problems import unavailable


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


async def send_update(
    link: TemporalLink, workflow_id: str, update: str, payload: BaseModel, update_id: str, timeout: float, actor: Actor
) -> Result:
    """The front door's answer; what is not the sender's doing (Temporal unavailable, no answer in
    time) becomes a 503 to retry, under the same event id, hence the same update id."""
    result = await frontdoor.send_update(
        await link.client(), workflow_id, update, payload, actor, update_id=update_id, timeout=timeout
    )
    if result.code == ResultCode.UNAVAILABLE:
        raise unavailable(f"{result.reason.partition(':')[0]}; retry later")
    if result.code == ResultCode.TIMEOUT:
        # The update may still be applied when a worker picks it up: the retry gets its outcome.
        raise unavailable(f"no answer from the workflow in {timeout:g} s; retry later with the same event id")
    return result
