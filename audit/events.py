"""A workflow history read as what happened: activities with their arguments and results, updates
with their sender and outcome, signals, timers, and how the workflow ended.

Payloads and failures are decoded with the data converter of every client
(`temporal_connection.data_converter`), so encrypted histories read the same as clear ones;
values come back as JSON (dicts, strings for Decimals and dates), not as domain models, so a
history written by older code still reads. Timeline and reconciliation both start here.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.api.common.v1 import Payload, Payloads
from temporalio.api.enums.v1 import EventType
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory
from temporalio.converter import DataConverter

from domain.actor import ACTOR_HEADER, Actor

E = EventType


@dataclass
class _Span:
    """An activity or a timer: started by one event, closed (or not yet) by a later one."""

    opened_event_id: int  # ActivityTaskScheduled, TimerStarted
    opened_at: datetime
    closed_event_id: int | None = field(default=None, kw_only=True)
    closed_at: datetime | None = field(default=None, kw_only=True)

    def closed(self, e: HistoryEvent) -> None:
        self.closed_event_id, self.closed_at = e.event_id, _at(e)

    @property
    def last_event_id(self) -> int:
        """The event that closed it, or, still open, the one that started it."""
        return self.closed_event_id or self.opened_event_id

    @property
    def last_at(self) -> datetime:
        return self.closed_at or self.opened_at


@dataclass
class ActivityRun(_Span):
    name: str
    args: list[Any]
    status: str = "scheduled"  # completed, failed, timed_out, canceled (or still scheduled)
    result: Any = None
    failure: str | None = None


@dataclass
class UpdateCall:
    update_id: str
    name: str
    args: list[Any]
    identity: str  # the client that sent it
    accepted_event_id: int
    accepted_at: datetime
    status: str = "accepted"  # completed, failed (refused by its handler), or still running
    result: Any = None
    failure: str | None = None
    completed_event_id: int | None = None
    completed_at: datetime | None = None
    actor: str | None = None  # the authenticated sender, from the front door's header ("amina via console")


def _authenticated(header: Any) -> str | None:
    """The actor a front door sent the update as (domain/actor.py), or None (a test, an older client)."""
    payload = header.fields.get(ACTOR_HEADER) if header is not None else None
    if payload is None:
        return None
    try:
        return Actor.model_validate_json(payload.data).label()
    except ValueError:
        return "an unreadable actor header"


@dataclass
class SignalCall:
    event_id: int
    at: datetime
    name: str
    args: list[Any]
    identity: str


@dataclass
class TimerRun(_Span):
    timer_id: str
    duration: timedelta
    summary: str
    status: str = "started"  # fired, canceled


@dataclass
class Parsed:
    workflow_id: str
    run_id: str
    workflow_type: str
    args: list[Any]
    identity: str
    started_at: datetime
    events: int
    activities: list[ActivityRun] = field(default_factory=list)
    updates: list[UpdateCall] = field(default_factory=list)
    signals: list[SignalCall] = field(default_factory=list)
    timers: list[TimerRun] = field(default_factory=list)
    close: str | None = None  # completed, failed, terminated, canceled, timed_out, continued_as_new
    close_event_id: int | None = None
    closed_at: datetime | None = None
    close_detail: Any = None  # result, failure message or termination reason
    close_identity: str = ""

    def completed(self, name: str) -> list[ActivityRun]:
        return [a for a in self.activities if a.name == name and a.status == "completed"]


def _at(e: HistoryEvent) -> datetime:
    return e.event_time.ToDatetime(tzinfo=UTC)


async def _values(dc: DataConverter, payloads: Payloads) -> list[Any]:
    return await dc.decode(list(payloads.payloads)) if payloads.payloads else []


async def _value(dc: DataConverter, payloads: Payloads) -> Any:
    values = await _values(dc, payloads)
    return values[0] if values else None


async def _failure(dc: DataConverter, failure: Failure) -> str:
    copy = Failure()
    copy.CopyFrom(failure)  # decode_failure decodes in place: leave the history as it was
    err = await dc.decode_failure(copy)
    kind = getattr(err, "type", None)
    return f"{err}" + (f" ({kind})" if kind else "")


async def _summary(dc: DataConverter, e: HistoryEvent) -> str:
    if not e.HasField("user_metadata") or not e.user_metadata.HasField("summary"):
        return ""
    values = await dc.decode([_copy(e.user_metadata.summary)])
    return str(values[0]) if values else ""


def _copy(p: Payload) -> Payload:
    out = Payload()
    out.CopyFrom(p)
    return out


async def parse(history: WorkflowHistory, dc: DataConverter) -> Parsed:
    events = list(history.events)
    first = events[0].workflow_execution_started_event_attributes
    out = Parsed(
        workflow_id=history.workflow_id,
        run_id=history.run_id,
        workflow_type=first.workflow_type.name,
        args=await _values(dc, first.input),
        identity=first.identity,
        started_at=_at(events[0]),
        events=len(events),
    )
    activities: dict[int, ActivityRun] = {}
    updates: dict[str, UpdateCall] = {}
    timers: dict[int, TimerRun] = {}
    for e in events:
        t = e.event_type
        if t == E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            a = e.activity_task_scheduled_event_attributes
            activities[e.event_id] = ActivityRun(e.event_id, _at(e), a.activity_type.name, await _values(dc, a.input))
            out.activities.append(activities[e.event_id])
        elif t == E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            a = e.activity_task_completed_event_attributes
            run = activities[a.scheduled_event_id]
            run.status, run.result = "completed", await _value(dc, a.result)
            run.closed(e)
        elif t in (
            E.EVENT_TYPE_ACTIVITY_TASK_FAILED,
            E.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT,
            E.EVENT_TYPE_ACTIVITY_TASK_CANCELED,
        ):
            attrs = (
                e.activity_task_failed_event_attributes
                if t == E.EVENT_TYPE_ACTIVITY_TASK_FAILED
                else e.activity_task_timed_out_event_attributes
                if t == E.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT
                else e.activity_task_canceled_event_attributes
            )
            run = activities[attrs.scheduled_event_id]
            run.status = {
                E.EVENT_TYPE_ACTIVITY_TASK_FAILED: "failed",
                E.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT: "timed_out",
            }.get(t, "canceled")
            if t != E.EVENT_TYPE_ACTIVITY_TASK_CANCELED and attrs.HasField("failure"):
                run.failure = await _failure(dc, attrs.failure)
            run.closed(e)
        elif t == E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            a = e.workflow_execution_update_accepted_event_attributes
            req = a.accepted_request
            call = UpdateCall(
                req.meta.update_id,
                req.input.name,
                await _values(dc, req.input.args),
                req.meta.identity,
                e.event_id,
                _at(e),
                actor=_authenticated(req.input.header),
            )
            updates[call.update_id] = call
            out.updates.append(call)
        elif t == E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
            a = e.workflow_execution_update_completed_event_attributes
            call = updates[a.meta.update_id]
            call.completed_event_id, call.completed_at = e.event_id, _at(e)
            if a.outcome.HasField("failure"):
                call.status, call.failure = "failed", await _failure(dc, a.outcome.failure)
            else:
                call.status, call.result = "completed", await _value(dc, a.outcome.success)
        elif t == E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
            a = e.workflow_execution_signaled_event_attributes
            out.signals.append(SignalCall(e.event_id, _at(e), a.signal_name, await _values(dc, a.input), a.identity))
        elif t == E.EVENT_TYPE_TIMER_STARTED:
            a = e.timer_started_event_attributes
            timers[e.event_id] = TimerRun(
                e.event_id, _at(e), a.timer_id, a.start_to_fire_timeout.ToTimedelta(), await _summary(dc, e)
            )
            out.timers.append(timers[e.event_id])
        elif t in (E.EVENT_TYPE_TIMER_FIRED, E.EVENT_TYPE_TIMER_CANCELED):
            a = e.timer_fired_event_attributes if t == E.EVENT_TYPE_TIMER_FIRED else e.timer_canceled_event_attributes
            timer = timers[a.started_event_id]
            timer.status = "fired" if t == E.EVENT_TYPE_TIMER_FIRED else "canceled"
            timer.closed(e)
        elif t in _CLOSES:
            await _closed(dc, e, out)
    return out


_CLOSES = {
    E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED: "completed",
    E.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED: "failed",
    E.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED: "terminated",
    E.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED: "canceled",
    E.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT: "timed_out",
    E.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW: "continued_as_new",
}


async def _closed(dc: DataConverter, e: HistoryEvent, out: Parsed) -> None:
    out.close, out.close_event_id, out.closed_at = _CLOSES[e.event_type], e.event_id, _at(e)
    if e.event_type == E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
        out.close_detail = await _value(dc, e.workflow_execution_completed_event_attributes.result)
    elif e.event_type == E.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
        out.close_detail = await _failure(dc, e.workflow_execution_failed_event_attributes.failure)
    elif e.event_type == E.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:
        a = e.workflow_execution_terminated_event_attributes
        out.close_detail, out.close_identity = a.reason, a.identity
