"""The document store in an S3-compatible bucket (issue 15, documents item 2), against a real S3
API server on loopback: moto's server (`ThreadedMotoServer` on 127.0.0.1 and a free port, see
tests/s3_server.py), through boto3 as in production. A funding agreement the workflow issues lands
in the bucket under its SHA-256; reading it back checks the hash; an object altered in the bucket
is refused on read naming both hashes; `starter.py pdf ID` fetches the issued agreement from the
bucket (and refuses an altered one)."""

import asyncio
import hashlib
import json
import os
import sys
import uuid
from pathlib import Path

import pytest
from temporalio.worker import Worker

from activities.application import ApplicationActivities
from codec.keys import new_key
from documents.s3_store import S3Store
from documents.store import TamperedDocument, open_store
from domain.edition import edition_4_settings
from infra import vault
from infra.settings import Settings
from simulation.driver import Driver
from tests.documents.pdf_checks import text_of
from tests.s3_server import s3_env, s3_server
from tests.workflows.test_agreement_documents import _in_agreement
from workflows.actor import ActorFromHeader
from workflows.application import ApplicationWorkflow
from workflows.missing_inputs import RefuseMissingInputs

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def s3():
    with s3_server() as (settings, client):
        yield settings, client


def test_the_store_keeps_a_document_once_in_the_bucket_and_checks_it_on_read(s3):
    settings, client = s3
    store = open_store(settings)
    assert isinstance(store, S3Store)  # the bucket the settings name, not the directory
    content = b"%PDF-1.4\n% an award letter\n"
    sha, where = store.put(content, "award_letter-fr.pdf")
    assert sha == hashlib.sha256(content).hexdigest()
    assert where == f"s3://{settings.documents_s3_bucket}/moazara/{sha[:2]}/{sha}" == store.where(sha)
    assert store.put(content, "award_letter-fr.pdf") == (sha, where) and store.get(sha) == content
    listed = client.list_objects_v2(Bucket=settings.documents_s3_bucket, Prefix=f"moazara/{sha[:2]}/")
    assert [o["Key"] for o in listed["Contents"]] == [f"moazara/{sha[:2]}/{sha}"]  # stored once
    with pytest.raises(KeyError):
        store.get("0" * 64)
    with pytest.raises(KeyError):
        store.get("../not-a-hash")


@pytest.fixture
async def worker_on_s3(ts_env, sqlite_repo, executor, s3):
    """The application workflow's worker with the S3 store, as worker.py builds it from settings."""
    settings, client = s3
    store = open_store(settings)
    keys = Settings(secrets_file=None, codec_keys={"a": new_key()}, codec_encrypt_key="a")
    queue = f"s3-{uuid.uuid4().hex[:8]}"
    async with Worker(
        ts_env.client,
        task_queue=queue,
        workflows=[ApplicationWorkflow],
        activities=ApplicationActivities(
            sqlite_repo, bank_accounts=vault.bank_accounts(keys, sqlite_repo.engine), store=store
        ).all(),
        activity_executor=executor,
        interceptors=[RefuseMissingInputs(), ActorFromHeader()],
    ):
        d = Driver(ts_env, queue, edition_4_settings())
        yield d, sqlite_repo, store, client
        await d.cleanup()


async def starter(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "starter.py",
        *args,
        cwd=ROOT,
        env={**os.environ, **env, "COLUMNS": "200"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_the_agreement_the_workflow_issues_is_in_the_bucket_and_the_cli_fetches_it(worker_on_s3, s3, tmp_path):
    d, repo, store, client = worker_on_s3
    settings, _ = s3
    h, status = await _in_agreement(d, "DOC-S3")
    sha = status.agreement_sha256
    assert sha is not None
    [issued] = repo.get_application(h.id)["documents"]
    assert (issued["kind"], issued["sha256"]) == ("agreement", sha)
    key = f"moazara/{sha[:2]}/{sha}"
    body = client.get_object(Bucket=settings.documents_s3_bucket, Key=key)["Body"].read()
    assert hashlib.sha256(body).hexdigest() == sha and "DOC-S3" in text_of(body)  # the bucket holds it under its hash
    assert store.get(sha) == body

    # The ops CLI, configured for the bucket, hands out the agreement the workflow issued, from the bucket.
    env = {**s3_env(settings), "DATABASE_URL": str(repo.engine.url), "DOCUMENTS_DIR": str(tmp_path / "no-dir")}
    code, out, err = await starter("pdf", h.id, "--language", "fr", "--json", env=env)
    assert code == 0, out + err
    agreement = next(x for x in json.loads(out) if x["kind"] == "agreement")
    assert agreement["sha256"] == sha and agreement["path"] == f"s3://{settings.documents_s3_bucket}/{key}"
    assert not (tmp_path / "no-dir").exists()  # nothing kept in a directory

    # Someone replaces the object in the bucket: refused on read, naming the hash it should have.
    client.put_object(Bucket=settings.documents_s3_bucket, Key=key, Body=body + b"%% a line added in the bucket\n")
    with pytest.raises(TamperedDocument) as e:
        store.get(sha)
    assert f"recorded {sha}" in str(e.value) and "SHA-256 mismatch" in str(e.value)
    code, out, err = await starter("pdf", h.id, "--language", "fr", env=env)
    assert code == 1 and "SHA-256 mismatch" in err and sha in err
