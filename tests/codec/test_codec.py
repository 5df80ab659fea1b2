"""Payload encryption as an auditor checks it: what the Temporal server stores holds no bank account
in clear; staff decode it through the codec server, others are refused; rotation keeps old
histories readable; histories written before encryption still decode.

The application runs on the time-skipping server with a worker whose client encrypts with keys
from a secrets file; "raw" clients share the connection but have no codec, as the server sees it.
"""

import asyncio
import base64
import json
import os
import subprocess
import time
import uuid
from decimal import Decimal

import httpx
import pytest
from fastapi import FastAPI
from google.protobuf import json_format
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.application import ApplicationActivities
from codec.aes_gcm import ENCODING, AesGcmCodec
from codec.keys import CodecKeyError, key_ring, new_key
from codec.server import create_codec_app
from codec.undecodable import UndecodablePayload, reason_of
from domain.edition import edition_4_settings
from domain.models import ApplicationInput, PaymentResult, Stage
from infra.live_settings import LiveSettings
from infra.settings import Settings
from infra.temporal_connection import data_converter
from simulation.dev_server import DEV_SERVER
from simulation.driver import Driver
from simulation.factories import make_submission, valid_rib
from simulation.processes import free_port
from tests.loopback import serving
from workflows.application import ApplicationWorkflow

KEY_A, KEY_B = new_key(), new_key()
STAFF_TOKEN = "staff-token-1b9e7c3d5a"
UI = "http://localhost:8233"


def write_secrets(path, **fields) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(fields))
    os.replace(tmp, path)


def payloads_in(message: Message):
    """Every Payload anywhere in a history event (inputs, results, memos, headers, failures)."""
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        if isinstance(value, Message):
            values = [value]
        elif field.message_type.GetOptions().map_entry:
            values = value.values()
        else:  # repeated
            values = value
        for v in values:
            if isinstance(v, Payload):
                yield v
            elif isinstance(v, Message):
                yield from payloads_in(v)


async def raw_payloads(client: Client, workflow_id: str, versioning: bool = False) -> list[Payload]:
    """Every payload of a workflow's history as the server holds it; without what the SDK's core
    writes of a `workflow.patched` (its marker and the TemporalChangeVersion search attribute,
    never through the codec: they hold the patch's name, which the tests below check is all they
    hold) unless asked."""
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    return [p for e in history.events if versioning or not _versioning(e) for p in payloads_in(e)]


def _versioning(event) -> bool:
    if event.HasField("marker_recorded_event_attributes"):
        return event.marker_recorded_event_attributes.marker_name == "core_patch"
    if event.HasField("upsert_workflow_search_attributes_event_attributes"):
        fields = event.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields
        return set(fields) == {"TemporalChangeVersion"}
    return False


def as_codec_json(payloads: list[Payload]) -> dict:
    return json_format.MessageToDict(Payloads(payloads=payloads))


# --- The codec alone ------------------------------------------------------------------------------


def ring_settings(**keys) -> Settings:
    return Settings(secrets_file=None, codec_keys=keys, codec_encrypt_key=next(iter(keys)))


async def test_codec_encrypts_with_the_primary_key_and_reads_clear_payloads():
    codec = AesGcmCodec(lambda: key_ring(ring_settings(a=KEY_A)))
    rib = valid_rib(5)
    clear = Payload(metadata={"encoding": b"json/plain"}, data=json.dumps({"bank_account": rib}).encode())
    [sealed] = await codec.encode([clear])
    assert sealed.metadata["encoding"] == ENCODING and sealed.metadata["encryption-key-id"] == b"a"
    assert rib.encode() not in sealed.SerializeToString()
    assert await codec.decode([sealed, clear]) == [clear, clear]  # a clear payload passes through

    # What it cannot open becomes an undecodable marker with the reason, never an exception that
    # would fail a whole workflow task (codec/undecodable.py).
    tampered = Payload(metadata=sealed.metadata, data=sealed.data[:-1] + bytes([sealed.data[-1] ^ 1]))
    [opened] = await codec.decode([tampered])
    assert reason_of(opened) == "could not be decrypted with key 'a': a wrong key, or an altered payload"
    relabelled = Payload(metadata={**sealed.metadata, "encryption-key-id": b"b"}, data=sealed.data)
    both = AesGcmCodec(
        lambda: key_ring(Settings(secrets_file=None, codec_keys={"a": KEY_A, "b": KEY_A}, codec_encrypt_key="a"))
    )
    [marker] = await both.decode([relabelled])  # the key id is authenticated: relabelling breaks the tag
    assert "could not be decrypted with key 'b'" in reason_of(marker)
    only_b = AesGcmCodec(lambda: key_ring(ring_settings(b=KEY_B)))
    [marker] = await only_b.decode([sealed])
    assert "key 'a', which is not configured" in reason_of(marker)
    strict = AesGcmCodec(lambda: key_ring(ring_settings(a=KEY_A)), accept_clear=False)
    assert await strict.decode([sealed]) == [clear]
    [marker] = await strict.decode([clear])
    assert "sent unencrypted" in reason_of(marker) and marker.data == b""  # the clear value is not kept
    with pytest.raises(UndecodablePayload, match="payload could not be decrypted with key 'a'"):
        data_converter(ring_settings(a=KEY_A)).payload_converter.from_payloads([opened])


