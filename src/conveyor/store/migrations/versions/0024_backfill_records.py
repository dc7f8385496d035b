"""Backfill records, and each run's backfill

``backfill``: one row per backfill a person or a script asked for (Airflow 3's ``Backfill``):
the DAG, the range of logical dates, the conf of its runs, how dates that have a run are
reprocessed, how many of its runs may run at once, whether it is paused, who made it, and
when it was made, last changed and completed (NULL while it is going on).
``dag_run.backfill_id``: the backfill a run belongs to (NULL: none, and for the backfill
runs made before this revision); the scheduler starts a backfill's queued runs at most
``max_active_runs`` at a time, and none while it is paused. ``ix_dag_run_backfill_id``
serves that count and a backfill's list of runs; ``ix_backfill_dag_id`` a DAG's backfills.
The column has no foreign key: on SQLite adding one copies the whole run table (and its
children's cascades), and a backfill row is never deleted while its runs exist.

Revision ID: 0024
Revises: 0023
Create Date: 2026-11-26 10:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from conveyor.store.migrations import _ops
from conveyor.store.tables import UtcDateTime

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "backfill",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("dag_id", sa.String(length=250), nullable=False),
        sa.Column("from_date", UtcDateTime(), nullable=False),
        sa.Column("to_date", UtcDateTime(), nullable=False),
        sa.Column("dag_run_conf", sa.JSON(), nullable=False),
        sa.Column("is_paused", sa.Boolean(), nullable=False),
        sa.Column("reprocess_behavior", sa.String(length=20), nullable=False),
        sa.Column("max_active_runs", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("completed_at", UtcDateTime(), nullable=True),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("triggering_user_name", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_backfill")),
    )
    _ops.create_indexes("backfill", {"ix_backfill_dag_id": ["dag_id"]})
    _ops.add_columns("dag_run", sa.Column("backfill_id", sa.Integer(), nullable=True))
    _ops.create_indexes("dag_run", {"ix_dag_run_backfill_id": ["backfill_id"]})


def downgrade() -> None:
    with op.batch_alter_table("dag_run", schema=None) as batch_op:
        batch_op.drop_index("ix_dag_run_backfill_id")
    _ops.drop_columns("dag_run", "backfill_id")
    _ops.drop_table("backfill", "ix_backfill_dag_id")
