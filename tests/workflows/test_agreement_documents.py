"""The funding agreement as the workflow issues it (issue 15, documents item 2), on the time-skipping
server with a real SQLite database and document store: its hash and version in the status as the
application enters the agreement stage, the PDF kept under that hash; a signature naming another
hash, or none, refused naming `agreement_sha256`; the right one accepted with its signed scan
linked; a payment advice issued per paid order; every document and its hash on the auditor's
timeline. A history from before (no agreement issued) replays: tests/audit/test_audit_replay.py."""

import hashlib
import uuid
from datetime import date

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.worker import Worker

from activities.application import ApplicationActivities
from audit import events, histories, timeline
from codec.keys import new_key
from documents.issue import issue
from documents.store import DirectoryStore
from domain.calendar import local_date
from domain.edition import edition_4_settings
from domain.models import AgreementSigned, Stage
from frontdoor import Actor, ResultCode, send_update
from infra import vault
from infra.failure_converter import refusal_of, refusal_reason
from infra.settings import Settings
from simulation.driver import Driver
from simulation.factories import make_submission, valid_rib
from tests.documents.pdf_checks import text_of
from workflows.actor import ActorFromHeader
from workflows.application import ApplicationWorkflow as W
from workflows.missing_inputs import RefuseMissingInputs
from workflows.names import ApplicationUpdate as U

OFFICER = Actor(id="officer-amina", door="console", roles=frozenset({"officer"}))
SIGNED = {"signed_by": "officer-amina", "signed_on": date(2024, 2, 1), "bank_account": valid_rib(3)}


@pytest.fixture
async def run(ts_env, sqlite_repo, executor, tmp_path):
    """A worker with its own document store and vault; yields a Driver, the repository, the store
    and the vault."""
    store = DirectoryStore(tmp_path / "documents")
    keys = Settings(secrets_file=None, codec_keys={"a": new_key()}, codec_encrypt_key="a")
    accounts = vault.bank_accounts(keys, sqlite_repo.engine)
    queue = f"agreement-{uuid.uuid4().hex[:8]}"
    async with Worker(
        ts_env.client,
        task_queue=queue,
        workflows=[W],
        activities=ApplicationActivities(sqlite_repo, bank_accounts=accounts, store=store).all(),
        activity_executor=executor,
        interceptors=[RefuseMissingInputs(), ActorFromHeader()],  # refusals with their codes, as production
    ):
        d = Driver(ts_env, queue, edition_4_settings())
        yield d, sqlite_repo, store, accounts
        await d.cleanup()


async def _in_agreement(d: Driver, reg: str):
    h = await d.start(make_submission(reg))
    await d.review_all(h)
    await d.select(h)
    return h, await d.reach(h, Stage.AGREEMENT)


async def _refused(h, signature: AgreementSigned) -> tuple[str, str]:
    with pytest.raises(WorkflowUpdateFailedError) as e:
        await h.execute_update(W.sign_agreement, signature)
    found = refusal_of(e.value)
    assert found is not None
    return found[0], refusal_reason(e.value)


