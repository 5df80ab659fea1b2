"""The actor of an update travels in its header: a client interceptor adds it to every update sent
inside `sending_as(actor)` (frontdoor.send_update does). JSON, not encrypted: an actor is a login
and its roles, never personal data of an applicant."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from temporalio.api.common.v1 import Payload
from temporalio.client import (
    Interceptor,
    OutboundInterceptor,
    StartWorkflowUpdateInput,
    WorkflowUpdateHandle,
)

from domain.actor import ACTOR_HEADER, Actor

_sending_as: ContextVar[Actor | None] = ContextVar("moazara_sending_as", default=None)


@contextmanager
def sending_as(actor: Actor) -> Iterator[None]:
    token = _sending_as.set(actor)
    try:
        yield
    finally:
        _sending_as.reset(token)


def actor_payload(actor: Actor) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=actor.model_dump_json().encode())


class _Outbound(OutboundInterceptor):
    async def start_workflow_update(self, input: StartWorkflowUpdateInput) -> WorkflowUpdateHandle:  # type: ignore[type-arg]
        actor = _sending_as.get()
        if actor is not None:
            input.headers = {**input.headers, ACTOR_HEADER: actor_payload(actor)}
        return await super().start_workflow_update(input)


class ActorHeader(Interceptor):
    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        return _Outbound(next)
