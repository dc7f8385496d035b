"""secret marks: a variable's is_secret flag and a connection's secret_fields

Revision ID: 0008
Revises: 0006
Create Date: 2026-11-22 10:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa

from conveyor.store.migrations import _ops

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    _ops.add_columns(
        "variable",
        sa.Column("is_secret", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    _ops.add_columns("connection", sa.Column("secret_fields", sa.JSON(), nullable=True))


def downgrade() -> None:
    _ops.drop_columns("connection", "secret_fields")
    _ops.drop_columns("variable", "is_secret")
