"""pools: the pool table, with default_pool, and each task instance's pool and slots

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21 08:50:00.000000
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import conveyor.store.tables
from conveyor.store.migrations import _ops

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pool = op.create_table(
        "pool",
        sa.Column("name", sa.String(length=250), nullable=False),
        sa.Column("slots", sa.Integer(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("updated_at", conveyor.store.tables.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_pool")),
    )
    op.bulk_insert(
        pool,
        [
            {
                "name": "default_pool",
                "slots": None,
                "description": "tasks that name no pool (no limit until you set one)",
                "updated_at": datetime.now(UTC),
            }
        ],
    )
    _ops.add_columns(
        "task_instance",
        sa.Column("pool", sa.String(length=250), server_default="default_pool", nullable=False),
        sa.Column("pool_slots", sa.Integer(), server_default="1", nullable=False),
    )


def downgrade() -> None:
    _ops.drop_columns("task_instance", "pool_slots", "pool")
    op.drop_table("pool")
