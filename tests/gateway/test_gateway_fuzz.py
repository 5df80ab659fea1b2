"""Schemathesis fuzzes the gateway's own OpenAPI document, in process (ASGI), and finds no 500.

Behind the gateway: a real SQLite domain database holding the application and payment order the
document's examples name (so examples get past the 404 to the Temporal call), and no Temporal at
all (a port where nothing listens): whatever is sent, the answer is a documented 4xx, or 503.
Each operation is fuzzed with the credentials of the integration that may call it, so bodies get
past authentication; generated junk in headers, paths and bodies must still not break it.
"""

import tempfile
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import positive_data_acceptance

from domain.db.repository import Repository
from domain.db.session import make_engine, migrate
from domain.models import PaymentOrder
from domain.reference import LegalForm
from gateway.app import create_app
from infra.live_settings import LiveSettings
from infra.settings import Settings
from infra.temporal_connection import connect
from simulation.factories import make_submission, valid_rib
from tests.gateway.test_gateway import CLIENTS, write_secrets


def _app(tmp_dir):
    secrets = tmp_dir / "secrets.json"
    write_secrets(secrets, gateway_clients=CLIENTS)
    engine = make_engine(f"sqlite:///{tmp_dir / 'fuzz.db'}")
    migrate(engine)
    repo = Repository(engine)
    sub = make_submission("COOP-0001", legal_form=LegalForm.COOPERATIVE, region_code="02", province="Oujda-Angad")
    now = datetime.now(UTC)
    repo.record_submission(sub.application_id, sub.application_id, sub, "fuzz", now)
    repo.set_award(sub.application_id, {"region-02": Decimal("40000.00")})
    order = PaymentOrder(
        key=f"{sub.application_id}:T1:region-02",
        application_id=sub.application_id,
        tranche=1,
        funder="region-02",
        amount=Decimal("24000.00"),
    )
    repo.create_payment_order(order, valid_rib(1), now)
    unreachable = Settings(temporal_address="127.0.0.1:1")
    return create_app(LiveSettings(Settings(secrets_file=str(secrets))).current, repo, lambda: connect(unreachable))


# Loaded when the module is collected (schemathesis' fixture-based loading does not work with
# pytest 9); the database lives in a temporary directory removed at exit.
_tmp = tempfile.TemporaryDirectory(prefix="gateway-fuzz-")
schema = schemathesis.openapi.from_asgi("/openapi.json", _app(Path(_tmp.name)))


def credentials(path: str) -> dict[str, str]:
    role = (
        "oriental"
        if "cofunding" in path
        else "payments"
        if "payment-orders" in path
        else "dms"
        if "documents" in path
        else "portal"
    )
    return {"X-API-Key": CLIENTS[role]["api_keys"][0]}


@schema.parametrize()
@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_no_input_makes_the_gateway_fail(case):
    # Every check (documented status codes, content types, response schemas, invalid data refused)
    # but two: valid data cannot be accepted with no workflow behind, and 503 is the right answer then.
    response = case.call_and_validate(
        headers=credentials(case.path), excluded_checks=[positive_data_acceptance, not_a_server_error]
    )
    assert response.status_code < 500 or response.status_code == 503, response.text