async def test_the_agreement_issued_is_the_one_a_signature_names_with_its_scan(run):
    d, repo, store, _ = run
    h, s = await _in_agreement(d, "DOC-SIGN")
    sha = s.agreement_sha256
    assert sha is not None and s.agreement_version == 1
    agreement = store.get(sha)  # the PDF in the store is the one the hash names
    assert hashlib.sha256(agreement).hexdigest() == sha
    assert "DOC-SIGN" in text_of(agreement) and "40" in text_of(agreement)
    [issued] = repo.get_application(h.id)["documents"]
    assert (issued["kind"], issued["sha256"], issued["version"], issued["language"]) == ("agreement", sha, 1, "fr")

    # Once issued, a signature must name it: none, or another hash, is refused naming the field.
    code, reason = await _refused(h, AgreementSigned(**SIGNED))
    assert code == "agreement.hash_missing"
    assert reason.startswith(f"agreement_sha256: name the agreement you sign: version 1 was issued with sha256 {sha}")
    other = hashlib.sha256(b"another agreement").hexdigest()
    code, reason = await _refused(h, AgreementSigned(**SIGNED, agreement_sha256=other))
    assert code == "agreement.other_version"
    assert reason == f"agreement_sha256: {other} is not the agreement issued: version 1 has sha256 {sha}"
    assert (await d.status(h)).stage == Stage.AGREEMENT  # refused: nothing changed

    scan = b"%PDF-1.4\n% the agreement signed by both parties, scanned\n"
    scan_sha, _ = store.put(scan, "signed_scan.pdf")  # as a front door keeps it before signing
    answer = await h.execute_update(
        W.sign_agreement, AgreementSigned(**SIGNED, agreement_sha256=sha.upper(), scan_sha256=scan_sha)
    )
    assert "agreement signed" in answer.message
    [key] = await d.pay_pending(h)
    await d.reach(h, Stage.MONITORING)

    docs = {d_["kind"]: d_ for d_ in repo.get_application(h.id)["documents"]}
    assert set(docs) == {"agreement", "signed_scan", "payment_advice"}
    signed = docs["signed_scan"]
    assert (signed["sha256"], signed["version"], signed["content_type"], signed["recorded_by"]) == (
        scan_sha,
        1,
        "application/pdf",
        "officer-amina",
    )
    advice = docs["payment_advice"]
    assert (advice["order_key"], advice["language"]) == (key, "fr")
    assert key in text_of(store.get(advice["sha256"]))
    [decision] = [x for x in repo.get_application(h.id)["decisions"] if x["kind"] == "agreement"]
    assert decision["payload"]["agreement_sha256"] == sha and decision["payload"]["scan_sha256"] == scan_sha

    # What the workflow issued is what the whole record gives (it reads only what documents use).
    whole = repo.get_application(h.id)
    on = local_date(advice["at"])  # the day the workflow issued it
    again, _, _ = issue(repo.engine, whole, "payment_advice", "fr", store, on, key, edition_4_settings(), anew=True)
    assert again == advice["sha256"]

    # The auditor's timeline: each document and its hash, in order.
    parsed = await events.parse(await histories.fetch(d.client, h.id), d.client.data_converter)
    entries = [e for e in timeline.build(parsed).entries if e.kind == "document"]
    assert [e.summary for e in entries] == [
        f"agreement issued (version 1, sha256 {sha})",
        f"signed scan recorded (sha256 {scan_sha}, signs version 1)",
        f"agreement signed (sha256 {sha}, scan sha256 {scan_sha})",
        f"payment advice of order {key} issued (sha256 {advice['sha256']})",
    ]
    assert entries[2].actor == "officer-amina"
    assert all(e.message and e.message.format(**e.params) == e.summary for e in entries)  # what the console translates


async def test_a_front_door_signature_names_the_agreement_the_status_shows(run):
    """The CLI, the console and the gateway send signatures through the front door, which names the
    agreement issued when the signer named none (the version they were shown)."""
    d, repo, _, accounts = run
    h, s = await _in_agreement(d, "DOC-DOOR")
    other = hashlib.sha256(b"an older version").hexdigest()
    named = await send_update(
        d.client, h.id, U.SIGN_AGREEMENT, AgreementSigned(**SIGNED, agreement_sha256=other), OFFICER, vault=accounts
    )
    assert (named.code, named.field, named.refusal) == (
        ResultCode.REFUSED,
        "agreement_sha256",
        "agreement.other_version",
    )
    result = await send_update(d.client, h.id, U.SIGN_AGREEMENT, AgreementSigned(**SIGNED), OFFICER, vault=accounts)
    assert result.accepted and "agreement signed" in result.message
    [decision] = [x for x in repo.get_application(h.id)["decisions"] if x["kind"] == "agreement"]
    assert (decision["payload"]["agreement_sha256"], decision["payload"]["agreement_version"]) == (
        s.agreement_sha256,
        1,
    )
