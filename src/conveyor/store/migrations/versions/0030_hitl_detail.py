"""What a task awaiting input asks a person, and the answer

``hitl_detail``: one row per try of a human-in-the-loop task that asked (the subject, body,
options, defaults, params, assigned users, the method the answer resumes at and the response
deadline), and the answer once given (who, when, the chosen options and params). A task
instance's new state ``awaiting_input`` needs no column: states are strings.

Revision ID: 0030
Revises: 0029
Create Date: 2026-11-27 04:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from conveyor.store.migrations import _ops
from conveyor.store.tables import UtcDateTime

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hitl_detail",
        sa.Column(
            "ti_id",
            sa.Integer(),
            sa.ForeignKey(
                "task_instance.id", ondelete="CASCADE", name="fk_hitl_detail_ti_id_task_instance"
            ),
            nullable=False,
        ),
        sa.Column("try_number", sa.Integer(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("defaults", sa.JSON(), nullable=True),
        sa.Column("multiple", sa.Boolean(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("assigned_users", sa.JSON(), nullable=False),
        sa.Column("method_name", sa.String(255), nullable=False),
        sa.Column("timeout_at", UtcDateTime(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("responded_at", UtcDateTime(), nullable=True),
        sa.Column("responded_by", sa.JSON(), nullable=True),
        sa.Column("chosen_options", sa.JSON(), nullable=True),
        sa.Column("params_input", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("ti_id", "try_number", name=op.f("pk_hitl_detail")),
    )
    _ops.create_indexes("hitl_detail", {"ix_hitl_detail_timeout_at": ["timeout_at"]})


def downgrade() -> None:
    _ops.drop_table("hitl_detail", "ix_hitl_detail_timeout_at")
