"""Tables of who acts and with what: the bank accounts held for payments (domain/db/bank_accounts.py),
the reviewers' profiles and assignments (domain/db/repository/reviewers.py) and the console's users,
sessions and access trail (console/accounts.py). On the metadata of
domain/db/tables.py, which imports this module, so the migrations are checked against both."""

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from domain.db.tables import ApplicationRecord, AppRef, Base, Note, Who


class BankAccountRow(Base):
    """A bank account held for payments, encrypted at rest (domain/db/bank_accounts.py).

    `ref` (domain/rib.py) is all that leaves the database: workflows, histories, listings and the
    audit trail carry it instead of the RIB. `sealed` is the RIB encrypted with the key `key_id`,
    authenticated with its ref (a sealed value cannot be moved to another ref).
    """

    __tablename__ = "bank_accounts"

    ref: Mapped[str] = mapped_column(String(40), primary_key=True)
    key_id: Mapped[str] = mapped_column(String(100))
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    held_by: Mapped[str] = mapped_column(String(100))  # the actor whose door stored it
    created_at: Mapped[datetime]


class ReviewerProfileRow(Base):
    """What assignment knows of a reviewer (domain/reviewers.py): sectors of expertise, their
    organisation and declared links. `reviewer_id` is the reviewer's login (the actor they act as)."""

    __tablename__ = "reviewer_profiles"

    reviewer_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    sectors: Mapped[list[Any]]
    organisation: Mapped[str | None] = mapped_column(String(40))
    declared_links: Mapped[list[Any]]
    email: Mapped[str | None] = mapped_column(String(200))  # where assignments and reminders are sent
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime]


class ReviewAssignmentRow(ApplicationRecord):
    """A reviewer asked to review an application. `round` is the workflow's assignment number (a
    retried activity finds its round's rows and answers the same); `state` moves from assigned to
    reviewed or recused. The edition's column counts each reviewer's load."""

    __tablename__ = "review_assignments"
    __table_args__ = (UniqueConstraint("application_id", "reviewer_id"),)

    application_id: Mapped[AppRef] = mapped_column(index=True, sort_order=-1)
    edition: Mapped[int] = mapped_column(Integer, index=True)
    reviewer_id: Mapped[str] = mapped_column(String(100), index=True)
    round: Mapped[int]
    state: Mapped[str] = mapped_column(String(20))  # assigned, reviewed, recused
    assigned_by: Mapped[Who]
    assigned_at: Mapped[datetime]
    reason: Mapped[Note]  # why recused


class ConsoleUser(Base):
    """A member of staff who signs in to the console. `roles` are data: "officer", "committee",
    "finance", "reviewer", "auditor", "admin", or scoped, "region-council:02"."""

    __tablename__ = "console_users"

    login: Mapped[str] = mapped_column(String(100), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(200))  # none: signs in with OpenID Connect
    roles: Mapped[list[Any]]
    language: Mapped[str] = mapped_column(String(5), default="fr")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ConsoleSession(Base):
    """A signed-in browser. Only a hash of the cookie's token is stored; deactivating the user
    deletes their rows, which ends their sessions at once."""

    __tablename__ = "console_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    login: Mapped[str] = mapped_column(String(100), ForeignKey("console_users.login"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class AccessEntry(Base):
    """The hash-chained trail of who was given or refused access to what (Law 09-08): a role
    granted or removed, a user deactivated, personal data exported. Never updated or deleted."""

    __tablename__ = "access_log"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))  # role_granted, role_removed, deactivated, export
    actor: Mapped[str] = mapped_column(String(100))
    subject: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]]
    at: Mapped[datetime]
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
