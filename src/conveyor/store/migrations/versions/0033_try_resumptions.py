"""A try continued by a reschedule, a deferral or an answer keeps its number

``task_instance.resumptions``: how many of the instance's dispatches continued the try before
them (a reschedule-mode sensor's next poke, a deferral's resumption, a person's answer);
``task_instance.try_number`` still numbers every dispatch, the fence each move checks, and
the try number Airflow shows is ``try_number - resumptions``. ``task_try.resumptions``: the
instance's count when that dispatch started, so each row of a try tells which try it
belongs to. Rows made before this revision count none: their pokes stay numbered as tries.

Revision ID: 0033
Revises: 0032
Create Date: 2026-11-27 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa

from conveyor.store.migrations import _ops

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("task_instance", "task_try"):
        _ops.add_columns(
            table, sa.Column("resumptions", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    for table in ("task_try", "task_instance"):
        _ops.drop_columns(table, "resumptions")
