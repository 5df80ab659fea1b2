"""What a foreign client sends that the codec cannot open, or sends around it (issue 14, items 1-2).

On the production worker (worker.build_worker, the service's data converter) and the time-skipping
server, an application waits in review and an edition is open. Clients other than ours send:
a forged `binary/encrypted` payload, a payload sealed with a key the service does not have, raw
`binary/plain` bytes, and plain JSON without the codec. Each update is refused with a reason naming
the input, not retryable; each signal is dropped; no workflow task fails, the history gains
nothing, and the workflow answers its next query and its next valid update at once.
"""

import dataclasses
import os
import uuid
from collections.abc import Sequence

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import PayloadCodec
from temporalio.exceptions import ApplicationError

from codec.aes_gcm import CIPHER, ENCODING, KEY_ID
from domain.db.repository import Repository
from domain.db.session import make_engine, migrate
from domain.edition_messages import EditionInput, SeatFreed, edition_workflow_id
from domain.models import Answer, Stage, Withdrawal
from infra.settings import Settings
from simulation.driver import Driver
from simulation.factories import make_review, make_submission, settings_with
from simulation.waiting import until
from tests.codec.test_codec import payloads_in, raw_payloads
from worker import build_worker
from workflows.application import ApplicationWorkflow
from workflows.edition import EditionWorkflow


class Forging(PayloadCodec):
    """Labels random bytes as encrypted (with `key_id`, by default the service's own); reads answers
    with the real codec."""

    def __init__(self, real: PayloadCodec, key_id: bytes | None = None) -> None:
        self.real, self.key_id = real, key_id

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        if self.key_id is None:
            [sealed] = await self.real.encode([Payload()])
            self.key_id = sealed.metadata[KEY_ID]
        meta = {"encoding": ENCODING, "encryption-cipher": CIPHER, KEY_ID: self.key_id}
        return [Payload(metadata=meta, data=os.urandom(12 + len(p.data) + 16)) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return await self.real.decode(payloads)


@pytest.fixture(scope="module")
async def waiting(ts_env, tmp_path_factory, executor):
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('undecodable') / 'moazara.db'}")
    migrate(engine)
    config = Settings(task_queue=f"undec-{uuid.uuid4().hex[:8]}", database_url=str(engine.url))
    async with build_worker(ts_env.client, Repository(engine), config, executor):
        d = Driver(ts_env, config.task_queue, settings_with(edition=90))
        application = await d.start(make_submission(f"UNDEC-{uuid.uuid4().hex[:6].upper()}"))
        await d.reach(application, Stage.REVIEW)
        edition = await ts_env.client.start_workflow(
            EditionWorkflow.run,
            EditionInput(settings=settings_with(edition=90), opened_by="officer-test"),
            id=edition_workflow_id(90),
            task_queue=config.task_queue,
        )
        d.handles.append(edition)
        # Its call closed long before the test server's today: it proposes at once. Settled there,
        # the tests see the edition change only by what they send.
        await until(lambda: edition.query(EditionWorkflow.get_status), lambda s: s.proposal is not None, "a proposal")
        yield ts_env.client, application, edition
        await d.cleanup()
    engine.dispose()


def client_with(client: Client, codec: PayloadCodec | None) -> Client:
    converter = dataclasses.replace(client.data_converter, payload_codec=codec) if codec else pydantic_data_converter
    return Client(client.service_client, namespace=client.namespace, data_converter=converter)


async def task_failures(h: WorkflowHandle) -> int:
    history = await h.fetch_history()
    return sum(e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED for e in history.events)


async def refusal(h: WorkflowHandle, update: str, payload, **kw) -> ApplicationError:
    with pytest.raises(WorkflowUpdateFailedError) as e:
        await h.execute_update(update, payload, result_type=Answer, **kw)
    assert isinstance(e.value.cause, ApplicationError)
    return e.value.cause


