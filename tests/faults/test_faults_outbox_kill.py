"""The worker is killed (SIGKILL) while it sends a message: after the mail server took it, before
the outbox heard so. What the recipient and ops check: the message arrives again from the new
worker under the same Message-ID (one distinct id for the event), it is marked sent once, and
nothing else is lost.

Real parts: a Temporal dev server, `python worker.py` processes, a SQLite domain database, and an
SMTP server on loopback (aiosmtpd) that takes the message and then keeps the first sender waiting
on QUIT, so the kill lands between delivery and the outbox's mark."""

import asyncio
import email
import email.policy
import socket
import uuid
from datetime import UTC, datetime

from aiosmtpd.controller import Controller
from sqlalchemy.orm import Session
from temporalio.testing import WorkflowEnvironment

from domain.db.outbox import OutboxRow
from domain.db.repository import Repository
from domain.db.session import make_engine, migrate
from infra.temporal_connection import data_converter
from outbound.render import reference
from outbound.sink import WriteEml
from simulation.dev_server import DEV_SERVER
from simulation.factories import make_submission
from simulation.processes import client_settings, codec_settings, start_worker
from simulation.waiting import until
from workflows.outbox import OutboxRun, OutboxWorkflow


class SlowToSayGoodbye(WriteEml):
    """Takes every message; keeps the first conversation waiting after it (on QUIT)."""

    waited = False

    async def handle_QUIT(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        if not SlowToSayGoodbye.waited:
            SlowToSayGoodbye.waited = True
            await asyncio.sleep(120)
        return "221 Bye"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_a_worker_killed_mid_send_leaves_one_message_id_and_one_sent_mark(tmp_path):
    async with asyncio.timeout(180):  # a guard against a hang, not a measure
        mail = tmp_path / "mail"
        port = free_port()
        sink = Controller(SlowToSayGoodbye(mail), hostname="127.0.0.1", port=port)
        sink.start()
        engine = make_engine(f"sqlite:///{tmp_path / 'moazara.db'}")
        migrate(engine)
        env = {
            **codec_settings(),
            "TASK_QUEUE": f"mailkill-{uuid.uuid4().hex[:8]}",
            "DATABASE_URL": str(engine.url),
            "SMTP_PORT": str(port),
            "SMTP_TIMEOUT_SECONDS": "120",
            "OUTBOX_INTERVAL_SECONDS": "3600",  # only the test's own run sends
        }
        server = await WorkflowEnvironment.start_local(
            dev_server_existing_path=str(DEV_SERVER), data_converter=data_converter(client_settings(env))
        )
        env["TEMPORAL_ADDRESS"] = server.client.service_client.config.target_host
        workers = []
        try:
            sub = make_submission(f"KILL-{uuid.uuid4().hex[:6].upper()}")
            sub = sub.model_copy(update={"applicant": sub.applicant.model_copy(update={"email": "contact@tilila.ma"})})
            Repository(engine).record_submission(
                sub.application_id, sub.application_id, sub, "portal", datetime.now(UTC)
            )
            a = start_worker("worker-a", env, tmp_path)
            workers.append(a)
            await a.wait_ready()
            run = await server.client.start_workflow(
                OutboxWorkflow.run, OutboxRun(started_by="test"), id="outbox-kill", task_queue=env["TASK_QUEUE"]
            )
            # the server took the message; worker A waits on QUIT
            await until(lambda: asyncio.to_thread(lambda: list(mail.glob("*.eml"))), bool, "a message taken", 30)
            a.kill()
            with Session(engine) as s:
                assert s.get(OutboxRow, f"{sub.application_id}.submitted.applicant").state == "pending"
            b = start_worker("worker-b", env, tmp_path)
            workers.append(b)
            await b.wait_ready()
            result = await run.result()  # the activity's heartbeat timeout gives it to worker B
            assert result.sent == 1, b.log_tail()
        finally:
            for w in workers:
                w.stop()
            await server.shutdown()
            sink.stop()
    copies = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in sorted(mail.glob("*.eml"))]
    assert len(copies) == 2  # delivered twice: once before the kill, once by worker B
    assert {m["Message-ID"] for m in copies} == {
        f"<{reference(sub.application_id + '.submitted.applicant')}@moazara.local>"
    }
    with Session(engine) as s:
        row = s.get(OutboxRow, f"{sub.application_id}.submitted.applicant")
        assert row.state == "sent" and row.attempts == 1
    engine.dispose()
