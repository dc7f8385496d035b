"""dataset events keep their extra and the alias they were emitted through

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-25 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa

from conveyor.store.migrations import _ops

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    _ops.add_columns(
        "dataset_event",
        sa.Column("extra", sa.JSON(), nullable=True),
        sa.Column("source_alias", sa.String(length=1000), nullable=True),
    )


def downgrade() -> None:
    _ops.drop_columns("dataset_event", "source_alias", "extra")
