"""Refusals of updates, for every update of every workflow: an input sent with none at all (JSON
null) is refused with that reason, and a validator's refusal is a business refusal — not retryable
(sending it again changes nothing), in the validator's own words.

An update sent with no input at all (JSON null) is refused with that reason.

The pydantic converter decodes null into None whatever the handler's model; every validator would
then fail on its first attribute ("'NoneType' object has no attribute 'reviewer_id'"): refused, but
with no reason a sender can act on. This worker interceptor answers first, for every update of
every workflow. Registered by worker.build_worker.
"""

from temporalio.exceptions import ApplicationError
from temporalio.worker import HandleUpdateInput, Interceptor, WorkflowInboundInterceptor, WorkflowInterceptorClassInput

REFUSED = "Refused"  # the ApplicationError type of every business refusal of an update


class _RefuseMissing(WorkflowInboundInterceptor):
    def handle_update_validator(self, input: HandleUpdateInput) -> None:
        if not input.args or any(a is None for a in input.args):
            raise ApplicationError(
                f"input: {input.update} needs its input (a JSON object), got none", type=REFUSED, non_retryable=True
            )
        try:
            self.next.handle_update_validator(input)
        except ValueError as e:  # the workflows' rules refuse with "field: reason"
            raise ApplicationError(str(e), type=REFUSED, non_retryable=True) from None


class RefuseMissingInputs(Interceptor):
    def workflow_interceptor_class(self, input: WorkflowInterceptorClassInput) -> type[WorkflowInboundInterceptor]:
        return _RefuseMissing
