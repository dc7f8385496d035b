"""the state index leads with the state, then serves a run's tries in queue order

PostgreSQL picks between the state index and the run-and-state index from its statistics of
``state``, and those are always out of date during a big run: analyzed when the run's
10,000 instances were all ``none``, ``state = 'scheduled'`` looks like one row. It then read
every waiting try of the run through the state index and sorted them on each hop, a cost
that grew with the run. With ``(state, run_pk, priority_weight DESC, id)`` either index
reads a run's waiting tries in queue order and stops at the room there is, whatever the
statistics say; the queries across runs still find a state's rows by its leading column.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-22 21:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa

from conveyor.store.migrations import _ops

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    _ops.recreate_index(
        "ix_task_instance_state",
        "task_instance",
        ["state", "run_pk", sa.text("priority_weight DESC"), "id"],
    )


def downgrade() -> None:
    _ops.recreate_index("ix_task_instance_state", "task_instance", ["state"])
