"""task instances indexed by run and state: the bounded reads of a hop

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-22 14:30:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_task_instance_run_state",
        "task_instance",
        ["run_pk", "state", "priority_weight"],
    )


def downgrade() -> None:
    op.drop_index("ix_task_instance_run_state", table_name="task_instance")
