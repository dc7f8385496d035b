"""A running try's stop request

``task_instance.stop_try``: the try number of a running try that a person (or its run's
``dagrun_timeout``) ended; the executor or worker that runs it reads it within a second,
sends the try's process group SIGTERM (the operator's ``on_kill`` runs), SIGKILL after
``kill_grace_seconds``, and clears it. ``ix_task_instance_stop_try`` holds only the rows
with a stop asked for.

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-26 03:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from conveyor.store.migrations import _ops

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

_ASKED = sa.text("stop_try IS NOT NULL")


def upgrade() -> None:
    _ops.add_columns("task_instance", sa.Column("stop_try", sa.Integer(), nullable=True))
    op.create_index(
        "ix_task_instance_stop_try",
        "task_instance",
        ["stop_try"],
        postgresql_where=_ASKED,
        sqlite_where=_ASKED,
    )


def downgrade() -> None:
    op.drop_index("ix_task_instance_stop_try", table_name="task_instance")
    _ops.drop_columns("task_instance", "stop_try")
