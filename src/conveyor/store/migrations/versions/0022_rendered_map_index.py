"""The label a mapped task's instance shows: its ``map_index_template`` as rendered

``task_instance.rendered_map_index``: the task's ``map_index_template`` rendered with the
context of the instance's last try, at the end of its ``execute`` (as Airflow does), which
the UI and the API show instead of the bare index; NULL for an instance of a task without
a template, or that ended before this revision.

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-26 03:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa

from conveyor.store.migrations import _ops

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    _ops.add_columns("task_instance", sa.Column("rendered_map_index", sa.Text(), nullable=True))


def downgrade() -> None:
    _ops.drop_columns("task_instance", "rendered_map_index")
