"""Favourite DAGs, and recorded connection tests

``dag_favorite``: the DAGs each user marked as a favourite (``POST /api/v2/dags/{dag_id}/
favorite``), gone with the user. ``connection_test``: the connection tests asked through
``POST /api/v2/connections/enqueue-test``, by the token their caller polls with, and how
each ended.

Revision ID: 0027
Revises: 0026
Create Date: 2026-11-27 01:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from conveyor.store.migrations import _ops
from conveyor.store.tables import UtcDateTime

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dag_favorite",
        sa.Column("username", sa.String(length=200), nullable=False),
        sa.Column("dag_id", sa.String(length=250), nullable=False),
        _ops.foreign_key("dag_favorite", "username", "web_user.username", cascade=True),
        sa.PrimaryKeyConstraint("username", "dag_id", name=op.f("pk_dag_favorite")),
    )
    _ops.create_indexes("dag_favorite", {"ix_dag_favorite_dag_id": ["dag_id"]})
    op.create_table(
        "connection_test",
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("connection_id", sa.String(length=250), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("result_message", sa.Text(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("token", name=op.f("pk_connection_test")),
    )
    _ops.create_indexes("connection_test", {"ix_connection_test_created_at": ["created_at"]})


def downgrade() -> None:
    _ops.drop_table("connection_test", "ix_connection_test_created_at")
    _ops.drop_table("dag_favorite", "ix_dag_favorite_dag_id")
