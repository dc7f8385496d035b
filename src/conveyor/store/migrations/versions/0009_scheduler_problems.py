"""scheduler problems: the units of a scheduler loop that raised

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22 13:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import conveyor.store.tables
from conveyor.store.migrations import _ops

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scheduler_problem",
        sa.Column("unit", sa.String(length=300), nullable=False),
        sa.Column("scheduler_id", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=50), nullable=False),
        sa.Column("dag_id", sa.String(length=250), nullable=True),
        sa.Column("run_pk", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("traceback", sa.Text(), nullable=True),
        sa.Column("first_seen", conveyor.store.tables.UtcDateTime(), nullable=False),
        sa.Column("last_seen", conveyor.store.tables.UtcDateTime(), nullable=False),
        sa.Column("occurrences", sa.Integer(), nullable=False),
        _ops.foreign_key("scheduler_problem", "run_pk", "dag_run.id", cascade=True),
        sa.PrimaryKeyConstraint("unit", name=op.f("pk_scheduler_problem")),
    )
    _ops.create_indexes("scheduler_problem", {"ix_scheduler_problem_dag_id": ["dag_id"]})


def downgrade() -> None:
    _ops.drop_table("scheduler_problem", "ix_scheduler_problem_dag_id")
