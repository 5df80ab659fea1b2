"""No secret in logs: the masking processors alone, then a whole lifecycle (worker, gateway, ops,
integrations) with every log line captured, structlog's and the standard library's, and scanned for
the bank accounts, phone numbers, national id, API keys, HMAC secrets and codec keys it used."""

import io
import json
import logging
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
import structlog

from domain.models import ReportReview, Stage
from domain.reference import LegalForm
from infra.log_config import configure_logging, mask_value, register_secrets
from infra.settings import get_settings
from simulation.factories import make_submission, valid_rib
from simulation.waiting import until
from tests.gateway.test_gateway import CLIENTS, GatewayStack, event_id, gw  # noqa: F401 - gw is the fixture
from workflows.application import ApplicationWorkflow

RIB = valid_rib(123)
PHONE, CIN = "+212 612 345 678", "BE123456"


@pytest.fixture
def captured():
    """Every log line of the process, through the production configuration, into a buffer."""
    buf = io.StringIO()
    root = logging.getLogger()
    saved_level, saved_config = root.level, structlog.get_config()
    configure_logging("json", "INFO", stream=buf, cache_loggers=False)
    try:
        yield buf
    finally:
        for h in [h for h in root.handlers if getattr(h, "_moazara", False)]:
            root.removeHandler(h)
        root.setLevel(saved_level)
        structlog.configure(**saved_config)


@pytest.mark.parametrize(
    "value, masked",
    [
        (f"paid to {RIB}", "paid to 007*****************" + RIB[-4:]),
        ("0077 8000 0000 0000 0012 3457", "007*****************3457"),  # grouped as printed on a RIB
        (f"call {PHONE} or 0612345678 or 00212 5 22 33 44 55", "call [phone] or [phone] or [phone]"),
        (f"CIN {CIN}", "CIN BE******"),
        ("Authorization: Bearer eyJhbGciOi.payload.sig", "Authorization: Bearer [masked]"),
        ("X-Signature sha256=" + "ab" * 32, "X-Signature sha256=[masked]"),
        ("key " + "A" * 43 + "=", "key [masked]"),
        # Not secrets: ids, keys of orders, amounts, dates and times stay readable.
        (
            "moazara-4-ASSO-0001:T1:region-02 24000.00 MAD on 2024-02-01T10:00:00+00:00",
            "moazara-4-ASSO-0001:T1:region-02 24000.00 MAD on 2024-02-01T10:00:00+00:00",
        ),
    ],
)
def test_masking_by_content(value, masked):
    assert mask_value(value) == masked


def test_masking_by_field_name_and_nested_values():
    event = {
        "bank_account": RIB,
        "phone": "0612345678",
        "api_key": "k-123456",
        "X-Signature": "sha256=00",
        "applicant": {"bank_account": RIB, "name": "Coopérative Atlas", "declared_links": [f"rib {RIB}"]},
        "amount": Decimal("24000.00"),
        "rural": True,
    }
    masked = mask_value(event)
    assert masked["bank_account"] == masked["applicant"]["bank_account"] == f"007{'*' * 17}{RIB[-4:]}"
    assert masked["phone"] == masked["api_key"] == masked["X-Signature"] == "[masked]"
    assert masked["applicant"]["name"] == "Coopérative Atlas" and RIB not in str(masked)
    assert masked["amount"] == Decimal("24000.00") and masked["rural"] is True


def test_both_chains_mask_messages_fields_and_tracebacks(captured):
    register_secrets(["configured-secret-9f8e7d"])
    structlog.get_logger("moazara.test").info(
        "structlog line", account=RIB, note=f"phone {PHONE}", token="configured-secret-9f8e7d"
    )
    logging.getLogger("temporalio.test").warning("stdlib line %s %s", RIB, "configured-secret-9f8e7d")
    try:
        raise ValueError(f"bad account {RIB}")
    except ValueError:
        logging.getLogger("uvicorn.error").exception("failed")
    text = captured.getvalue()
    lines = [json.loads(line) for line in text.splitlines()]
    assert [line["logger"] for line in lines] == ["moazara.test", "temporalio.test", "uvicorn.error"]
    assert RIB not in text and "612" not in text and "configured-secret-9f8e7d" not in text
    assert "ValueError: bad account 007*****" in lines[2]["exception"]


