"""dag due times: dag.next_dagrun_create_after, indexed, so the scheduler reads only due DAGs

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22 13:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import conveyor.store.tables

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("dag", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "next_dagrun_create_after", conveyor.store.tables.UtcDateTime(), nullable=True
            )
        )
        batch_op.create_index(
            batch_op.f("ix_dag_next_dagrun_create_after"), ["next_dagrun_create_after"]
        )
    # Every existing DAG is due once, so the scheduler works out its real due time.
    op.execute("UPDATE dag SET next_dagrun_create_after = updated_at")


def downgrade() -> None:
    with op.batch_alter_table("dag", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dag_next_dagrun_create_after"))
        batch_op.drop_column("next_dagrun_create_after")
