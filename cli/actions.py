"""The CLI's calls to Temporal: small async functions taking a `Client`.

They address the workflow by name ("ApplicationWorkflow", its update and query names) so the
CLI does not import the worker's code; tests/cli/test_starter.py checks that every name and input
model matches ApplicationWorkflow. Business refusals come back as `Outcome(accepted=False)`;
errors that are not the workflow's answer (unknown id, Temporal unreachable, no worker) raise
`CliError`.
"""

import asyncio
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache
from typing import Any

from pydantic import BaseModel
from sqlalchemy.exc import OperationalError, ProgrammingError
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential

import frontdoor
from domain.db.bank_accounts import BankAccounts
from domain.edition_messages import MAX_BATCH, BatchAnswer, SubmissionAnswer, SubmissionBatch, edition_workflow_id
from domain.models import ApplicationInput, ApplicationStatus, ApplicationSubmission
from frontdoor import Actor, ResultCode, refusal_reason
from infra.failure_converter import asks_to_resend
from infra.settings import Settings, get_settings
from workflows import names

WORKFLOW = names.APPLICATION_WORKFLOW
STATUS_QUERY = names.GET_STATUS


class CliError(Exception):
    """Something other than the workflow's answer went wrong; nothing was changed."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.message, self.exit_code = message, exit_code


class NotFound(CliError):
    pass


@dataclass
class Outcome:
    """The workflow's answer to one input (or the refusal, with its reason)."""

    accepted: bool
    application_id: str
    message: str = ""
    stage: str | None = None
    reason: str = ""
    duplicate: bool = False

    def as_json(self) -> dict[str, Any]:
        if not self.accepted:
            return {"accepted": False, "application_id": self.application_id, "reason": self.reason}
        return {"accepted": True, "application_id": self.application_id, "message": self.message, "stage": self.stage}


async def connect_client(settings: Settings) -> Client:
    from infra.temporal_connection import connect  # the one way to connect: sets the pydantic data converter

    try:
        return await connect(settings)
    except Exception as e:  # noqa: BLE001 - any failure here means "cannot reach Temporal"
        raise CliError(
            f"cannot connect to Temporal at {settings.temporal_address} (namespace {settings.temporal_namespace}): {e}"
        ) from None


# --- Bank accounts ---------------------------------------------------------------------------------


@cache
def bank_accounts() -> BankAccounts:
    """The vault the CLI holds the RIBs it is given in (the worker's domain database)."""
    from infra import vault

    return vault.bank_accounts(get_settings())


def _held(inputs: list[ApplicationInput], vault: BankAccounts | None = None) -> list[ApplicationInput]:
    """The inputs with their RIBs held in the vault (references instead), or a CliError."""
    try:
        return frontdoor.held_all(inputs, vault or bank_accounts(), CLI_ACTOR.id)
    except (OperationalError, ProgrammingError) as e:
        raise CliError(f"cannot hold bank accounts in the domain database (is it migrated?): {e.orig}") from None


# --- Submission ------------------------------------------------------------------------------------


async def edition_running(client: Client, edition: int) -> bool:
    """Whether the edition's workflow is open: then it is the gate of every submission."""
    try:
        desc = await client.get_workflow_handle(edition_workflow_id(edition)).describe()
    except RPCError as e:
        if e.status == RPCStatusCode.NOT_FOUND:
            return False
        raise CliError(f"cannot reach the edition {edition}: {e.message}") from None
    return desc.status == WorkflowExecutionStatus.RUNNING


async def submit_to_edition(client: Client, submission: ApplicationSubmission) -> Outcome:
    """Submit through the edition's workflow: it refuses submissions outside the call window."""
    handle = client.get_workflow_handle(edition_workflow_id(submission.edition))
    try:
        answer = await edition_update(handle, names.EditionUpdate.SUBMIT, submission, SubmissionAnswer)
    except WorkflowUpdateFailedError as e:
        return Outcome(False, submission.application_id, reason=refusal_reason(e))
    except RPCError as e:
        raise CliError(f"edition {submission.edition} did not take {submission.application_id}: {e.message}") from None
    if not answer.accepted:
        return Outcome(False, answer.application_id, reason=answer.message, duplicate=answer.duplicate)
    return Outcome(
        True, answer.application_id, message=f"{answer.message} to edition {submission.edition}", stage="submitted"
    )