@pytest.mark.parametrize(
    "fields, error",
    [
        ({}, "no payload encryption key"),
        ({"codec_keys": {"k": "not base64!"}}, "'k': not base64"),
        ({"codec_keys": {"k": base64.b64encode(b"short").decode()}}, "'k': 5 bytes"),
        ({"codec_keys": {"a": KEY_A, "b": KEY_B}}, "set codec_encrypt_key"),
        ({"codec_keys": {"a": KEY_A}, "codec_encrypt_key": "z"}, "'z' is not among"),
    ],
)
def test_bad_key_configuration_is_refused_without_showing_keys(fields, error):
    with pytest.raises(CodecKeyError, match=error) as e:
        key_ring(Settings(secrets_file=None, **fields))
    assert KEY_A not in str(e.value) and KEY_B not in str(e.value)


def test_production_settings_without_keys_generate_none(tmp_path):
    """Only the embedded default (local, no TLS) gets a generated key; a cluster must be configured."""
    settings = Settings(
        temporal_address="temporal.internal:7233", temporal_tls=True, secrets_file=str(tmp_path / "secrets.json")
    )
    with pytest.raises(CodecKeyError):
        data_converter(settings)
    assert not (tmp_path / "secrets.json").exists()
    local = Settings(secrets_file=str(tmp_path / "secrets.json"))
    data_converter(local)
    assert oct((tmp_path / "secrets.json").stat().st_mode & 0o777) == "0o600"


# --- Histories on the server ----------------------------------------------------------------------


@pytest.fixture
async def encrypted(request, ts_env, tmp_path, sqlite_repo, executor):
    """A worker whose client encrypts with key A from a secrets file; a raw client as the server sees it.
    Parametrised True: the worker accepts unencrypted inputs (accept_unencrypted_payloads)."""
    secrets = tmp_path / "secrets.json"
    write_secrets(secrets, codec_keys={"A": KEY_A}, codec_encrypt_key="A", codec_server_tokens={"amina": STAFF_TOKEN})
    settings = Settings(secrets_file=str(secrets), accept_unencrypted_payloads=getattr(request, "param", False))
    service, ns = ts_env.client.service_client, ts_env.client.namespace
    client = Client(service, namespace=ns, data_converter=data_converter(settings))
    raw = Client(service, namespace=ns, data_converter=pydantic_data_converter)
    queue = f"codec-{uuid.uuid4().hex[:8]}"
    async with Worker(
        client,
        task_queue=queue,
        workflows=[ApplicationWorkflow],
        activities=ApplicationActivities(sqlite_repo).all(),
        activity_executor=executor,
    ):
        driver = Driver(ts_env, queue, edition_4_settings())
        driver.client = client
        yield driver, client, raw, settings, secrets
        await driver.cleanup()


