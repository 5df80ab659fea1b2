"""Messages: the rules (which event tells whom), their words in each language, and sending through a
real SMTP server on loopback (aiosmtpd) from the production worker on the time-skipping server:
once per event, in the applicant's language, dead letters on permanent failures and their resend."""

import email
import email.policy
import socket
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select
from sqlalchemy.orm import Session
from temporalio.testing import WorkflowEnvironment

from domain.db import outbox
from domain.db.outbox import OutboxRow, WebhookSubscription
from domain.edition import edition_4_settings
from domain.messages import Facts, Kind, on_stage, review_message
from domain.models import Stage
from domain.reference import DocumentKind
from infra.actor_header import ActorHeader
from infra.settings import Settings
from infra.temporal_connection import data_converter
from outbound.render import LANGUAGES, catalog, reference, render
from outbound.sink import WriteEml
from simulation.dev_server import DEV_SERVER
from simulation.driver import Driver
from simulation.factories import make_submission
from simulation.waiting import until
from simulation.webhook_receiver import receiving
from worker import DIGEST_SCHEDULE_ID, OUTBOX_SCHEDULE_ID, build_worker, ensure_schedules
from workflows.outbox import DigestRun, DigestWorkflow, OutboxRun, OutboxWorkflow

FACTS = Facts(application_id="moazara-4-ASSO-9", edition=4, title="Atelier", applicant_name="Association Tilila",
              applicant_email="contact@tilila.ma", language="ar", region_code="07")  # fmt: skip


def test_every_kind_has_its_subject_and_body_in_each_language_and_renders_with_any_params():
    for language in LANGUAGES:
        words = catalog(language)
        for kind in Kind:
            for part in ("subject", "body"):
                assert words.gettext(f"{part}:{kind.value}") != f"{part}:{kind.value}", (language, kind, part)
            r = render(
                "m-1",
                kind.value,
                language,
                {"title": "T", "amount": "1234.50", "deadline": "2025-03-01T10:00:00+00:00"},
            )
            assert r.subject and "{" not in r.text and "{" not in r.subject


def test_the_rules_tell_the_applicant_with_the_deadline_and_a_reviewer_never_who_applied():
    at = datetime(2025, 3, 1, 9, tzinfo=UTC)
    (m,) = on_stage(
        FACTS.model_copy(update={"deadline_days": {"documents_deadline_days": 15}}), Stage.AWAITING_DOCUMENTS, 3, at, ""
    )
    assert m.kind == Kind.DOCUMENTS_MISSING and m.recipient.address == "contact@tilila.ma"
    assert (
        m.params["deadline"] == (at + timedelta(days=15)).isoformat() and m.id == "moazara-4-ASSO-9.stage-3.applicant"
    )
    assert on_stage(FACTS, Stage.REVIEW, 4, at, "") == []  # nothing to tell the applicant there
    r = review_message(FACTS, Kind.REVIEW_ASSIGNED, "assigned", "amal", "amal@ministere.ma")
    shown = render(r.id, r.kind.value, "fr", r.params)
    assert "ASSO-9" not in shown.text + shown.subject and "Tilila" not in shown.text and "ASSO-9" not in reference(r.id)
    ar = render(
        "x", Kind.TRANCHE_PAID.value, "ar", {"tranche": "1", "amount": "24000.00", "title": "T", "reference": "R"}
    )
    assert 'dir="rtl"' in ar.html and "24" in ar.text and "MAD" in ar.text or "د.م." in ar.text


class Switch(WriteEml):
    """The sink, which can refuse a recipient for good (550) or for now (451)."""

    refuse: dict[str, str] = {}

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        code = self.refuse.get(address)
        if code:
            return f"{code} not now" if code.startswith("4") else f"{code} no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.fixture
def mail(tmp_path):
    handler = Switch(tmp_path / "mail")
    handler.refuse = {}
    with socket.socket() as probe:  # a free port (aiosmtpd checks its own readiness by connecting to it)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port, tmp_path / "mail"
    controller.stop()


def received(folder: Path) -> list[email.message.EmailMessage]:
    return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in sorted(folder.glob("*.eml"))]


async def recent_actions(client, schedule_id: str) -> list:
    return (await client.get_schedule_handle(schedule_id).describe()).info.recent_actions


