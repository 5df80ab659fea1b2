"""Refusals of inputs, for every update and signal of every workflow, before any rule reads them.

- An update sent with no input at all (JSON null) is refused with that reason. The pydantic
  converter decodes null into None whatever the handler's model; every validator would then fail
  on its first attribute ("'NoneType' object has no attribute 'reviewer_id'"), with no reason a
  sender can act on.
- An input that is not a JSON object — `binary/plain` bytes, which the converter hands over as
  bytes whatever the handler's model — is refused (an update) or dropped with a logged reason (a
  signal): a validator that never reads its input would otherwise let the bytes reach a handler,
  which fails the workflow task. Every update and signal of ours takes one pydantic model.
- A validator's refusal is a business refusal: not retryable (sending it again changes nothing),
  in the validator's own words, with its code and parameters when it has them (workflows/refusals.py).

(Inputs the codec could not open are refused by the SDK itself, before this runs:
codec/undecodable.py.) Registered by worker.build_worker.
"""

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel
from temporalio import workflow
from temporalio.worker import (
    HandleSignalInput,
    HandleUpdateInput,
    Interceptor,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
)

from domain.refusals import Refusal
from workflows.refusals import refused


def _not_an_object(name: str, args: Sequence[Any]) -> Refusal | None:
    """Why these arguments are not one JSON object each, or None when they are."""
    if not args or any(a is None for a in args):
        return Refusal("input.missing", update=name)
    wrong = next((a for a in args if not isinstance(a, BaseModel)), None)
    if wrong is not None:
        return Refusal("input.not_an_object", update=name, type=type(wrong).__name__)
    return None


class _RefuseMissing(WorkflowInboundInterceptor):
    def handle_update_validator(self, input: HandleUpdateInput) -> None:
        if (why := _not_an_object(input.update, input.args)) is not None:
            raise refused(why)
        try:
            self.next.handle_update_validator(input)
        except ValueError as e:  # the workflows' rules refuse with "field: reason" (domain/refusals.py)
            raise refused(e) from None

    async def handle_signal(self, input: HandleSignalInput) -> None:
        if (why := _not_an_object(input.signal, input.args)) is not None:
            workflow.logger.warning("signal %s dropped: %s", input.signal, why)
            return
        await self.next.handle_signal(input)


class RefuseMissingInputs(Interceptor):
    def workflow_interceptor_class(self, input: WorkflowInterceptorClassInput) -> type[WorkflowInboundInterceptor]:
        return _RefuseMissing
