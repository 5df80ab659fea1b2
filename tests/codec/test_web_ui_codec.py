"""The Temporal Web UI decodes for a signed-in staff member as shipped (issue 14, item 6), checked
in Debian's Chromium with a fresh profile and no UI setting changed.

The dev server's own Web UI runs behind gateway/web_ui.py, which serves the codec at the same
origin (the UI's server-wide codec endpoint): not signed in, the input shows as ciphertext and
`/codec/login` says how to sign in; signed in there with a staff token, the same page shows it
decoded.
"""

import json
import uuid
from pathlib import Path

import pytest
from playwright.async_api import async_playwright, expect
from temporalio.testing import WorkflowEnvironment

from codec.keys import new_key
from gateway.web_ui import create_web_ui_app
from infra.actor_header import ActorHeader
from infra.live_settings import LiveSettings
from infra.settings import Settings
from infra.temporal_connection import data_converter
from simulation.dev_server import DEV_SERVER
from simulation.processes import free_port
from tests.loopback import serving

CHROMIUM = Path("/usr/bin/chromium")
TOKEN = "staff-token-for-the-web-ui-test"
MARKER = "Coopérative Tiwizi d'Aït Ourir"
ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts" / "web-ui"

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium: run `make browser`")


async def test_payloads_show_decoded_only_to_a_signed_in_staff_member(tmp_path):
    secrets = tmp_path / "secrets.json"
    secrets.write_text(json.dumps({"codec_keys": {"k1": new_key()}, "codec_server_tokens": {"amina": TOKEN}}))
    settings = Settings(secrets_file=str(secrets))
    converter = data_converter(settings)
    front_port, ui_port = free_port(), free_port()
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(DEV_SERVER),
        data_converter=converter,
        interceptors=[ActorHeader()],
        ui=True,
        ui_port=ui_port,
        dev_server_extra_args=["--ui-codec-endpoint", f"http://127.0.0.1:{front_port}/codec"],
    )
    app = create_web_ui_app(LiveSettings(settings).current, converter.payload_codec, f"http://127.0.0.1:{ui_port}")
    try:
        async with serving(app, front_port):
            wf_id = f"ui-codec-{uuid.uuid4().hex[:6]}"
            handle = await env.client.start_workflow(
                "AnyWorkflow", {"applicant": MARKER}, id=wf_id, task_queue="nobody"
            )
            page_url = (
                f"http://127.0.0.1:{front_port}/namespaces/default/workflows/{wf_id}/{handle.result_run_id}/history"
            )
            async with async_playwright() as pw:
                browser = await pw.chromium.launch(executable_path=str(CHROMIUM), headless=True)
                page = await (await browser.new_context()).new_page()  # a fresh profile, no UI setting changed
                await page.goto(page_url)
                # Not signed in: the codec refuses, the UI says so and shows the input as ciphertext.
                await expect(page.locator("#content").get_by_text("Codec Server could not connect")).to_be_visible(
                    timeout=30_000
                )
                await expect(page.get_by_role("heading", name="Input")).to_be_visible()
                assert MARKER not in await page.content()
                login = await page.goto(f"http://127.0.0.1:{front_port}/codec/login")
                assert login.status == 200 and "token" in (await page.content()).lower()
                await page.fill("input[name=token]", TOKEN)
                await page.click("button")
                await expect(page.get_by_text("Signed in as amina")).to_be_visible()
                await page.goto(page_url)
                await expect(page.get_by_text(MARKER).first).to_be_visible(timeout=30_000)
                assert await page.get_by_text("Codec Server could not connect").count() == 0
                ARTIFACTS.mkdir(parents=True, exist_ok=True)
                await page.screenshot(path=str(ARTIFACTS / "web-ui-decoded.png"), full_page=True)
                await browser.close()
    finally:
        await env.shutdown()
