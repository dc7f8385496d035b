"""deferral: the trigger table, triggerers' heartbeats, a resumed try's method and kwargs

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-25 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from conveyor.store.migrations import _ops
from conveyor.store.tables import UtcDateTime

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    _ops.add_columns(
        "task_instance",
        sa.Column("next_method", sa.String(255), nullable=True),
        sa.Column("next_kwargs", sa.JSON(), nullable=True),
    )
    op.create_table(
        "trigger",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "ti_id",
            sa.Integer(),
            sa.ForeignKey(
                "task_instance.id", ondelete="CASCADE", name="fk_trigger_ti_id_task_instance"
            ),
            nullable=False,
        ),
        sa.Column("try_number", sa.Integer(), nullable=False),
        sa.Column("classpath", sa.String(1000), nullable=False),
        sa.Column("kwargs", sa.JSON(), nullable=False),
        sa.Column("method_name", sa.String(255), nullable=False),
        sa.Column("method_kwargs", sa.JSON(), nullable=True),
        sa.Column("timeout_at", UtcDateTime(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("triggerer_id", sa.String(64), nullable=True),
    )
    _ops.create_indexes(
        "trigger", {"ix_trigger_ti_id": ["ti_id"], "ix_trigger_triggerer_id": ["triggerer_id"]}
    )
    op.create_table(
        "triggerer",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("hostname", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("running", sa.Integer(), nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("heartbeat_at", UtcDateTime(), nullable=False),
        sa.Column("stopped_at", UtcDateTime(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("triggerer")
    _ops.drop_table("trigger", "ix_trigger_triggerer_id", "ix_trigger_ti_id")
    _ops.drop_columns("task_instance", "next_kwargs", "next_method")
