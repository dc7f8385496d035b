"""Notes on runs and task instances; the rendered template fields of each try

``dag_run.user_note`` and ``task_instance.user_note``: a short text an op or admin writes on
a run or a task instance (``dag_run.note`` stays the reason the system gives for a run's
state). ``task_try.rendered``: the template fields of the try as its worker rendered them,
with the secrets the try read masked; NULL for a try that ended before this revision, or
that never got as far as rendering. ``ix_dag_run_dag_logical_date``: a DAG's latest runs by
logical date, as the grid shows them (a backfilled run among the others by its date).

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-25 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from conveyor.store.migrations import _ops

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    _ops.add_columns("dag_run", sa.Column("user_note", sa.Text(), nullable=True))
    _ops.add_columns("task_instance", sa.Column("user_note", sa.Text(), nullable=True))
    _ops.add_columns("task_try", sa.Column("rendered", sa.JSON(), nullable=True))
    op.create_index("ix_dag_run_dag_logical_date", "dag_run", ["dag_id", "logical_date"])


def downgrade() -> None:
    op.drop_index("ix_dag_run_dag_logical_date", table_name="dag_run")
    _ops.drop_columns("task_try", "rendered")
    _ops.drop_columns("task_instance", "user_note")
    _ops.drop_columns("dag_run", "user_note")
