"""The console's users and sessions, the access trail, and the applicant's name as a column (the
console's board searches it; filled from each stored submission).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("applications") as batch:
        batch.add_column(sa.Column("applicant_name", sa.String(200), server_default="", nullable=False))
    bind = op.get_bind()
    apps = sa.table(
        "applications", sa.column("application_id"), sa.column("submission", sa.JSON), sa.column("applicant_name")
    )
    for app_id, submission in bind.execute(sa.select(apps.c.application_id, apps.c.submission)).all():
        name = ((submission or {}).get("applicant") or {}).get("name", "")
        bind.execute(apps.update().where(apps.c.application_id == app_id).values(applicant_name=name[:200]))
    op.create_table(
        "console_users",
        sa.Column("login", sa.String(100), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=True),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("language", sa.String(5), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("login", name=op.f("pk_console_users")),
    )
    op.create_table(
        "console_sessions",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("login", sa.String(100), nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("expires_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["login"], ["console_users.login"], name=op.f("fk_console_sessions_login_console_users")
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_console_sessions")),
    )
    op.create_index(op.f("ix_console_sessions_login"), "console_sessions", ["login"])
    op.create_table(
        "access_log",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_access_log")),
    )


def downgrade() -> None:
    op.drop_table("access_log")
    op.drop_index(op.f("ix_console_sessions_login"), table_name="console_sessions")
    op.drop_table("console_sessions")
    op.drop_table("console_users")
    with op.batch_alter_table("applications") as batch:
        batch.drop_column("applicant_name")
