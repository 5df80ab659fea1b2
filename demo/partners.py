"""The demo's partner systems — the Region Councils, the payment system, the document verification
service and the applicants' portal — and the credentials they call the gateway with.

The credentials are created on the first run into the secrets file (var/secrets.json, which the
running gateway re-reads when it changes) and printed at the end of `make demo`. Every partner
event of the demo then takes the real path: an HMAC-signed request to the gateway, its inbox,
the front door, the workflow's rule.
"""

import asyncio
import json
import os
import secrets
import time
from pathlib import Path
from typing import Any

import httpx

from domain.edition import EditionSettings
from gateway.auth import sign
from infra.settings import Settings

PAYMENT_SYSTEM, DOCUMENTS, PORTAL = "demo-payment-system", "demo-dms", "demo-portal"


def region_client(region_code: str) -> str:
    return f"demo-region-{region_code}"


def ensure_clients(settings: Settings, edition: EditionSettings) -> dict[str, dict[str, Any]]:
    """The demo partners' credentials in the secrets file (created once; kept across runs)."""
    path = Path(settings.secrets_file or "var/secrets.json")
    content = json.loads(path.read_text()) if path.exists() else {}
    clients = content.setdefault("gateway_clients", {})
    wanted = {PAYMENT_SYSTEM: ("payment_system", None), DOCUMENTS: ("document_verification", None)}
    wanted[PORTAL] = ("portal", None)
    for p in edition.partners:
        wanted[region_client(p.region_code)] = ("region_council", p.region_code)
    changed = False
    for client_id, (role, region) in wanted.items():
        if client_id not in clients:
            clients[client_id] = {"role": role, "hmac_secrets": [secrets.token_urlsafe(32)]}
            if region:
                clients[client_id]["region_code"] = region
            changed = True
    if changed:  # written aside then renamed: the gateway never reads half a file
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(content, indent=2))
        os.chmod(tmp, 0o600)
        tmp.replace(path)
    return {k: clients[k] for k in wanted}


class Partners:
    """Sends the partners' events to the gateway, each signed with its client's secret."""

    def __init__(
        self, base_url: str, clients: dict[str, dict[str, Any]], transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.http = httpx.AsyncClient(base_url=base_url, timeout=30, transport=transport)
        self.clients = clients

    async def close(self) -> None:
        await self.http.aclose()

    async def send(self, client_id: str, path: str, event: dict[str, Any]) -> dict[str, Any]:
        """POST the event as `client_id`; the gateway's answer (raises on 5xx: the demo retries later)."""
        body = json.dumps(event).encode()
        ts = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "X-Client-Id": client_id,
            "X-Timestamp": ts,
            "X-Signature": sign(self.clients[client_id]["hmac_secrets"][0], ts, "POST", path, body),
        }
        r = await self.http.post(path, content=body, headers=headers)
        if r.status_code >= 500:
            r.raise_for_status()
        answer: dict[str, Any] = r.json()
        if r.status_code != 200:
            raise PartnerRefused(f"{client_id} {path}: {r.status_code} {answer.get('detail')}")
        return answer

    async def wait_until_ready(self, seconds: float = 30) -> None:
        """The gateway answers, and knows the partners (it re-reads the secrets file)."""
        deadline = time.monotonic() + seconds
        while True:
            try:
                probe = await self.http.post(
                    "/v1/applications/probe/cofunding-decision", content=b"{}", headers=self._probe_headers()
                )
                if probe.status_code != 401:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("the gateway did not take the demo partners' credentials; see var/gateway.log")
            await asyncio.sleep(0.5)

    def _probe_headers(self) -> dict[str, str]:
        ts = str(int(time.time()))
        path = "/v1/applications/probe/cofunding-decision"
        secret = self.clients[PORTAL]["hmac_secrets"][0]
        return {"X-Client-Id": PORTAL, "X-Timestamp": ts, "X-Signature": sign(secret, ts, "POST", path, b"{}")}


class PartnerRefused(Exception):
    """The gateway answered with a refusal (the workflow's, or the gateway's own)."""
