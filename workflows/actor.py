"""The authenticated actor of the update being validated or handled, for the workflows' rules.

A worker interceptor (registered by worker.build_worker) reads the update's header (domain/actor.py)
and makes it `current_actor()` while the validator runs and for the whole of the handler. An input
sent without one (a test, an older client) has no actor: rules then fall back on the input's own
fields. A header that is not a valid actor refuses the update."""

from contextvars import ContextVar

from pydantic import ValidationError
from temporalio.api.common.v1 import Payload
from temporalio.worker import (
    HandleUpdateInput,
    Interceptor,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
)

from domain.actor import ACTOR_HEADER, Actor
from domain.refusals import Refusal

_current: ContextVar[Actor | None] = ContextVar("moazara_current_actor", default=None)


def current_actor() -> Actor | None:
    return _current.get()


def who(typed: str) -> str:
    """The sender: the authenticated actor when the input came through a front door, else the name
    the input gives (tests, older clients)."""
    actor = current_actor()
    return actor.id if actor is not None else typed


def _actor(headers: dict[str, Payload]) -> Actor | None:
    payload = headers.get(ACTOR_HEADER)
    return None if payload is None else Actor.model_validate_json(payload.data)


class _ActorInbound(WorkflowInboundInterceptor):
    def handle_update_validator(self, input: HandleUpdateInput) -> None:
        try:
            actor = _actor(dict(input.headers))
        except ValidationError as e:
            raise Refusal("actor.invalid", header=ACTOR_HEADER, errors=e.error_count()) from None
        token = _current.set(actor)
        try:
            self.next.handle_update_validator(input)
        finally:
            _current.reset(token)

    async def handle_update_handler(self, input: HandleUpdateInput) -> object:
        try:
            actor = _actor(dict(input.headers))
        except ValidationError:
            actor = None  # refused by its validator when first sent; never reaches here then
        _current.set(actor)  # this update's own task: its context ends with it
        return await self.next.handle_update_handler(input)


class ActorFromHeader(Interceptor):
    def workflow_interceptor_class(self, input: WorkflowInterceptorClassInput) -> type[WorkflowInboundInterceptor]:
        return _ActorInbound
