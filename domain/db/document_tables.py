"""The documents of an application the programme issued or received, each named by its SHA-256
(the content is in the document store): the funding agreement's versions, the payment advices, the
signed scans (domain/documents.py). On the same metadata as tables.py, which imports this module."""

from datetime import datetime

from sqlalchemy import Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from domain.db.tables import ApplicationRecord, Who


class DocumentRow(ApplicationRecord):
    """One document of an application: its kind, hash and version (an agreement's own; a signed
    scan's: the agreement version it signs), language, the payment order a payment advice is of,
    its content type, who issued or brought it, and when. Listed once per content and kind."""

    __tablename__ = "documents"
    __table_args__ = (UniqueConstraint("application_id", "kind", "sha256"),)

    kind: Mapped[str] = mapped_column(String(20))  # agreement, payment_advice, signed_scan
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int | None] = mapped_column(Integer)
    language: Mapped[str | None] = mapped_column(String(5))
    order_key: Mapped[str | None] = mapped_column(String(120))
    content_type: Mapped[str] = mapped_column(String(40))
    recorded_by: Mapped[Who]
    at: Mapped[datetime]
