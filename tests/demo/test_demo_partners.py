"""The demo's partner systems call the gateway with credentials the demo creates (issue 14, item 5):
created once in the secrets file the gateway re-reads, signed as the gateway verifies, each with
its own role and territory."""

import json

import httpx
import pytest

from demo import partners
from domain.db.repository import Repository
from domain.db.session import make_engine, migrate
from domain.edition import edition_4_settings
from gateway.app import create_app
from infra.live_settings import LiveSettings
from infra.settings import Settings


async def test_the_demo_creates_its_partners_once_and_the_gateway_authenticates_them(tmp_path):
    secrets = tmp_path / "secrets.json"
    secrets.write_text(json.dumps({"codec_keys": {}}))
    settings = Settings(secrets_file=str(secrets), database_url=f"sqlite:///{tmp_path}/d.db")
    edition = edition_4_settings()
    clients = partners.ensure_clients(settings, edition)
    regions = {partners.region_client(p.region_code) for p in edition.partners}
    assert set(clients) == {partners.PAYMENT_SYSTEM, partners.DOCUMENTS, partners.PORTAL} | regions
    assert partners.ensure_clients(settings, edition) == clients  # kept across runs, not rotated
    assert oct(secrets.stat().st_mode & 0o777) == "0o600"

    engine = make_engine(settings.database_url)
    migrate(engine)

    async def no_temporal():
        raise RuntimeError("not needed: the application is unknown")

    app = create_app(LiveSettings(settings).current, Repository(engine), no_temporal)
    sender = partners.Partners("http://gateway", clients, transport=httpx.ASGITransport(app=app))
    await sender.wait_until_ready(seconds=5)
    with pytest.raises(partners.PartnerRefused, match="404"):  # authenticated: refused only for the unknown id
        await sender.send(
            partners.DOCUMENTS,
            "/v1/applications/moazara-4-NOBODY/documents-verified",
            {"event_id": "d-1", "documents": [{"kind": "budget", "reference": "dms/1"}], "verified_by": "dms"},
        )
    region = sorted(regions)[0]
    with pytest.raises(partners.PartnerRefused, match="403"):  # a Region Council cannot send payments
        await sender.send(
            region,
            "/v1/payment-orders/moazara-4-X:T1:ministry/executed",
            {"event_id": "p-1", "attempt": 1, "reference": "R"},
        )
    await sender.close()
    engine.dispose()
