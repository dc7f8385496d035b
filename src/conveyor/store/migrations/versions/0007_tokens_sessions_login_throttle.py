"""api token expiry, session epochs, login throttle

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 10:00:00.000000
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

import conveyor.store.tables
from conveyor.store.migrations import _ops

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    _ops.add_columns(
        "api_token", sa.Column("expires_at", conveyor.store.tables.UtcDateTime(), nullable=True)
    )
    _ops.add_columns(
        "web_user", sa.Column("session_epoch", sa.Integer(), server_default="0", nullable=False)
    )
    op.create_table(
        "login_throttle",
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", conveyor.store.tables.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_throttle")),
    )
    # Tokens made before expiry existed get the default lifetime from now, not eternity.
    token = sa.table("api_token", sa.column("expires_at", conveyor.store.tables.UtcDateTime()))
    op.execute(token.update().values(expires_at=datetime.now(UTC) + timedelta(days=90)))


def downgrade() -> None:
    op.drop_table("login_throttle")
    _ops.drop_columns("web_user", "session_epoch")
    _ops.drop_columns("api_token", "expires_at")
