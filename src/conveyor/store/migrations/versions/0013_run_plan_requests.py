"""run plan requests: runs changed outside a try's end, for the scheduler to plan whole

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-22 17:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import conveyor.store.tables

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "run_plan_request",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_pk", sa.Integer(), nullable=False),
        sa.Column("requested_at", conveyor.store.tables.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_run_plan_request")),
    )


def downgrade() -> None:
    op.drop_table("run_plan_request")
