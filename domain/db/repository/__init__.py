"""The repository activities write through: short transactions, every write idempotent, one class
assembled from one part per concern (each in its own module):

- `base.py`: transactions, idempotent inserts, locked reads, the errors;
- `applications.py`: submission, stages and closing, eligibility, documents, reviews, decisions;
- `money.py`: awards, the co-funding cover, payment orders, the ledger;
- `monitoring.py`: progress reports and notices;
- `documents.py`: the documents issued and received, by SHA-256;
- `queries.py`: read models (one application, listings, counts, totals);
- `inbox.py`: the integration gateway's inbox;
- `reviewers.py`: reviewers' profiles, assignments and recusals.

Amounts go in and come out as Decimal with two decimals. Bank accounts are stored for the
payment system but never returned by listings nor logged.
"""

from domain.db.repository.applications import Applications
from domain.db.repository.base import (
    NOTICE_KINDS,
    PAYMENT,
    RECOVERABLE,
    RECOVERY,
    AwardExceeded,
    DecisionRecord,
    DuplicateApplication,
    NotFound,
)
from domain.db.repository.documents import Documents
from domain.db.repository.inbox import Inbox
from domain.db.repository.money import Money
from domain.db.repository.monitoring import Monitoring
from domain.db.repository.queries import FOR_DOCUMENTS, Queries
from domain.db.repository.reviewers import ReviewerRefused, Reviewers

__all__ = [
    "FOR_DOCUMENTS",
    "NOTICE_KINDS",
    "PAYMENT",
    "RECOVERABLE",
    "RECOVERY",
    "AwardExceeded",
    "DecisionRecord",
    "DuplicateApplication",
    "NotFound",
    "Repository",
    "ReviewerRefused",
]


class Repository(Applications, Money, Monitoring, Documents, Queries, Inbox, Reviewers):
    """Every write and read of an application's record (the edition's are in edition_repository.py)."""
