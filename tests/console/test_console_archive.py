"""The auditor's page of an application whose history the Temporal server no longer has (issue 15,
histories outlive retention): it is read from the archive, checked against the SHA-256 recorded
when it was archived, and the page says so in the reader's language; an archive altered in the
store is shown as altered (409, the chain still verified), never as a history and never as a 500.

The archive is a real one: an application played to completion on a time-skipping server by the
production worker (tests/golden_scenarios.py's full lifecycle: agreement, tranches paid), then
archived by the archiver's own activity (activities/archive.py) into the document store; that
server is then shut down, and the console talks to another one that never held the history (the
time-skipping server implements no DeleteWorkflowExecution: absent rather than deleted; one server
at a time).
"""

import functools
import json
import uuid

from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities.archive import ArchiveActivities, ClosedRun
from audit import events, reconcile, timeline
from codec.keys import new_key
from console.app import console_state, create_app
from documents.store import DirectoryStore
from domain.db.repository import Repository
from domain.db.session import make_engine, migrate
from infra import archive_seal
from infra.actor_header import ActorHeader
from infra.settings import Settings
from infra.temporal_connection import data_converter
from simulation.dev_server import TEST_SERVER
from tests import golden_histories as golden
from tests.console.sessions import PASSWORD, csrf_of, signed_in

FROM_ARCHIVE = {
    "fr": "Le serveur Temporal ne conserve plus cet historique : il est lu depuis l&#39;archive",
    "ar": "لم يعد خادم Temporal يحتفظ بهذا السجل: تتم قراءته من الأرشيف",
    "en": "The Temporal server no longer holds this history: it is read from the archive",
}


async def test_the_auditor_reads_an_archived_history_once_the_server_no_longer_has_it(tmp_path, executor):
    settings = Settings(
        archive_keys={"archive-1": new_key()},
        database_url=f"sqlite:///{tmp_path / 'moazara.db'}",
        documents_dir=str(tmp_path / "documents"),  # the archive's store, the console's too
        task_queue=f"console-archive-{uuid.uuid4().hex[:8]}",
    )
    engine = make_engine(settings.database_url)
    migrate(engine)
    first = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(TEST_SERVER), data_converter=data_converter(), interceptors=[ActorHeader()]
    )
    try:
        chosen = [s for s in golden.SCENARIOS if s.name in ("full", "ineligible")]
        handles = await golden.run_scenarios(first, Repository(engine), chosen, executor)
        full, never_archived = handles["full"], handles["ineligible"].id
        history = await full.fetch_history()
        closed = await full.describe()
        archiver = ArchiveActivities(
            first.client,
            engine,
            DirectoryStore(tmp_path / "documents"),
            functools.partial(archive_seal.seal, settings=settings),
        )
        run = ClosedRun(workflow_id=full.id, run_id=closed.run_id, workflow_type=closed.workflow_type,
                        closed_at=closed.close_time)  # fmt: skip
        archived = await ActivityEnvironment().run(archiver.archive_history, run)
    finally:
        await first.shutdown()  # its histories go with it: only the archive is left
    parsed = await events.parse(history, data_converter())
    entries = timeline.build(parsed).entries
    assert reconcile.money_of(parsed).orders, "the full lifecycle pays tranches: money to reconcile"

    second = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(TEST_SERVER), data_converter=data_converter(), interceptors=[ActorHeader()]
    )
    try:
        s = console_state(settings, engine)
        s.client = second.client
        s.accounts.create("auditor-salma", "Salma", PASSWORD, ["auditor"], by="test-admin")
        auditor = await signed_in(create_app(s), "auditor-salma")

        page = await auditor.get(f"/applications/{full.id}/audit")
        assert page.status_code == 200, page.text
        note = page.text.split('id="from-archive">')[1].split("</p>")[0]
        assert FROM_ARCHIVE["fr"] in note and f"son SHA-256 {archived.sha256} vérifié" in note
        assert 'id="chain-ok"' in page.text and 'id="money-ok"' in page.text
        rows = page.text.split('id="timeline"')[1].split("</tbody>")[0].count("<tr>")
        assert rows == len(entries) + 1  # the header's row and one per decision of the server's history
        for language in ("ar", "en"):
            await auditor.post("/language", data={"csrf": csrf_of(page.text), "language": language})
            page = await auditor.get(f"/applications/{full.id}/audit")
            assert page.status_code == 200 and FROM_ARCHIVE[language] in page.text and archived.sha256 in page.text

        exported = await auditor.get(f"/applications/{full.id}/history.json")
        assert exported.status_code == 200 and exported.json() == json.loads(history.to_json())
        assert ("export", "auditor-salma", f"history {full.id} (archive sha256 {archived.sha256})") in [
            (e.kind, e.actor, e.subject) for e in s.accounts.trail()
        ]

        # Neither on the server nor in the archive: not found, as before the archive.
        page = await auditor.get(f"/applications/{never_archived}/audit")
        assert page.status_code == 404 and "There is nothing here." in page.text

        # The archive edited in the store: refused, said so, the chain still verified.
        kept = DirectoryStore(tmp_path / "documents").path(archived.sha256)
        kept.write_bytes(kept.read_bytes() + b"\n")
        page = await auditor.get(f"/applications/{full.id}/audit")
        assert page.status_code == 409
        altered = page.text.split('id="archive-altered">')[1].split("</div>")[0]
        assert "The archived history is not the one that was archived" in altered
        assert f"SHA-256 mismatch: recorded {archived.sha256}" in altered
        assert 'id="chain-ok"' in page.text and 'id="timeline"' not in page.text and 'id="money-ok"' not in page.text
        exported = await auditor.get(f"/applications/{full.id}/history.json")
        assert exported.status_code == 409 and "SHA-256 mismatch" in exported.text
    finally:
        await second.shutdown()
        engine.dispose()