async def test_history_on_the_server_holds_no_clear_bank_account_and_staff_decode_it(encrypted):
    d, client, raw, settings, _ = encrypted
    sub = make_submission(f"ASSO-{uuid.uuid4().hex[:6].upper()}")
    signed_rib = valid_rib(4242)
    h = await d.start(sub)
    await d.review_all(h)
    await d.select(h)
    await d.sign(h, signed_rib)
    await d.reach(h, Stage.DISBURSEMENT, "payment system")
    ribs = [sub.applicant.bank_account.encode(), signed_rib.encode()]

    stored = await raw_payloads(raw, h.id)
    assert len(stored) > 20
    assert all(p.metadata["encoding"] == ENCODING and p.metadata["encryption-key-id"] == b"A" for p in stored)
    dump = b"".join(p.SerializeToString() for p in await raw_payloads(raw, h.id, versioning=True))
    assert not any(rib in dump for rib in ribs)  # versioning included: a name, nothing of theirs

    # The codec server: staff decode what the server holds; nobody else does.
    codec_app = create_codec_app(LiveSettings(settings).current, client.data_converter.payload_codec, [UI])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=codec_app), base_url="http://codec") as http:
        body = as_codec_json(stored)
        ok = await http.post(
            "/decode",
            json=body,
            headers={"Authorization": f"Bearer {STAFF_TOKEN}", "X-Namespace": "default", "Origin": UI},
        )
        assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == UI
        decoded = json_format.ParseDict(ok.json(), Payloads()).payloads
        assert len(decoded) == len(stored) and not any(p.metadata["encoding"] == ENCODING for p in decoded)
        clear = b"".join(p.data for p in decoded)
        assert all(rib in clear for rib in ribs)

        assert (await http.post("/decode", json=body)).status_code == 401
        assert (
            await http.post("/decode", json=body, headers={"Authorization": "Bearer guessed-token"})
        ).status_code == 401
        other_ns = await http.post(
            "/decode", json=body, headers={"Authorization": f"Bearer {STAFF_TOKEN}", "X-Namespace": "other"}
        )
        assert other_ns.status_code == 403

        # The Web UI's preflight: allowed for the configured UI origin only.
        preflight = {
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,x-namespace,content-type",
        }
        assert (await http.options("/decode", headers={**preflight, "Origin": UI})).headers[
            "access-control-allow-origin"
        ] == UI
        foreign = await http.options("/decode", headers={**preflight, "Origin": "http://evil.example"})
        assert "access-control-allow-origin" not in foreign.headers

        # A UI without its own login: staff sign in once, the cookie goes with the UI's requests.
        assert (await http.post("/login", data={"token": "guessed-token"})).status_code == 401
        signed_in = await http.post("/login", data={"token": STAFF_TOKEN})
        assert signed_in.status_code == 303 and "httponly" in signed_in.headers["set-cookie"].lower()
        assert (await http.post("/decode", json=body, headers={"Origin": UI})).status_code == 200


async def test_rotation_keeps_old_histories_readable_without_restart(encrypted):
    d, client, raw, _, secrets = encrypted
    h = await d.start(make_submission(f"ASSO-{uuid.uuid4().hex[:6].upper()}"))
    await d.review_all(h)
    await d.select(h)
    await d.sign(h)
    s = await d.reach(h, Stage.DISBURSEMENT, "payment system")

    # Key B becomes the primary; A stays to read what it wrote. Neither worker nor client restarts.
    write_secrets(secrets, codec_keys={"A": KEY_A, "B": KEY_B}, codec_encrypt_key="B")
    order = s.orders[0]
    await h.execute_update(
        ApplicationWorkflow.payment_result,
        PaymentResult(order_key=order.key, attempt=1, executed=True, reference="V-1"),
    )
    s = await d.reach(h, Stage.MONITORING, "progress report 1")
    assert s.paid_total == Decimal("24000.00")

    key_ids = [p.metadata["encryption-key-id"] for p in await raw_payloads(raw, h.id)]
    assert key_ids[0] == b"A" and key_ids[-1] == b"B" and set(key_ids) == {b"A", b"B"}
    # The whole history still decodes: the start input (key A) and the latest events (key B).
    history = await h.fetch_history()
    start = history.events[0].workflow_execution_started_event_attributes.input.payloads
    [inp] = await client.data_converter.decode(start, [ApplicationInput])
    assert inp.submission.application_id == h.id


@pytest.mark.parametrize("encrypted", [True], indirect=True)  # as set while such workflows still run
async def test_histories_written_before_encryption_still_decode(encrypted):
    d, client, raw, _, _ = encrypted
    sub = make_submission(f"ASSO-{uuid.uuid4().hex[:6].upper()}")
    # Started by a client without the codec, as every workflow was before encryption.
    old = await raw.start_workflow(
        ApplicationWorkflow.run,
        ApplicationInput(settings=d.settings, submission=sub),
        id=sub.application_id,
        task_queue=d.task_queue,
    )
    d.handles.append(old)
    h = client.get_workflow_handle(old.id)
    await d.review_all(h)
    status = await d.reach(h, Stage.COMMITTEE)
    assert status.reviews == 2 and status.score is not None

    stored = await raw_payloads(raw, h.id)
    assert stored[0].metadata["encoding"] == b"json/plain"  # the clear start input, as it was written
    assert stored[-1].metadata["encoding"] == ENCODING  # what the worker wrote since