WORKFLOW_TASK = {"WORKFLOW_TASK_SCHEDULED", "WORKFLOW_TASK_STARTED", "WORKFLOW_TASK_COMPLETED"}
WITHDRAWAL = Withdrawal(requested_by="a-foreign-client", reason="not a real request")


@pytest.mark.parametrize("update", ["withdraw", "cancel", "submit_review"])
async def test_a_forged_encrypted_input_is_refused_without_a_workflow_task_failure(waiting, update):
    client, application, _ = waiting
    forger = client_with(client, Forging(client.data_converter.payload_codec))
    before = (await application.fetch_history()).events

    cause = await refusal(forger.get_workflow_handle(application.id), update, WITHDRAWAL)
    assert cause.message.startswith("input: payload could not be decrypted with key 'dev-"), cause.message
    assert cause.message.endswith("a wrong key, or an altered payload")
    assert cause.non_retryable and cause.type == "Refused"

    assert await task_failures(application) == 0
    after = (await application.fetch_history()).events
    assert after[: len(before)] == before
    # Nothing of the update is written: no update event, no payload (the time-skipping server
    # records the workflow task that refused it, which the real server drops).
    assert {EventType.Name(e.event_type).removeprefix("EVENT_TYPE_") for e in after[len(before) :]} <= WORKFLOW_TASK
    assert not [p for e in after[len(before) :] for p in payloads_in(e)]
    status = await application.query(ApplicationWorkflow.get_status)
    assert status.stage == Stage.REVIEW


async def test_an_input_sealed_with_a_key_the_service_does_not_have_names_the_key(waiting):
    client, application, _ = waiting
    forger = client_with(client, Forging(client.data_converter.payload_codec, key_id=b"k-stolen"))
    cause = await refusal(forger.get_workflow_handle(application.id), "withdraw", WITHDRAWAL)
    assert "payload encrypted with key 'k-stolen', which is not configured" in cause.message
    assert await task_failures(application) == 0


@pytest.mark.parametrize("update", ["withdraw", "cancel"])
async def test_raw_bytes_are_refused_even_where_the_validator_never_reads_its_input(waiting, update):
    client, application, _ = waiting
    cause = await refusal(application, update, b"\x00\x01requested_by")  # binary/plain, encrypted
    assert cause.message == f"input: {update} needs its input as a JSON object, got bytes"
    assert cause.non_retryable
    assert await task_failures(application) == 0
    assert (await application.query(ApplicationWorkflow.get_status)).stage == Stage.REVIEW


async def test_plain_json_without_the_codec_is_refused_and_the_same_update_id_then_goes_through(waiting):
    client, application, _ = waiting
    plain = client_with(client, None).get_workflow_handle(application.id)
    review = make_review("r-plain", 6)
    update_id = f"review-{uuid.uuid4().hex[:6]}"

    cause = await refusal(plain, "submit_review", review, id=update_id)
    assert "was sent unencrypted" in cause.message and cause.non_retryable
    stored = await raw_payloads(client, application.id)
    assert b"r-plain" not in b"".join(p.data for p in stored)  # nothing of it in clear in the history

    # Refused, not applied: the sender's retry through the codec under the same id is taken.
    answer = await application.execute_update(ApplicationWorkflow.submit_review, review, id=update_id)
    assert isinstance(answer, Answer)
    assert (await application.query(ApplicationWorkflow.get_status)).reviews >= 1
    assert await task_failures(application) == 0


async def test_undecodable_signals_are_dropped_and_the_edition_goes_on(waiting):
    client, _, edition = waiting
    before = await edition.query(EditionWorkflow.get_status)
    freed = SeatFreed(application_id="EDITION90-NOBODY", reason="forged")
    forger = client_with(client, Forging(client.data_converter.payload_codec))
    await forger.get_workflow_handle(edition.id).signal("seat_freed", freed)
    await client_with(client, None).get_workflow_handle(edition.id).signal("seat_freed", freed)
    await edition.signal("seat_freed", b"\x00raw")

    assert await edition.query(EditionWorkflow.get_status) == before  # answered, unchanged
    assert await task_failures(edition) == 0