async def test_messages_go_out_once_per_event_in_the_applicants_language(ts_env, sqlite_repo, executor, mail):
    handler, port, folder = mail
    settings = Settings(
        task_queue=f"mail-{uuid.uuid4().hex[:8]}", database_url=str(sqlite_repo.engine.url), smtp_port=port
    )
    sub = make_submission(f"ASSO-{uuid.uuid4().hex[:6].upper()}", documents=[DocumentKind.STATUTES])
    applicant = sub.applicant.model_copy(update={"email": "contact@tilila.ma", "language": "ar"})
    sub = sub.model_copy(update={"applicant": applicant})
    async with build_worker(ts_env.client, sqlite_repo, settings, executor):
        d = Driver(ts_env, settings.task_queue, edition_4_settings())
        h = await d.start(sub)
        await d.reach(h, Stage.AWAITING_DOCUMENTS)

        async def send() -> object:
            return await ts_env.client.execute_workflow(
                OutboxWorkflow.run,
                OutboxRun(started_by="test"),
                id=f"outbox-{uuid.uuid4().hex[:6]}",
                task_queue=settings.task_queue,
            )

        first = await send()
        assert first.sent == 2 and first.dead == 0
        again = await send()
        assert again.sent == 0  # once per event
        await d.cleanup()
    kinds = {m["Subject"]: m for m in received(folder)}
    assert len(kinds) == 2
    missing = next(m for s, m in kinds.items() if "وثائق" in s)
    html = missing.get_body(("html",)).get_content()
    text = missing.get_body(("plain",)).get_content()
    assert 'dir="rtl"' in html and 'lang="ar"' in html and missing["To"] == "contact@tilila.ma"
    assert missing["Content-Language"] == "ar"
    assert missing["Message-ID"] == f"<{reference(h.id + '.stage-3.applicant')}@moazara.local>"
    deadline = datetime.now(UTC) + timedelta(days=15)
    assert str(deadline.year) in text  # the deadline, written in Arabic with Western digits


async def test_a_permanent_failure_is_dead_until_resent_and_a_transient_one_waits(ts_env, sqlite_repo, executor, mail):
    handler, port, folder = mail
    settings = Settings(
        task_queue=f"mail-{uuid.uuid4().hex[:8]}", database_url=str(sqlite_repo.engine.url), smtp_port=port
    )
    gone, busy = (
        make_submission(f"ASSO-{uuid.uuid4().hex[:6].upper()}"),
        make_submission(f"ASSO-{uuid.uuid4().hex[:6].upper()}"),
    )
    gone = gone.model_copy(update={"applicant": gone.applicant.model_copy(update={"email": "gone@tilila.ma"})})
    busy = busy.model_copy(update={"applicant": busy.applicant.model_copy(update={"email": "busy@tilila.ma"})})
    handler.refuse = {"gone@tilila.ma": "550", "busy@tilila.ma": "451"}
    now = datetime.now(UTC)
    for sub in (gone, busy):
        sqlite_repo.record_submission(sub.application_id, sub.application_id, sub, "portal", now)
    async with build_worker(ts_env.client, sqlite_repo, settings, executor):
        result = await ts_env.client.execute_workflow(
            OutboxWorkflow.run, OutboxRun(), id=f"outbox-{uuid.uuid4().hex[:6]}", task_queue=settings.task_queue
        )
        assert (result.sent, result.dead, result.retrying) == (0, 1, 1)
        with Session(sqlite_repo.engine) as s:
            rows = {
                r.address: r
                for r in s.scalars(select(OutboxRow).where(OutboxRow.address.in_(["gone@tilila.ma", "busy@tilila.ma"])))
            }
        assert rows["gone@tilila.ma"].state == "dead" and "550" in rows["gone@tilila.ma"].last_error
        assert rows["busy@tilila.ma"].state == "pending" and rows["busy@tilila.ma"].next_attempt_at > now
        handler.refuse = {}
        with Session(sqlite_repo.engine) as s, s.begin():
            assert outbox.resend(s, rows["gone@tilila.ma"].id, datetime.now(UTC))
        result = await ts_env.client.execute_workflow(
            OutboxWorkflow.run, OutboxRun(), id=f"outbox-{uuid.uuid4().hex[:6]}", task_queue=settings.task_queue
        )
        assert result.sent == 1  # the resent one; the transient one waits for its next attempt
    assert [m["To"] for m in received(folder)] == ["gone@tilila.ma"]


@pytest.fixture
def receiver():
    """A partner system on loopback verifying each call's signature (simulation/webhook_receiver.py)."""
    with receiving() as server:
        yield server


