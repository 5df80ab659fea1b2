"""Editions and the committee's decisions (proposal and waitlist promotions).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY = sa.Numeric(precision=14, scale=2)
SCORE = sa.Numeric(precision=6, scale=2)


def upgrade() -> None:
    op.create_table(
        "editions",
        sa.Column("edition", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("workflow_id", sa.String(200), nullable=False),
        sa.Column("opened_by", sa.String(100), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("call_closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("confirmed_by", sa.String(100), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("edition", name=op.f("pk_editions")),
    )
    op.create_table(
        "committee_decisions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("edition", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.String(80), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(20), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("score", SCORE, nullable=False),
        sa.Column("award", MONEY, nullable=False),
        sa.Column("funders", sa.JSON(), nullable=False),
        sa.Column("draws", sa.JSON(), nullable=False),
        sa.Column("honorary_award", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("reason", sa.String(300), nullable=False),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_note", sa.String(300), nullable=True),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.application_id"],
            name=op.f("fk_committee_decisions_application_id_applications"),
        ),
        sa.ForeignKeyConstraint(
            ["edition"], ["editions.edition"], name=op.f("fk_committee_decisions_edition_editions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_committee_decisions")),
        sa.UniqueConstraint("application_id", "round", name=op.f("uq_committee_decisions_application_id_round")),
    )
    op.create_index("ix_committee_decisions_edition_round", "committee_decisions", ["edition", "round"])


def downgrade() -> None:
    op.drop_index("ix_committee_decisions_edition_round", table_name="committee_decisions")
    op.drop_table("committee_decisions")
    op.drop_table("editions")
