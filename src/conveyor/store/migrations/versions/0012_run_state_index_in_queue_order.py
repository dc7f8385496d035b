"""the run-and-state index in the order tries are queued: priority first, then age

A hop reads the few tries of its run that wait for room, highest priority first and the
oldest first among equals, up to the room there is. Without ``id`` in the index and the
priority descending, PostgreSQL sorted every waiting try of the run on each hop: a cost that
grew with the run (a fan-out of 10,000 sorted up to 10,000 rows per finished try).

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-22 17:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa

from conveyor.store.migrations import _ops

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    _ops.recreate_index(
        "ix_task_instance_run_state",
        "task_instance",
        ["run_pk", "state", sa.text("priority_weight DESC"), "id"],
    )


def downgrade() -> None:
    _ops.recreate_index(
        "ix_task_instance_run_state", "task_instance", ["run_pk", "state", "priority_weight"]
    )
