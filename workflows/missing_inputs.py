"""An update sent with no input at all (JSON null) is refused with that reason.

The pydantic converter decodes null into None whatever the handler's model; every validator would
then fail on its first attribute ("'NoneType' object has no attribute 'reviewer_id'"): refused, but
with no reason a sender can act on. This worker interceptor answers first, for every update of
every workflow. Registered by worker.build_worker.
"""

from temporalio.worker import HandleUpdateInput, Interceptor, WorkflowInboundInterceptor, WorkflowInterceptorClassInput


class _RefuseMissing(WorkflowInboundInterceptor):
    def handle_update_validator(self, input: HandleUpdateInput) -> None:
        if not input.args or any(a is None for a in input.args):
            raise ValueError(f"input: {input.update} needs its input (a JSON object), got none")
        self.next.handle_update_validator(input)


class RefuseMissingInputs(Interceptor):
    def workflow_interceptor_class(self, input: WorkflowInterceptorClassInput) -> type[WorkflowInboundInterceptor]:
        return _RefuseMissing
