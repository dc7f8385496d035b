"""Asset partitions' dates: ``partition_date`` on runs and on the partitioned queue

``dag_run.partition_date``: the moment the run's partition starts (NULL: none, as for every
row made before this revision). ``partition_dag_queue.partition_date``: the producing run's
date, carried to the consumer's run when its mapper keeps the key unchanged.

Revision ID: 0035
Revises: 0034
Create Date: 2026-11-27 13:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa

from conveyor.store.migrations import _ops
from conveyor.store.tables import UtcDateTime

revision = "0035"
down_revision = "0034"
branch_labels = None
depends_on = None


def upgrade() -> None:
    _ops.add_columns("dag_run", sa.Column("partition_date", UtcDateTime(), nullable=True))
    _ops.add_columns(
        "partition_dag_queue", sa.Column("partition_date", UtcDateTime(), nullable=True)
    )


def downgrade() -> None:
    _ops.drop_columns("partition_dag_queue", "partition_date")
    _ops.drop_columns("dag_run", "partition_date")