async def test_a_whole_lifecycle_logs_no_secret(gw: GatewayStack, captured):  # noqa: F811
    d = gw.driver
    sub = make_submission(
        f"COOP-{uuid.uuid4().hex[:6].upper()}",
        legal_form=LegalForm.COOPERATIVE,
        region_code="02",
        province="Oujda-Angad",
    )
    sub = sub.model_copy(update={"applicant": sub.applicant.model_copy(update={"phone": PHONE})})
    signed_rib, fixed_rib = valid_rib(2024), valid_rib(2025)
    h = await d.start(sub)
    await d.review_all(h)
    await d.select(h, Decimal("40000.00"), {"region-02": Decimal("40000.00")})
    await d.reach(h, Stage.COFUNDING, "region 02")
    r = await gw.post(
        f"/v1/applications/{h.id}/cofunding-decision",
        {"event_id": event_id(), "approved": True, "decided_by": "council"},
        "oriental",
        via="hmac",
    )
    assert r.status_code == 200, r.text
    assert (
        await gw.post(
            f"/v1/applications/{h.id}/cofunding-decision",
            {"event_id": event_id(), "approved": True, "decided_by": "x"},
            "oriental",
            key="key-guessed-0000",
        )
    ).status_code == 401
    await d.sign(h, signed_rib)

    async def pay(executed: bool = True) -> None:
        s = await d.reach(h, Stage.DISBURSEMENT, "payment system")
        for o in [o for o in s.orders if o.status == "sent"]:
            body = {"event_id": event_id(), "attempt": o.attempt}
            path = f"/v1/payment-orders/{o.key}/{'executed' if executed else 'rejected'}"
            body |= {"reference": f"VIR-{o.attempt}"} if executed else {"reason": f"account {signed_rib} closed"}
            assert (await gw.post(path, body, "payments", via="hmac")).status_code == 200

    await pay(executed=False)
    await d.fix_bank(h, fixed_rib)
    await pay()
    for period in (1, 2, 3, 4):
        await d.reach(h, Stage.MONITORING, f"progress report {period}")
        await d.skip(185)
        report = {
            "event_id": event_id(),
            "applicant": sub.applicant.registration_number,
            "period": period,
            "indicators": {"jobs_created": period, "beneficiaries": 20, "women": 10, "youth": 4},
            "narrative": f"treasurer {CIN}, {PHONE}",
        }
        assert (await gw.post(f"/v1/applications/{h.id}/progress-reports", report, "portal")).status_code == 200
        if period in (2, 4):
            await h.execute_update(
                ApplicationWorkflow.review_report, ReportReview(period=period, approved=True, decided_by="ops")
            )
        if period == 2:
            await pay()
    assert (await h.result()).stage == Stage.COMPLETED
    # A careless line in each chain, as a future change might write: masked all the same.
    structlog.get_logger("moazara.careless").info("dump", submission=sub.model_dump(mode="json"))
    logging.getLogger("careless").warning("agreement %s", {"bank_account": signed_rib, "phone": PHONE})

    text = captured.getvalue()
    lines = text.splitlines()
    loggers = {json.loads(line)["logger"] for line in lines}
    assert {"moazara.activities", "moazara.gateway", "moazara.careless", "careless"} <= loggers
    assert len(lines) > 40 and f"007{'*' * 17}{fixed_rib[-4:]}" in text  # accounts appear, masked

    secrets_file = Path(get_settings().secrets_file)
    codec_keys = (
        list(json.loads(secrets_file.read_text()).get("codec_keys", {}).values()) if secrets_file.exists() else []
    )
    credentials = [s for c in CLIENTS.values() for s in (*c.get("api_keys", []), *c.get("hmac_secrets", []))]
    sensitive = [
        sub.applicant.bank_account,
        signed_rib,
        fixed_rib,
        PHONE,
        PHONE.replace(" ", "").replace("-", ""),
        CIN,
        *credentials,
        *codec_keys,
    ]
    leaks = [(value, line) for line in lines for value in sensitive if value in line]
    assert leaks == []


async def test_temporal_core_logs_go_through_the_masking(ts_env, sqlite_repo, executor, captured):
    """A workflow task that cannot decode its input: Temporal's core logs the failure, quoting the
    bad value (here an account with a wrong key). On a runtime with core_logging() (the gateway's;
    the worker's metrics runtime should carry it too) the core's logs go to Python logging, so the
    line is masked like any other."""
    from temporalio.worker import Worker

    from activities.application import ApplicationActivities
    from domain.edition import edition_4_settings
    from domain.models import ApplicationInput
    from infra.settings import Settings
    from infra.temporal_connection import connect, logging_runtime

    queue = f"core-logs-{uuid.uuid4().hex[:8]}"
    client = await connect(
        Settings(
            temporal_address=ts_env.client.service_client.config.target_host,
            temporal_namespace=ts_env.client.namespace,
            task_queue=queue,
        ),
        runtime=logging_runtime(),
    )
    bad_rib = RIB[:-2] + f"{(int(RIB[-2:]) + 1) % 100:02d}"  # 24 digits, wrong key: refused on decoding
    sub = make_submission(f"ASSO-{uuid.uuid4().hex[:6].upper()}")
    sub = sub.model_copy(update={"applicant": sub.applicant.model_copy(update={"bank_account": bad_rib})})
    async with Worker(
        client,
        task_queue=queue,
        workflows=[ApplicationWorkflow],
        activities=ApplicationActivities(sqlite_repo).all(),
        activity_executor=executor,
    ):
        h = await client.start_workflow(
            "ApplicationWorkflow",
            ApplicationInput.model_construct(settings=edition_4_settings(), submission=sub, submitted_by="test"),
            id=sub.application_id,
            task_queue=queue,
        )
        try:

            async def core_lines() -> list[str]:  # the core buffers forwarded logs briefly
                return [line for line in captured.getvalue().splitlines() if '"temporalio.core' in line]

            await until(
                core_lines,
                lambda core: any("Failing workflow task" in line for line in core),
                "the core logged the failed workflow task",
                seconds=10,
            )
        finally:
            await h.terminate("test finished")
    text = captured.getvalue()
    assert bad_rib not in text and f"007{'*' * 17}{bad_rib[-4:]}" in text
