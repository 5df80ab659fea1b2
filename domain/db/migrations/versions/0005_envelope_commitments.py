"""Envelope commitments (what each application holds in each envelope) and released awards.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

The backfill gives every application its commitment as the service computed it before: an award
that holds is committed whole (in the envelope its committee placement drew on); an award of an
application closed without completing keeps only what was paid.
"""

import json
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY = sa.Numeric(precision=14, scale=2)
RELEASED = ("withdrawn", "cancelled", "terminated", "lapsed", "not_selected", "rejected", "ineligible", "waitlisted")


def upgrade() -> None:
    op.create_table(
        "envelope_commitments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("edition", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.String(80), nullable=False),
        sa.Column("funder", sa.String(20), nullable=False),
        sa.Column("envelope", sa.String(30), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.application_id"],
            name=op.f("fk_envelope_commitments_application_id_applications"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_envelope_commitments")),
        sa.UniqueConstraint("application_id", "funder", name=op.f("uq_envelope_commitments_application_id_funder")),
    )
    op.create_index("ix_envelope_commitments_edition_envelope", "envelope_commitments", ["edition", "envelope"])
    with op.batch_alter_table("awards") as batch:
        batch.add_column(sa.Column("released_at", sa.DateTime(timezone=True), nullable=True))
    _backfill()


def _backfill() -> None:
    bind = op.get_bind()
    now = datetime.now(UTC)
    apps = {a: (e, st) for a, e, st in bind.execute(sa.text("SELECT application_id, edition, stage FROM applications"))}
    latest: dict[str, tuple] = {}  # application -> (decision, funders, draws) of its latest round
    for a, decision, funders, d in bind.execute(
        sa.text("SELECT application_id, decision, funders, draws FROM committee_decisions ORDER BY round")
    ):
        latest[a] = (decision, *(x if isinstance(x, dict) else json.loads(x or "{}") for x in (funders, d)))
    draws = {a: v[2] for a, v in latest.items()}
    paid: dict = defaultdict(Decimal)
    for a, f, amount in bind.execute(
        sa.text(
            "SELECT application_id, funder, SUM(amount) FROM ledger WHERE kind = 'payment' GROUP BY application_id, funder"
        )
    ):
        paid[(a, f)] = Decimal(str(amount))
    rows = []
    for a, f, amount in bind.execute(sa.text("SELECT application_id, funder, amount FROM awards")):
        edition, stage = apps[a]
        held = paid[(a, f)] if stage in RELEASED else Decimal(str(amount))
        envelope = "ministry-priority" if f == "ministry" and "ministry-priority" in draws.get(a, {}) else f
        rows.append(
            {
                "edition": edition,
                "application_id": a,
                "funder": f,
                "envelope": envelope,
                "amount": held,
                "updated_at": now,
            }
        )
        if stage in RELEASED:
            bind.execute(
                sa.text("UPDATE awards SET released_at = :now WHERE application_id = :a"), {"now": now, "a": a}
            )
    awarded = {r["application_id"] for r in rows}
    for a, (decision, funders, d) in latest.items():  # selected, the decision not yet applied
        if decision == "selected" and a not in awarded and apps[a][1] == "committee":
            rows += [
                {
                    "edition": apps[a][0],
                    "application_id": a,
                    "funder": f,
                    "envelope": "ministry-priority" if f == "ministry" and "ministry-priority" in d else f,
                    "amount": Decimal(str(v)),
                    "updated_at": now,
                }
                for f, v in funders.items()
            ]
    if rows:
        bind.execute(
            sa.text(
                "INSERT INTO envelope_commitments (edition, application_id, funder, envelope, amount, "
                "updated_at) VALUES (:edition, :application_id, :funder, :envelope, :amount, :updated_at)"
            ),
            rows,
        )


def downgrade() -> None:
    with op.batch_alter_table("awards") as batch:
        batch.drop_column("released_at")
    op.drop_index("ix_envelope_commitments_edition_envelope", table_name="envelope_commitments")
    op.drop_table("envelope_commitments")
