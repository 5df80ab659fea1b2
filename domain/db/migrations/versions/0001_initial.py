"""Initial schema: applications and everything recorded about them.

Written from an autogenerate run against domain/db/tables.py, then reviewed: types are
spelled out (sa.DateTime(timezone=True) rather than the model's UtcDateTime decorator, so this
file never changes meaning when the models do) and the boolean default is portable.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY = sa.Numeric(precision=14, scale=2)
SCORE = sa.Numeric(precision=6, scale=2)


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _id() -> sa.Column:
    return sa.Column("id", sa.Integer(), autoincrement=True, nullable=False)


def _application(table: str) -> list:
    """The application_id column and its foreign key (no cascade: records outlive nothing)."""
    return [
        sa.Column("application_id", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.application_id"],
            name=op.f(f"fk_{table}_application_id_applications"),
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "applications",
        sa.Column("application_id", sa.String(length=80), nullable=False),
        sa.Column("edition", sa.Integer(), nullable=False),
        sa.Column("registration_number", sa.String(length=40), nullable=False),
        sa.Column("legal_form", sa.String(length=20), nullable=False),
        sa.Column("region_code", sa.String(length=2), nullable=False),
        sa.Column("province", sa.String(length=100), nullable=False),
        sa.Column("rural", sa.Boolean(), nullable=False),
        sa.Column("sector", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("total_cost", MONEY, nullable=False),
        sa.Column("requested_amount", MONEY, nullable=False),
        sa.Column("own_contribution", MONEY, nullable=False),
        sa.Column("workflow_id", sa.String(length=200), nullable=False),
        sa.Column("stage", sa.String(length=30), nullable=False),
        _ts("stage_since"),
        sa.Column("score", SCORE, nullable=True),
        sa.Column("award", MONEY, server_default=sa.text("0"), nullable=False),
        sa.Column("honorary_award", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("amount_to_recover", MONEY, nullable=True),
        sa.Column("submission", sa.JSON(), nullable=False),
        sa.Column("submitted_by", sa.String(length=100), nullable=False),
        _ts("submitted_at"),
        sa.PrimaryKeyConstraint("application_id", name=op.f("pk_applications")),
        sa.UniqueConstraint("edition", "registration_number", name=op.f("uq_applications_edition_registration_number")),
    )
    op.create_index("ix_applications_edition_stage", "applications", ["edition", "stage"])
    op.create_index("ix_applications_edition_region_code", "applications", ["edition", "region_code"])

    op.create_table(
        "stage_changes",
        _id(),
        *_application("stage_changes"),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=30), nullable=False),
        _ts("at"),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stage_changes")),
        sa.UniqueConstraint("application_id", "seq", name=op.f("uq_stage_changes_application_id_seq")),
    )

    op.create_table(
        "eligibility_results",
        _id(),
        *_application("eligibility_results"),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("eligible", sa.Boolean(), nullable=False),
        sa.Column("rule_set_version", sa.String(length=40), nullable=False),
        sa.Column("failures", sa.JSON(), nullable=False),
        _ts("at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eligibility_results")),
        sa.UniqueConstraint("application_id", "attempt", name=op.f("uq_eligibility_results_application_id_attempt")),
    )

    op.create_table(
        "reviews",
        _id(),
        *_application("reviews"),
        sa.Column("reviewer_id", sa.String(length=100), nullable=False),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("weighted_score", SCORE, nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        _ts("at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reviews")),
        sa.UniqueConstraint("application_id", "reviewer_id", name=op.f("uq_reviews_application_id_reviewer_id")),
    )

    op.create_table(
        "decisions",
        _id(),
        *_application("decisions"),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=40), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("decided_by", sa.String(length=100), nullable=False),
        _ts("at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decisions")),
        sa.UniqueConstraint("application_id", "kind", "seq", name=op.f("uq_decisions_application_id_kind_seq")),
    )

    op.create_table(
        "awards",
        _id(),
        *_application("awards"),
        sa.Column("funder", sa.String(length=20), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_awards")),
        sa.UniqueConstraint("application_id", "funder", name=op.f("uq_awards_application_id_funder")),
    )

    op.create_table(
        "payment_orders",
        sa.Column("key", sa.String(length=120), nullable=False),
        *_application("payment_orders"),
        sa.Column("tranche", sa.Integer(), nullable=False),
        sa.Column("funder", sa.String(length=20), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("bank_account", sa.String(length=34), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_payment_orders")),
    )
    op.create_index(op.f("ix_payment_orders_application_id"), "payment_orders", ["application_id"])

    op.create_table(
        "ledger",
        _id(),
        *_application("ledger"),
        sa.Column("funder", sa.String(length=60), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("order_key", sa.String(length=120), nullable=True),
        sa.Column("reference", sa.String(length=100), nullable=False),
        _ts("at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger")),
        sa.UniqueConstraint("order_key", name=op.f("uq_ledger_order_key")),
    )
    op.create_index("ix_ledger_application_id_funder", "ledger", ["application_id", "funder"])

    op.create_table(
        "progress_reports",
        _id(),
        *_application("progress_reports"),
        sa.Column("period", sa.Integer(), nullable=False),
        sa.Column("indicators", sa.JSON(), nullable=False),
        sa.Column("narrative", sa.Text(), nullable=False),
        sa.Column("submitted_by", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        _ts("at"),
        _ts("reviewed_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_progress_reports")),
        sa.UniqueConstraint("application_id", "period", name=op.f("uq_progress_reports_application_id_period")),
    )

    op.create_table(
        "notices",
        _id(),
        *_application("notices"),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        _ts("at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notices")),
        sa.UniqueConstraint("application_id", "key", name=op.f("uq_notices_application_id_key")),
    )


def downgrade() -> None:
    for table in (
        "notices",
        "progress_reports",
        "ledger",
        "payment_orders",
        "awards",
        "decisions",
        "reviews",
        "eligibility_results",
        "stage_changes",
        "applications",
    ):
        op.drop_table(table)  # drops its indexes too
