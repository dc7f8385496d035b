"""The queued tries by queue and priority

``ix_task_instance_queued_priority`` holds only the queued task instances, by queue and
``priority_weight``: at each try's end that could start its downstream try itself, the
process asks whether a queued try of its queues has a higher priority (that one goes first,
as Airflow hands a freed slot to the highest priority waiting). Without the index the
question scans every queued row, a wide fan-out's thousands.

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-01 02:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0036"
down_revision = "0035"
branch_labels = None
depends_on = None

_QUEUED = sa.text("state = 'queued'")


def upgrade() -> None:
    op.create_index(
        "ix_task_instance_queued_priority",
        "task_instance",
        ["queue", "priority_weight"],
        postgresql_where=_QUEUED,
        sqlite_where=_QUEUED,
    )


def downgrade() -> None:
    op.drop_index("ix_task_instance_queued_priority", table_name="task_instance")
