"""The documents of an application named by their SHA-256 (domain/documents.py): recorded once per
content, an agreement's versions numbered in the order they were issued."""

from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from domain import messages
from domain.db.document_tables import DocumentRow
from domain.db.repository.base import RepositoryBase, _as_dict
from domain.documents import AGREEMENT, IssuedDocument


class Documents(RepositoryBase):
    def record_document(
        self, application_id: str, doc: IssuedDocument, content_type: str, by: str, at: datetime
    ) -> int | None:
        """Record the document (once per application, kind and hash); its version: an agreement's is
        the one its content was first issued as, a new content being the next version; any other
        kind keeps the version it is given. A retry answers the same."""
        with self._tx(write=True) as s:
            self._app(s, application_id, lock=True)  # versions are numbered one writer at a time
            key = {"application_id": application_id, "kind": doc.kind, "sha256": doc.sha256}
            stored = self._find(s, DocumentRow, application_id=application_id, kind=doc.kind, sha256=doc.sha256)
            if stored is not None:
                return stored.version
            version = doc.version
            if doc.kind == AGREEMENT:
                last = s.scalar(
                    select(func.max(DocumentRow.version)).filter_by(application_id=application_id, kind=AGREEMENT)
                )
                version = (last or 0) + 1
            self._insert_ignore(
                s,
                DocumentRow,
                key,
                version=version,
                language=doc.language,
                order_key=doc.order_key,
                content_type=content_type,
                recorded_by=by,
                at=at,
            )
            if doc.kind == AGREEMENT and version is not None and version > 1:  # issued again before signature
                since = self._app(s, application_id).stage_since
                self._tell(s, application_id, at, lambda f: messages.on_agreement_version(f, version, since))
            return version

    def documents(self, application_id: str) -> list[dict[str, Any]]:
        """The application's documents, oldest first."""
        with self._tx() as s:
            q = select(DocumentRow).filter_by(application_id=application_id).order_by(DocumentRow.at, DocumentRow.id)
            return [_as_dict(r, ("id", "application_id")) for r in s.scalars(q)]
