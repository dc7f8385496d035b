"""Asset partitions' dates and rollups: ``partition_date`` on runs and on the partitioned
queue, and the key log of rollups

``dag_run.partition_date``: the moment the run's partition starts (NULL: none, as for every
row made before this revision). ``partition_dag_queue.partition_date``: the producing run's
date, carried to the consumer's run when its mapper keeps the key unchanged;
``partition_dag_queue.fingerprint``: the DAG's mappers when the row was queued (a row made
before this revision has none, and is taken as queued under the mappers of now).
``partition_key_log``: each upstream key that arrived for a rollup's pending partition.

Revision ID: 0035
Revises: 0034
Create Date: 2026-11-27 13:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from conveyor.store.migrations import _ops
from conveyor.store.tables import UtcDateTime

revision = "0035"
down_revision = "0034"
branch_labels = None
depends_on = None


def upgrade() -> None:
    _ops.add_columns("dag_run", sa.Column("partition_date", UtcDateTime(), nullable=True))
    _ops.add_columns(
        "partition_dag_queue",
        sa.Column("partition_date", UtcDateTime(), nullable=True),
        sa.Column("fingerprint", sa.String(length=64), nullable=True),
    )
    op.create_table(
        "partition_key_log",
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("target_dag_id", sa.String(length=250), nullable=False),
        sa.Column("partition_key", sa.String(length=250), nullable=False),
        sa.Column("source_key", sa.String(length=250), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        _ops.foreign_key("partition_key_log", "dataset_id", "dataset.id", cascade=True),
        _ops.foreign_key("partition_key_log", "event_id", "dataset_event.id", cascade=True),
        sa.PrimaryKeyConstraint(
            "dataset_id",
            "target_dag_id",
            "partition_key",
            "source_key",
            name=op.f("pk_partition_key_log"),
        ),
    )


def downgrade() -> None:
    _ops.drop_table("partition_key_log")
    _ops.drop_columns("partition_dag_queue", "partition_date", "fingerprint")
    _ops.drop_columns("dag_run", "partition_date")