# Temporal bounds the updates in flight per workflow (10 on the dev server): one edition takes
# submissions this many at a time, and a caller told to wait tries again with backoff.
EDITION_CONCURRENCY = 8
# An import sends an open edition this many submissions per update (at most MAX_BATCH).
IMPORT_BATCH = 50


def _told_to_wait(e: BaseException) -> bool:
    """Temporal has too many updates in flight, or the edition is continuing as new."""
    return (isinstance(e, RPCError) and e.status == RPCStatusCode.RESOURCE_EXHAUSTED) or asks_to_resend(e)


async def edition_update(handle: Any, name: str, arg: Any, result_type: Any, attempts: int = 8) -> Any:
    """An update to an edition, sent again with exponential backoff while Temporal says it has too
    many in flight (RESOURCE_EXHAUSTED) or the edition moves to its next run (`asks_to_resend`); any
    other error, or the last attempt's, is raised."""
    async for attempt in AsyncRetrying(
        retry=retry_if_exception(_told_to_wait),
        wait=wait_exponential(multiplier=0.2, max=30),
        stop=stop_after_attempt(attempts),
        reraise=True,
    ):
        with attempt:
            return await handle.execute_update(name, arg, result_type=result_type)
    raise AssertionError("unreachable: tenacity returns or raises")


async def start_application(
    client: Client,
    inp: ApplicationInput,
    task_queue: str,
    via_edition: bool | None = None,
    vault: BankAccounts | None = None,
) -> Outcome:
    """Submit an application: through its edition's workflow when one is open, else by starting the
    application's workflow directly. A second application of the same applicant in the same edition
    (same workflow id, running or closed) is refused."""
    inp = _held([inp], vault)[0]
    if via_edition is None:
        via_edition = await edition_running(client, inp.submission.edition)
    if via_edition:
        return await submit_to_edition(client, inp.submission)
    app_id = inp.submission.application_id
    try:
        await client.start_workflow(
            WORKFLOW,
            inp,
            id=app_id,
            task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            result_type=ApplicationStatus,
        )
    except WorkflowAlreadyStartedError:
        return Outcome(
            False,
            app_id,
            reason=f"application {app_id} was already submitted: one application per applicant per edition",
            duplicate=True,
        )
    except RPCError as e:
        raise CliError(f"Temporal refused to start {app_id}: {e.message}") from None
    return Outcome(True, app_id, message=f"application {app_id} submitted by {inp.submitted_by}", stage="submitted")


@dataclass
class ImportResult:
    started: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (application id, why)


async def start_many(
    client: Client,
    inputs: Iterable[ApplicationInput],
    task_queue: str,
    concurrency: int = 32,
    on_done: Callable[[Outcome | None], None] | None = None,
    batch_size: int = IMPORT_BATCH,
    vault: BankAccounts | None = None,
) -> ImportResult:
    """Start every application, at most `concurrency` at a time. Duplicates are counted, not fatal.
    Applications of an open edition go to its workflow in batches (`submit_batch`)."""
    result = ImportResult()
    inputs = _held(list(inputs), vault)
    via = {e: await edition_running(client, e) for e in {i.submission.edition for i in inputs}}
    direct = [i for i in inputs if not via[i.submission.edition]]

    def count(outcome: Outcome) -> None:
        if outcome.accepted:
            result.started.append(outcome.application_id)
        elif outcome.duplicate:
            result.duplicates.append(outcome.application_id)
        else:
            result.failed.append((outcome.application_id, outcome.reason))
        if on_done:
            on_done(outcome)

    gate = asyncio.Semaphore(max(1, concurrency))

    async def one(inp: ApplicationInput) -> None:
        async with gate:
            try:
                outcome = await start_application(client, inp, task_queue, via_edition=False, vault=vault)
            except CliError as e:
                outcome = Outcome(False, inp.submission.application_id, reason=e.message)
        count(outcome)

    edition_gate = asyncio.Semaphore(min(max(1, concurrency), EDITION_CONCURRENCY))

    async def batch(edition: int, subs: list[ApplicationSubmission]) -> None:
        async with edition_gate:
            for outcome in await submit_batch_to_edition(client, edition, subs):
                count(outcome)

    batches = []
    size = max(1, min(batch_size, MAX_BATCH))
    for edition in sorted(e for e, open_ in via.items() if open_):
        subs = [i.submission for i in inputs if i.submission.edition == edition]
        batches += [batch(edition, subs[k : k + size]) for k in range(0, len(subs), size)]
    await asyncio.gather(*(one(i) for i in direct), *batches)
    result.started.sort()
    result.duplicates.sort()
    result.failed.sort()
    return result


