"""Deadline alerts: a run's need-by times

``run_deadline``: one row per run and deadline alert of its DAG (``deadline=``), with the
time worked out when the run was made and whether the run met it; a partial index on the
pending rows' times, so the scheduler's check each loop reads only what came due.

Revision ID: 0029
Revises: 0028
Create Date: 2026-11-27 05:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from conveyor.store.migrations import _ops
from conveyor.store.tables import UtcDateTime

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None

_PENDING = sa.text("state = 'pending'")


def upgrade() -> None:
    op.create_table(
        "run_deadline",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_pk", sa.Integer(), nullable=False),
        sa.Column("alert_index", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=250), nullable=True),
        sa.Column("reference", sa.String(length=40), nullable=False),
        sa.Column("deadline_at", UtcDateTime(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("decided_at", UtcDateTime(), nullable=True),
        _ops.foreign_key("run_deadline", "run_pk", "dag_run.id", cascade=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_run_deadline")),
        sa.UniqueConstraint(
            "run_pk", "alert_index", name=op.f("uq_run_deadline_run_pk_alert_index")
        ),
    )
    with op.batch_alter_table("run_deadline", schema=None) as batch_op:
        batch_op.create_index(
            "ix_run_deadline_pending",
            ["deadline_at"],
            unique=False,
            sqlite_where=_PENDING,
            postgresql_where=_PENDING,
        )


def downgrade() -> None:
    with op.batch_alter_table("run_deadline", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_run_deadline_pending", sqlite_where=_PENDING, postgresql_where=_PENDING
        )
    op.drop_table("run_deadline")
