"""The unsigned agreement issued again when what it states changes (issue 15): finance changes the
bank details before signature (requested by one, approved by another) and the workflow issues the
agreement's next version, the status names its hash, the applicant is told a new version is ready,
a signature naming the old version (or another account) is refused, the auditor's timeline shows
both versions; after signature a change of bank details issues no new agreement, the payment goes
to the new account and its payment advice says so. Time-skipping server, real SQLite and store."""

import hashlib

from sqlalchemy import select
from sqlalchemy.orm import Session
from temporalio.client import WorkflowUpdateFailedError

from audit import events, histories, timeline
from domain.db.outbox import OutboxRow
from domain.models import AgreementSigned, BankDetailsApproved, BankDetailsFixed, Stage
from domain.rib import mask_rib
from outbound.render import render
from simulation.factories import valid_rib
from tests.documents.pdf_checks import text_of
from tests.workflows import test_agreement_documents as neighbour
from tests.workflows.test_agreement_documents import SIGNED, _in_agreement, _refused
from workflows.application import ApplicationWorkflow as W

run = neighbour.run  # the fixture: a worker with its own document store and vault
NEW_RIB, LATER_RIB = valid_rib(7_000_123), valid_rib(9_000_456)


def _agreements(repo, app_id: str) -> list[tuple[int, str]]:
    return [(d["version"], d["sha256"]) for d in repo.get_application(app_id)["documents"] if d["kind"] == "agreement"]


async def test_a_bank_details_change_before_signature_issues_the_next_version(run):
    d, repo, store, _ = run
    h, s = await _in_agreement(d, "DOC-REISSUE")
    v1 = s.agreement_sha256
    assert s.agreement_version == 1 and mask_rib(NEW_RIB) not in text_of(store.get(v1))

    await h.execute_update(W.fix_bank_details, BankDetailsFixed(bank_account=NEW_RIB, fixed_by="finance-karim"))
    waiting = await d.status(h)
    assert (waiting.agreement_version, waiting.waiting_code) == (1, "waiting.bank.approval")
    answer = await h.execute_update(W.approve_bank_details, BankDetailsApproved(approved_by="finance-salma"))

    s = await d.status(h)
    v2 = s.agreement_sha256
    assert s.stage == Stage.AGREEMENT and s.agreement_version == 2 and v2 != v1
    assert s.waiting_code == "waiting.agreement"
    assert f"agreement version 2 issued (sha256 {v2})" in answer.message
    assert _agreements(repo, h.id) == [(1, v1), (2, v2)]
    pdf = store.get(v2)
    assert hashlib.sha256(pdf).hexdigest() == v2
    assert mask_rib(NEW_RIB) in text_of(pdf)  # the new account, masked but for its last digits

    # The applicant is told a new version is ready, with its version and the stage's deadline.
    with Session(repo.engine) as db:
        told = {r.id: r for r in db.scalars(select(OutboxRow).where(OutboxRow.application_id == h.id))}
    first, second = (
        told[f"{h.id}.stage-{_agreement_stage_seq(repo, h.id)}.applicant"],
        told[f"{h.id}.agreement-v2.applicant"],
    )
    assert second.kind == "agreement_ready" and second.params["version"] == "2"
    assert second.params["deadline"] == first.params["deadline"]  # a new version gives no more time
    assert "version 2" in render(second.id, second.kind, "fr", second.params).subject

    # A signature naming the first version is refused, naming the one now issued.
    code, reason = await _refused(h, AgreementSigned(**SIGNED, agreement_sha256=v1))
    assert code == "agreement.other_version"
    assert reason == f"agreement_sha256: {v1} is not the agreement issued: version 2 has sha256 {v2}"
    # The signature's account is the one the agreement states.
    code, reason = await _refused(h, AgreementSigned(**SIGNED, agreement_sha256=v2))
    assert code == "agreement.other_account" and reason.startswith("bank_account: the agreement states the account")
    assert mask_rib(NEW_RIB) in reason and SIGNED["bank_account"] not in reason
    assert (await d.status(h)).stage == Stage.AGREEMENT

    await h.execute_update(
        W.sign_agreement, AgreementSigned(**(SIGNED | {"bank_account": NEW_RIB}), agreement_sha256=v2)
    )
    [decision] = [x for x in repo.get_application(h.id)["decisions"] if x["kind"] == "agreement"]
    assert (decision["payload"]["agreement_sha256"], decision["payload"]["agreement_version"]) == (v2, 2)

    # After signature: a rejected payment, new details (four eyes), no new agreement; the order
    # goes to the new account and its payment advice shows it.
    await d.pay_pending(h, executed=False)
    await d.fix_bank(h, LATER_RIB)
    [key] = await d.pay_pending(h)
    await d.reach(h, Stage.MONITORING)
    s = await d.status(h)
    assert (s.agreement_version, s.agreement_sha256) == (2, v2)
    assert _agreements(repo, h.id) == [(1, v1), (2, v2)]
    app = repo.get_application(h.id)
    [order] = app["orders"]
    assert (order["key"], order["attempt"], order["account_masked"]) == (key, 2, mask_rib(LATER_RIB))
    [advice] = [x for x in app["documents"] if x["kind"] == "payment_advice"]
    assert mask_rib(LATER_RIB) in text_of(store.get(advice["sha256"]))

    # The auditor's timeline shows both versions, then the signature of the second.
    parsed = await events.parse(await histories.fetch(d.client, h.id), d.client.data_converter)
    lines = [e.summary for e in timeline.build(parsed).entries if e.kind == "document"]
    assert lines[:3] == [
        f"agreement issued (version 1, sha256 {v1})",
        f"agreement issued (version 2, sha256 {v2})",
        f"agreement signed (sha256 {v2}, no scan)",
    ]


async def test_a_declined_change_issues_nothing_and_a_change_needs_an_issued_unsigned_agreement(run):
    d, repo, _, _ = run
    h, s = await _in_agreement(d, "DOC-DECLINE")
    await h.execute_update(W.fix_bank_details, BankDetailsFixed(bank_account=NEW_RIB, fixed_by="finance-karim"))
    with_same = BankDetailsApproved(approved_by="finance-karim")
    try:
        await h.execute_update(W.approve_bank_details, with_same)
        raise AssertionError("the requester's own approval was accepted")
    except WorkflowUpdateFailedError:
        pass
    await h.execute_update(W.approve_bank_details, BankDetailsApproved(approved_by="finance-salma", approved=False))
    after = await d.status(h)
    assert (after.agreement_version, after.agreement_sha256) == (1, s.agreement_sha256)
    assert after.waiting_code == "waiting.agreement"
    assert _agreements(repo, h.id) == [(1, s.agreement_sha256)]
    # Signed with the account of its choice (nothing was changed), then a change before any rejection is refused.
    await h.execute_update(W.sign_agreement, AgreementSigned(**SIGNED, agreement_sha256=s.agreement_sha256))
    await d.reach(h, Stage.DISBURSEMENT)
    try:
        await h.execute_update(W.fix_bank_details, BankDetailsFixed(bank_account=NEW_RIB, fixed_by="finance-karim"))
        raise AssertionError("a change of bank details with no rejected order was accepted")
    except WorkflowUpdateFailedError as e:
        assert "no rejected payment order" in str(e.cause)


def _agreement_stage_seq(repo, app_id: str) -> int:
    return next(c["seq"] for c in repo.get_application(app_id)["history"] if c["stage"] == "agreement")