async def test_a_subscribed_partner_is_told_by_a_signed_webhook_once_per_event(
    ts_env, sqlite_repo, executor, mail, receiver
):
    _, port, _ = mail
    settings = Settings(
        task_queue=f"hook-{uuid.uuid4().hex[:8]}",
        database_url=str(sqlite_repo.engine.url),
        smtp_port=port,
        webhook_secrets={"portal-k1": receiver.secret},
    )
    now = datetime.now(UTC)
    with Session(sqlite_repo.engine) as s, s.begin():
        url = receiver.url
        s.add(
            WebhookSubscription(
                name="portal", url=url, key_id="portal-k1", receives=["applicant"], active=True, updated_at=now
            )
        )
    told, refused = (
        make_submission(f"ASSO-{uuid.uuid4().hex[:6].upper()}"),
        make_submission(f"ASSO-{uuid.uuid4().hex[:6].upper()}"),
    )
    sqlite_repo.record_submission(told.application_id, told.application_id, told, "portal", now)

    async def send():
        return await ts_env.client.execute_workflow(
            OutboxWorkflow.run, OutboxRun(), id=f"outbox-{uuid.uuid4().hex[:6]}", task_queue=settings.task_queue
        )

    async with build_worker(ts_env.client, sqlite_repo, settings, executor):
        assert (await send()).sent == 1  # the webhook (the applicant has no email address: undeliverable)
        assert (await send()).sent == 0
        (call,) = receiver.calls
        message_id = f"{told.application_id}.submitted.applicant.portal"
        assert call["key"] == call["id"] == reference(message_id) and call["key_id"] == "portal-k1"
        assert call["event"] == "submission_received" and call["application_id"] == told.application_id
        receiver.status = 400  # the partner refuses for good: dead, for ops
        sqlite_repo.record_submission(refused.application_id, refused.application_id, refused, "portal", now)
        assert (await send()).dead == 1
    with Session(sqlite_repo.engine) as s:
        row = s.get(OutboxRow, f"{refused.application_id}.submitted.applicant.portal")
        assert row.state == "dead" and row.channel == "webhook" and "HTTP 400" in row.last_error


async def test_the_officers_digest_lists_a_days_escalations_once(ts_env, sqlite_repo, executor, mail):
    _, port, folder = mail
    settings = Settings(
        task_queue=f"digest-{uuid.uuid4().hex[:8]}",
        database_url=str(sqlite_repo.engine.url),
        smtp_port=port,
        digest_recipients=["direction@ministere.ma"],
    )
    now = datetime.now(UTC)
    late = [make_submission(f"ASSO-{uuid.uuid4().hex[:6].upper()}") for _ in range(2)]
    for sub in late:
        sqlite_repo.record_submission(sub.application_id, sub.application_id, sub, "portal", now)
        sqlite_repo.record_notice(
            sub.application_id, "committee-escalation", "escalation", "no committee decision in time", now
        )

    async def run(workflow, arg):
        return await ts_env.client.execute_workflow(
            workflow, arg, id=f"run-{uuid.uuid4().hex[:6]}", task_queue=settings.task_queue
        )

    async with build_worker(ts_env.client, sqlite_repo, settings, executor):
        day = DigestRun(until=now + timedelta(minutes=1))
        assert await run(DigestWorkflow.run, day) == 2
        assert await run(DigestWorkflow.run, day) == 2  # listed again, but the day's message exists
        await run(OutboxWorkflow.run, OutboxRun())
    (digest,) = [m for m in received(folder) if m["To"] == "direction@ministere.ma"]
    text = digest.get_body(("plain",)).get_content()
    assert "2 escalade(s)" in digest["Subject"] and all(sub.application_id in text for sub in late)
    assert "no committee decision in time" in text


async def test_the_schedules_are_created_and_the_digest_runs_when_triggered_on_the_dev_server(tmp_path, executor):
    from domain.db.repository import Repository
    from domain.db.session import make_engine, migrate

    engine = make_engine(f"sqlite:///{tmp_path / 'moazara.db'}")
    migrate(engine)
    settings = Settings(task_queue=f"sched-{uuid.uuid4().hex[:8]}", database_url=str(engine.url), digest_hour=6)
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(DEV_SERVER), data_converter=data_converter(), interceptors=[ActorHeader()]
    )
    try:
        await ensure_schedules(env.client, settings)
        await ensure_schedules(env.client, settings)  # every worker calls it at start: the second keeps one
        digest = await env.client.get_schedule_handle(DIGEST_SCHEDULE_ID).describe()
        assert digest.schedule.spec.calendars[0].hour[0].start == 6
        assert digest.schedule.spec.time_zone_name == "Africa/Casablanca"
        outbox_every = (await env.client.get_schedule_handle(OUTBOX_SCHEDULE_ID).describe()).schedule.spec
        assert outbox_every.intervals[0].every == timedelta(seconds=settings.outbox_interval_seconds)
        async with build_worker(env.client, Repository(engine), settings, executor):
            await env.client.get_schedule_handle(DIGEST_SCHEDULE_ID).trigger()
            actions = await until(
                lambda: recent_actions(env.client, DIGEST_SCHEDULE_ID), bool, "the digest triggered", seconds=10
            )
            started = actions[0].action
            result = await env.client.get_workflow_handle(started.workflow_id).result()
            assert result == 0  # nothing escalated in this empty programme
    finally:
        await env.shutdown()
        engine.dispose()
