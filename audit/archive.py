"""Histories read back from the archive (activities/archive.py wrote them before the server's
retention deleted them): for `replay`, `timeline` and `reconcile --archive`.

Each archive is found by its workflow id in the domain database (domain/db/archive_tables.py: the
run that closed last), read from the document store and checked against the SHA-256 recorded
there before anything else (documents/store.py refuses a mismatch, naming both hashes), then
opened with the archive key (infra/archive_seal.py), which also checks that it is the archive of
that run. What comes out is the history `audit export` would have written.
"""

from collections.abc import Iterable, Iterator

from sqlalchemy import Engine
from temporalio.client import WorkflowHistory

from documents.store import DocumentStore, TamperedDocument, open_store
from domain.db import archive_tables
from domain.db.archive_tables import Archived
from infra.archive_seal import ArchiveError, open_sealed
from infra.settings import Settings


class NotArchived(LookupError):
    """Workflows the archive does not hold; the message names them."""


class BadArchive(ValueError):
    """An archive that is not what the database recorded (hash mismatch, not its run, does not open)."""


class Archive:
    def __init__(self, engine: Engine, settings: Settings, store: DocumentStore | None = None) -> None:
        self.engine, self.settings = engine, settings
        self.store = store or open_store(settings)

    def history(self, a: Archived) -> WorkflowHistory:
        """The archived history `a` names, checked against its recorded SHA-256 first."""
        try:
            sealed, text = open_sealed(self.store.get(a.sha256), self.settings)
        except KeyError:
            raise BadArchive(f"{a.workflow_id} run {a.run_id}: the store holds no archive {a.sha256}") from None
        except (TamperedDocument, ArchiveError) as e:
            raise BadArchive(f"{a.workflow_id} run {a.run_id}: {e}") from None
        if (sealed.workflow_id, sealed.run_id) != (a.workflow_id, a.run_id):
            raise BadArchive(
                f"{a.workflow_id} run {a.run_id}: the archive is of {sealed.workflow_id} run {sealed.run_id}"
            )
        return WorkflowHistory.from_json(a.workflow_id, text)

    def found(self, workflow_ids: Iterable[str]) -> dict[str, Archived]:
        return archive_tables.latest(self.engine, workflow_ids)

    def histories(self, workflow_ids: Iterable[str]) -> Iterator[WorkflowHistory]:
        """The archived history of each workflow, in order; NotArchived (before any) names those
        the archive does not hold."""
        ids = list(dict.fromkeys(workflow_ids))
        found = self.found(ids)
        missing = [w for w in ids if w not in found]
        if missing:
            more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
            raise NotArchived(f"not archived: {', '.join(missing[:5])}{more}")
        for wid in ids:
            yield self.history(found[wid])
