"""The integration gateway's inbox: each event once per (source, event id), with its answer.

No foreign key to applications: the inbox is the gateway's record of what it was sent and
answered, kept even for events about applications that are later archived. Types are spelled
out, as in 0001.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "gateway_inbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("event_id", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("application_id", sa.String(length=80), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("answer", sa.JSON(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gateway_inbox")),
        sa.UniqueConstraint("source", "event_id", name=op.f("uq_gateway_inbox_source_event_id")),
    )
    op.create_index(op.f("ix_gateway_inbox_application_id"), "gateway_inbox", ["application_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_gateway_inbox_application_id"), table_name="gateway_inbox")
    op.drop_table("gateway_inbox")
