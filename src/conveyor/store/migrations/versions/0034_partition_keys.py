"""Asset partitions: ``partition_key`` on runs and asset events, and the partitioned queue

``dag_run.partition_key`` and ``dataset_event.partition_key``: the partition a run is for
and the one an event updated (NULL: none, as for every row made before this revision).
``partition_dag_queue``: the pending updates of the DAGs on a PartitionedAssetTimetable, by
the partition key their mapper made.

Revision ID: 0034
Revises: 0033
Create Date: 2026-11-27 09:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from conveyor.store.migrations import _ops
from conveyor.store.tables import UtcDateTime

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None


def upgrade() -> None:
    _ops.add_columns("dag_run", sa.Column("partition_key", sa.String(length=250), nullable=True))
    _ops.add_columns(
        "dataset_event", sa.Column("partition_key", sa.String(length=250), nullable=True)
    )
    op.create_table(
        "partition_dag_queue",
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("target_dag_id", sa.String(length=250), nullable=False),
        sa.Column("partition_key", sa.String(length=250), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        _ops.foreign_key("partition_dag_queue", "dataset_id", "dataset.id", cascade=True),
        _ops.foreign_key("partition_dag_queue", "event_id", "dataset_event.id", cascade=True),
        sa.PrimaryKeyConstraint(
            "dataset_id", "target_dag_id", "partition_key", name=op.f("pk_partition_dag_queue")
        ),
    )


def downgrade() -> None:
    _ops.drop_table("partition_dag_queue")
    _ops.drop_columns("dataset_event", "partition_key")
    _ops.drop_columns("dag_run", "partition_key")
