"""Reviewers' profiles (sectors, organisation, declared links) and the assignments of reviewers to
applications, for editions that assign their reviewers (domain/reviewers.py).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "reviewer_profiles",
        sa.Column("reviewer_id", sa.String(100), nullable=False),
        sa.Column("sectors", sa.JSON(), nullable=False),
        sa.Column("organisation", sa.String(40), nullable=True),
        sa.Column("declared_links", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("reviewer_id", name=op.f("pk_reviewer_profiles")),
    )
    op.create_table(
        "review_assignments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("application_id", sa.String(80), nullable=False),
        sa.Column("edition", sa.Integer(), nullable=False),
        sa.Column("reviewer_id", sa.String(100), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("assigned_by", sa.String(100), nullable=False),
        sa.Column("assigned_at", WHEN, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.application_id"],
            name=op.f("fk_review_assignments_application_id_applications"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_assignments")),
        sa.UniqueConstraint(
            "application_id", "reviewer_id", name=op.f("uq_review_assignments_application_id_reviewer_id")
        ),
    )
    for column in ("application_id", "edition", "reviewer_id"):
        op.create_index(op.f(f"ix_review_assignments_{column}"), "review_assignments", [column])


def downgrade() -> None:
    for column in ("application_id", "edition", "reviewer_id"):
        op.drop_index(op.f(f"ix_review_assignments_{column}"), table_name="review_assignments")
    op.drop_table("review_assignments")
    op.drop_table("reviewer_profiles")