async def test_the_codec_server_answers_400_or_413_never_500_to_what_it_cannot_take(tmp_path):
    secrets = tmp_path / "secrets.json"
    write_secrets(secrets, codec_keys={"A": KEY_A}, codec_encrypt_key="A", codec_server_tokens={"amina": STAFF_TOKEN})
    settings = Settings(secrets_file=str(secrets), gateway_max_body_bytes=65_536)
    app = create_codec_app(LiveSettings(settings).current, data_converter(settings).payload_codec, [UI])
    staff = {"Authorization": f"Bearer {STAFF_TOKEN}", "Content-Type": "application/json"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://codec") as http:
        for path in ("/decode", "/encode"):
            deep = '{"payloads": ' + "[" * 5000 + "]" * 5000 + "}"
            assert (await http.post(path, content=deep, headers=staff)).status_code == 400
            assert (await http.post(path, content="not json", headers=staff)).status_code == 400
            big = '{"payloads": [], "x": "' + "a" * 70_000 + '"}'
            assert (await http.post(path, content=big, headers=staff)).status_code == 413
            nobody = await http.post(path, content="{}", headers={"Content-Type": "application/json"})
            assert nobody.status_code == 401 and "staff token is required" in nobody.text


# --- The temporal CLI against the codec server (issue 14, item 7) --------------------------------


async def test_the_temporal_cli_without_a_token_is_told_at_once_how_to_pass_one(tmp_path):
    """Go's remote codec client retries every answer but 200 until the CLI's 10 s deadline and then
    prints only `context deadline exceeded`; without a valid token it now gets at once a notice in
    place of every payload, saying how to pass the token, and nothing decoded."""
    secrets = tmp_path / "secrets.json"
    write_secrets(secrets, codec_keys={"A": KEY_A}, codec_encrypt_key="A", codec_server_tokens={"amina": STAFF_TOKEN})
    settings = Settings(secrets_file=str(secrets))
    converter = data_converter(settings)
    env = await WorkflowEnvironment.start_local(dev_server_existing_path=str(DEV_SERVER), data_converter=converter)
    app = FastAPI()  # as the gateway serves it, at /codec
    app.mount("/codec", create_codec_app(LiveSettings(settings).current, converter.payload_codec, [UI]))
    port = free_port()
    try:
        async with serving(app, port):
            marker = "Coopérative Tiwizi d'Aït Ourir"
            wf_id = f"cli-codec-{uuid.uuid4().hex[:6]}"
            await env.client.start_workflow("AnyWorkflow", {"applicant": marker}, id=wf_id, task_queue="nobody")
            address = env.client.service_client.config.target_host
            endpoint = f"http://127.0.0.1:{port}/codec"

            async def show(*auth: str) -> tuple[subprocess.CompletedProcess, float]:
                command = [str(DEV_SERVER), "workflow", "show", "--detailed", "--address", address, "-w", wf_id]
                started = time.monotonic()
                done = await asyncio.to_thread(
                    subprocess.run,
                    [*command, "--codec-endpoint", endpoint, *auth],
                    capture_output=True,
                    text=True,
                    timeout=60,
                    check=False,
                )
                return done, time.monotonic() - started

            for auth in ((), ("--codec-auth", "Bearer guessed-token")):
                refused, took = await show(*auth)
                assert refused.returncode == 0 and took < 5, (took, refused.stderr)
                assert "a staff token is needed: --codec-auth 'Bearer <staff token>'" in refused.stdout
                assert marker not in refused.stdout and "context deadline exceeded" not in refused.stderr
            decoded, took = await show("--codec-auth", f"Bearer {STAFF_TOKEN}")
            assert decoded.returncode == 0 and took < 5 and marker in decoded.stdout
            assert "staff token is needed" not in decoded.stdout

            # The notice is for Go's client only: a browser, curl or a script still gets the 401, and
            # /encode never answers a notice (it would be stored in place of the sender's input).
            body = {"payloads": [{"metadata": {"encoding": "anNvbi9wbGFpbg=="}, "data": "IngiCg=="}]}
            go = {"User-Agent": "Go-http-client/1.1"}
            async with httpx.AsyncClient(base_url=endpoint) as http:
                notice = await http.post("/decode", json=body, headers=go)
                assert notice.status_code == 200 and notice.headers["www-authenticate"] == "Bearer"
                [shown] = json_format.ParseDict(notice.json(), Payloads()).payloads
                assert "staff token is needed" in json.loads(shown.data)
                assert (await http.post("/encode", json=body, headers=go)).status_code == 401
                assert (await http.post("/decode", json=body, headers={**go, "Origin": UI})).status_code == 401
                curl = await http.post("/decode", json=body, headers={"User-Agent": "curl/8.5.0"})
                assert curl.status_code == 401 and "--codec-auth 'Bearer <token>'" in curl.text
    finally:
        await env.shutdown()
