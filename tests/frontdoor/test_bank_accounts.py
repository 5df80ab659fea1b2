"""Bank accounts never in clear outside the database (issue 14, item 4).

The front door holds every RIB it receives in the vault (encrypted at rest in the domain database)
and sends workflows only its reference: at submission, at signature and when bank details are
fixed. On the production worker (worker.build_worker) with a real payment system on loopback,
the payment system still receives the full account, while the Temporal history, the workflow's
status and the payment order rows hold only the reference (bank code and last four digits).
"""

import re
import uuid
from datetime import date

import pytest
from pydantic import BaseModel
from sqlalchemy import select, text

from audit import events, histories, timeline
from codec.keys import new_key
from domain.db.bank_accounts import BankAccounts, UnknownBankAccount
from domain.db.people_tables import BankAccountRow
from domain.db.repository import Repository
from domain.db.session import make_engine, migrate
from domain.edition import edition_4_settings
from domain.edition_messages import SubmissionBatch
from domain.models import AgreementSigned, ApplicationInput, BankDetailsApproved, BankDetailsFixed, Stage
from domain.rib import is_rib_ref, mask_rib
from frontdoor import Actor, ResultCode, held, send_update
from infra.settings import Settings
from infra.vault import bank_accounts
from simulation.driver import Driver
from simulation.factories import make_submission, valid_rib
from simulation.payment_system import FakePaymentSystem
from tests.codec.test_codec import raw_payloads
from worker import build_worker
from workflows.application import ApplicationWorkflow

FINANCE = Actor(id="finance-amina", door="console", roles=frozenset({"finance"}))
RIB_AT_SUBMISSION, RIB_AT_SIGNATURE, RIB_FIXED = valid_rib(11), valid_rib(12), valid_rib(13)
TWENTY_FOUR_DIGITS = re.compile(rb"(?<![0-9])[0-9]{24}(?![0-9])")


def keyed(tmp_path, **keys) -> Settings:
    return Settings(
        secrets_file=None, codec_keys=keys, codec_encrypt_key=list(keys)[-1], database_url=f"sqlite:///{tmp_path}/v.db"
    )


@pytest.fixture
def vault(tmp_path) -> BankAccounts:
    settings = keyed(tmp_path, a=new_key())
    engine = make_engine(settings.database_url)
    migrate(engine)
    return bank_accounts(settings, engine)


def test_a_rib_is_held_encrypted_once_and_only_its_reference_shows_the_bank_and_last_digits(vault):
    rib = valid_rib(7)
    ref = vault.hold(rib, "amina")
    assert is_rib_ref(ref) and ref.startswith(f"rib-{rib[:3]}-{rib[-4:]}-") and rib not in ref
    assert vault.hold(rib[:12] + " " + rib[12:], "karim") == ref  # the same account: the same row
    assert mask_rib(ref) == mask_rib(rib)
    with vault.engine.connect() as conn:
        rows = conn.execute(select(BankAccountRow)).all()
    assert len(rows) == 1 and rib.encode() not in rows[0].sealed and rows[0].held_by == "amina"
    assert vault.open(ref) == rib


def test_a_sealed_account_moved_to_another_reference_or_unknown_does_not_open(vault):
    ref_a, ref_b = vault.hold(valid_rib(1), "x"), vault.hold(valid_rib(2), "x")
    with vault.engine.begin() as conn:  # someone with database access swaps the ciphertexts
        sealed_b = conn.execute(text("SELECT sealed FROM bank_accounts WHERE ref = :r"), {"r": ref_b}).scalar()
        conn.execute(text("UPDATE bank_accounts SET sealed = :s WHERE ref = :r"), {"s": sealed_b, "r": ref_a})
    with pytest.raises(UnknownBankAccount, match="cannot be opened"):
        vault.open(ref_a)
    with pytest.raises(UnknownBankAccount, match="no account"):
        vault.open("rib-011-0001-0123456789abcdef")


def test_accounts_held_before_a_key_rotation_still_open(tmp_path):
    old = new_key()
    before = keyed(tmp_path, a=old)
    engine = make_engine(before.database_url)
    migrate(engine)
    ref = bank_accounts(before, engine).hold(valid_rib(3), "x")
    after = bank_accounts(keyed(tmp_path, a=old, b=new_key()), engine)
    assert after.open(ref) == valid_rib(3)
    assert after.hold(valid_rib(4), "x") != ref


def _inputs_with_a_bank_account() -> list[BaseModel]:
    sub = make_submission("ASSO-RIB-1", bank_account=RIB_AT_SUBMISSION)
    return [
        ApplicationInput(settings=edition_4_settings(), submission=sub),
        SubmissionBatch(submissions=[sub, make_submission("ASSO-RIB-2", bank_account=valid_rib(5))]),
        AgreementSigned(signed_by="o", signed_on=date(2024, 2, 1), bank_account=RIB_AT_SIGNATURE),
        BankDetailsFixed(bank_account=RIB_FIXED, fixed_by="f"),
    ]