async def submit_batch_to_edition(client: Client, edition: int, subs: list[ApplicationSubmission]) -> list[Outcome]:
    """One `submit_batch` update: an outcome per submission. A refused batch (the call closed, say)
    or an unreachable edition fails each of its submissions with the reason; nothing was started."""
    handle = client.get_workflow_handle(edition_workflow_id(edition))
    try:
        answer = await edition_update(
            handle, names.EditionUpdate.SUBMIT_BATCH, SubmissionBatch(submissions=subs), BatchAnswer
        )
    except WorkflowUpdateFailedError as e:
        reason = refusal_reason(e)
        return [Outcome(False, s.application_id, reason=reason) for s in subs]
    except RPCError as e:
        return [
            Outcome(False, s.application_id, reason=f"edition {edition} did not take the batch: {e.message}")
            for s in subs
        ]
    return [
        Outcome(True, a.application_id, message=f"{a.message} to edition {edition}", stage="submitted")
        if a.accepted
        else Outcome(False, a.application_id, reason=a.message, duplicate=a.duplicate)
        for a in answer.answers
    ]


# --- Status ------------------------------------------------------------------------------------------


async def get_status(client: Client, workflow_id: str, timeout: float = 30) -> ApplicationStatus:
    handle = client.get_workflow_handle(workflow_id)
    try:
        return await handle.query(STATUS_QUERY, result_type=ApplicationStatus, rpc_timeout=timedelta(seconds=timeout))
    except RPCError as e:
        if e.status == RPCStatusCode.NOT_FOUND:
            raise NotFound(f"no application with id {workflow_id}") from None
        if e.status == RPCStatusCode.DEADLINE_EXCEEDED:
            raise CliError(f"no answer from {workflow_id} in {timeout:g}s: is a worker running?") from None
        raise CliError(f"cannot read the status of {workflow_id}: {e.message}") from None
    except (WorkflowQueryFailedError, WorkflowQueryRejectedError) as e:
        raise CliError(f"cannot read the status of {workflow_id}: {e}") from None


# --- Updates -------------------------------------------------------------------------------------------


# The person at the terminal: the CLI is run by ops on their own account.
CLI_ACTOR = Actor(id=os.environ.get("USER") or "ops", door="cli")


async def send_update(
    client: Client, workflow_id: str, update: str, payload: BaseModel, timeout: float = 60
) -> Outcome:
    """Send one validated input to the application's workflow (through the front door) and return its
    answer or its refusal; no such workflow and Temporal's own failures are errors of the command."""
    result = await frontdoor.send_update(
        client, workflow_id, update, payload, CLI_ACTOR, timeout=timeout, vault=bank_accounts()
    )
    if result.code == ResultCode.NOT_FOUND:
        raise NotFound(await _not_found_message(client, workflow_id, result.reason))
    if result.code == ResultCode.UNAVAILABLE:
        raise CliError(f"Temporal refused the input for {workflow_id}: {result.reason}")
    if result.code == ResultCode.TIMEOUT:
        raise CliError(
            f"no answer from {workflow_id} in {timeout:g}s: is a worker running on its task queue? "
            "(the input may still be applied when a worker picks it up; check `status`)"
        )
    if not result.accepted:
        return Outcome(False, workflow_id, reason=result.reason)
    return Outcome(True, workflow_id, message=result.message, stage=result.stage)


async def _not_found_message(client: Client, workflow_id: str, reason: str) -> str:
    """NOT_FOUND is said of unknown ids and of closed workflows: tell them apart."""
    try:
        desc = await client.get_workflow_handle(workflow_id).describe()
    except RPCError:
        return f"no application with id {workflow_id}"
    if desc.status is not None and desc.status != WorkflowExecutionStatus.RUNNING:
        closed = desc.status.name.lower()
        try:
            closed = f"stage {(await get_status(client, workflow_id, timeout=10)).stage.value}"
        except CliError:
            pass  # no worker to answer the query: the execution status says enough
        return f"application {workflow_id} is closed ({closed}); it takes no more input"
    return f"application {workflow_id}: {reason}"
