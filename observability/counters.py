"""The service's own counters, kept by a worker interceptor (so activities and workflows stay as they are).

They go to the SDK runtime's metric meter, so they appear on the same /metrics endpoint as the SDK's
metrics (observability.metrics), with the namespace and task queue as attributes:

| counter | attributes | counted when |
|---|---|---|
| `moazara_applications_stage_entered` | `stage` | an application enters a stage (its `record_stage` activity completed) |
| `moazara_payment_orders` | `funder`, `tranche` | a payment order is sent (`create_payment_order` completed) |
| `moazara_payments` | `funder` | a payment is recorded in the ledger for the first time (`record_payment` answered new) |
| `moazara_payments_rejected` | `funder` | the payment system rejected an order (`mark_payment_rejected` completed) |
| `moazara_escalations` | `about` | an escalation to ops is written (`send_notice` of kind escalation, new): `payment` (an order the payment system did not take), `review`, `committee`, `cofunding`, `report` |
| `moazara_refusals` | `where`, `what` | an input is refused: by an update's validator or handler (`what` = the update), or a business rule in an activity (`what` = the error type) |

Counts are per worker process: sum them over workers. An activity that completed on a worker that
died before reporting it may run again elsewhere and be counted twice; the database remains the
ledger, the counters are for rates and alerts.
"""

import inspect
from collections.abc import Callable
from functools import cache
from typing import Any

from temporalio import activity, workflow
from temporalio.exceptions import ApplicationError
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    HandleUpdateInput,
    Interceptor,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
)

STAGE_ENTERED = "moazara_applications_stage_entered"
PAYMENT_ORDERS = "moazara_payment_orders"
PAYMENTS = "moazara_payments"
PAYMENTS_REJECTED = "moazara_payments_rejected"
REFUSALS = "moazara_refusals"
ESCALATIONS = "moazara_escalations"

DESCRIPTIONS = {
    STAGE_ENTERED: "applications that entered a stage",
    PAYMENT_ORDERS: "payment orders sent to the payment system",
    PAYMENTS: "payments recorded in the ledger",
    PAYMENTS_REJECTED: "payment orders rejected by the payment system",
    ESCALATIONS: "escalations to ops (what waits for a person: an unsent payment order, late reviews, …)",
    REFUSALS: "inputs refused (update validators and handlers, business rules in activities)",
}


@cache
def _signature(fn: Callable) -> inspect.Signature:
    return inspect.signature(fn)


def _arguments(fn: Callable, args: Any) -> dict[str, Any]:
    """The activity's arguments by name, whatever their order."""
    try:
        return dict(_signature(fn).bind(*args).arguments)
    except (TypeError, ValueError):
        return {}


def _funder_of(order_key: str) -> str:
    """The funder of an idempotency key `APPLICATION:T<n>:<funder>`."""
    parts = str(order_key).rsplit(":", 2)
    return parts[2] if len(parts) == 3 and parts[1].startswith("T") else "unknown"


def _escalation_about(notice_key: str) -> str:
    """What an escalation is about, from its notice key (`payment-unsent-2`, `review-escalation`,
    `cofunding-timeout-02`, `report-3-escalation`, …): its first word."""
    return notice_key.split("-", 1)[0] or "unknown"


def _count(meter, name: str, attributes: dict[str, str]) -> None:
    meter.create_counter(name, DESCRIPTIONS[name]).add(1, attributes)


def _activity_counts(activity_type: str, args: dict[str, Any], result: Any) -> list[tuple[str, dict[str, str]]]:
    """The counters a completed activity adds to (name, attributes)."""
    if activity_type == "record_stage" and "stage" in args:
        return [(STAGE_ENTERED, {"stage": str(args["stage"])})]
    if activity_type == "create_payment_order":
        order = result if hasattr(result, "funder") else args.get("order")
        if order is not None:
            return [(PAYMENT_ORDERS, {"funder": str(order.funder), "tranche": str(order.tranche)})]
    if activity_type == "record_payment" and result is True:
        return [(PAYMENTS, {"funder": _funder_of(args.get("key", ""))})]
    if activity_type == "mark_payment_rejected":
        return [(PAYMENTS_REJECTED, {"funder": _funder_of(args.get("key", ""))})]
    if activity_type == "send_notice" and args.get("kind") == "escalation" and result is True:
        return [(ESCALATIONS, {"about": _escalation_about(str(args.get("key", "")))})]
    return []


class _ActivityCounters(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        try:
            result = await self.next.execute_activity(input)
        except ApplicationError as e:
            if e.non_retryable:
                _count(activity.metric_meter(), REFUSALS, {"where": "activity", "what": e.type or "ApplicationError"})
            raise
        try:
            counts = _activity_counts(activity.info().activity_type, _arguments(input.fn, input.args), result)
            meter = activity.metric_meter()
            for name, attributes in counts:
                _count(meter, name, attributes)
        except Exception:  # noqa: BLE001 - a counter never fails the work it counts
            activity.logger.warning("service counter not updated", exc_info=True)
        return result


class _WorkflowCounters(WorkflowInboundInterceptor):
    """Refused updates. The workflow meter records nothing while a history replays, so a refusal is
    counted once, when it happens."""

    def handle_update_validator(self, input: HandleUpdateInput) -> None:
        try:
            self.next.handle_update_validator(input)
        except Exception:
            _count(workflow.metric_meter(), REFUSALS, {"where": "update_validator", "what": input.update})
            raise

    async def handle_update_handler(self, input: HandleUpdateInput) -> Any:
        try:
            return await self.next.handle_update_handler(input)
        except ApplicationError as e:
            if e.type == "Refused":  # the workflow's re-check of its validator inside the handler
                _count(workflow.metric_meter(), REFUSALS, {"where": "update_handler", "what": input.update})
            raise


class ServiceCounters(Interceptor):
    """Register on the worker (worker.build_worker does) to keep the service's counters."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _ActivityCounters(next)

    def workflow_interceptor_class(self, input: WorkflowInterceptorClassInput) -> type[WorkflowInboundInterceptor]:
        return _WorkflowCounters