@pytest.mark.parametrize("payload", _inputs_with_a_bank_account(), ids=lambda p: type(p).__name__)
def test_every_input_that_carries_a_bank_account_leaves_the_door_with_its_reference(vault, payload):
    assert TWENTY_FOUR_DIGITS.search(payload.model_dump_json().encode())
    out = held(payload, vault, FINANCE.id)
    assert type(out) is type(payload)
    assert not TWENTY_FOUR_DIGITS.search(out.model_dump_json().encode())
    assert type(payload).model_validate_json(out.model_dump_json()) == out  # still a valid input


def test_a_door_without_a_vault_refuses_a_rib_rather_than_send_it():
    with pytest.raises(ValueError, match="bank_account: this door has no vault"):
        held(_inputs_with_a_bank_account()[2], None, "x")


# --- End to end --------------------------------------------------------------------------------------


@pytest.fixture
async def paying(ts_env, tmp_path, executor):
    engine = make_engine(f"sqlite:///{tmp_path / 'moazara.db'}")
    migrate(engine)
    with FakePaymentSystem() as payments:
        settings = Settings(
            task_queue=f"rib-{uuid.uuid4().hex[:8]}", database_url=str(engine.url), payment_system_url=payments.url
        )
        async with build_worker(ts_env.client, Repository(engine), settings, executor):
            d = Driver(ts_env, settings.task_queue, edition_4_settings())
            yield d, payments, bank_accounts(settings, engine), engine
            await d.cleanup()
    engine.dispose()


async def test_payments_reach_the_payment_system_while_histories_hold_only_references(paying):
    d, payments, vault, engine = paying
    client = d.client
    sub = make_submission(f"ASSO-{uuid.uuid4().hex[:6].upper()}", bank_account=RIB_AT_SUBMISSION)
    inp = held(ApplicationInput(settings=d.settings, submission=sub), vault, FINANCE.id)
    h = await client.start_workflow(ApplicationWorkflow.run, inp, id=sub.application_id, task_queue=d.task_queue)
    d.handles.append(h)
    await d.review_all(h)
    await d.select(h)
    await d.reach(h, Stage.AGREEMENT)

    signed = AgreementSigned(signed_by="officer-7", signed_on=date(2024, 2, 1), bank_account=RIB_AT_SIGNATURE)
    result = await send_update(client, h.id, "sign_agreement", signed, FINANCE, vault=vault)
    assert result.code == ResultCode.ACCEPTED, result
    await d.reach(h, Stage.DISBURSEMENT, "payment system")
    assert payments.received[0].body["bank_account"] == RIB_AT_SIGNATURE  # the payment system gets the account

    await d.pay_pending(h, executed=False)  # the bank rejects it: the account is closed
    fixed = BankDetailsFixed(bank_account=RIB_FIXED, fixed_by="finance-amina")
    result = await send_update(client, h.id, "fix_bank_details", fixed, FINANCE, vault=vault)
    assert result.code == ResultCode.ACCEPTED, result
    # Four eyes, on the authenticated actor (whatever name the input types): the requester cannot approve.
    approval = BankDetailsApproved(approved_by="someone-else")
    same = await send_update(client, h.id, "approve_bank_details", approval, FINANCE, vault=vault)
    assert (same.code, same.field) == (ResultCode.REFUSED, "approved_by"), same
    second = Actor(id="finance-salma", door="console", roles=frozenset({"finance"}))
    result = await send_update(client, h.id, "approve_bank_details", approval, second, vault=vault)
    assert result.code == ResultCode.ACCEPTED, result
    await d.reach(h, Stage.DISBURSEMENT, "payment system")
    assert payments.received[-1].body["bank_account"] == RIB_FIXED

    # What Temporal holds, decoded with the staff key, and what the status shows: references only.
    decoded = await client.data_converter.payload_codec.decode(await raw_payloads(client, h.id))
    history = b"".join(p.data for p in decoded)
    assert not TWENTY_FOUR_DIGITS.search(history), "a full RIB in the workflow's history"
    for rib in (RIB_AT_SUBMISSION, RIB_AT_SIGNATURE, RIB_FIXED):
        assert f"rib-{rib[:3]}-{rib[-4:]}-".encode() in history
    status = await h.query(ApplicationWorkflow.get_status)
    assert not TWENTY_FOUR_DIGITS.search(status.model_dump_json().encode())
    with engine.connect() as conn:
        accounts = conn.execute(text("SELECT bank_account FROM payment_orders")).scalars().all()
    assert accounts and all(is_rib_ref(a) for a in accounts)

    # The auditor's timeline names the authenticated senders, not what the inputs typed.
    t = timeline.build(await events.parse(await histories.fetch(client, h.id), client.data_converter))
    senders = {e.detail.get("update"): e.actor for e in t.entries if e.kind == "update"}
    assert senders["fix_bank_details"] == "finance-amina via console"
    assert senders["approve_bank_details"] == "finance-salma via console"
