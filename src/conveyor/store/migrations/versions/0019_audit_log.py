"""the audit log: who did what, when, from which address or token

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-25 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from conveyor.store.migrations import _ops
from conveyor.store.tables import UtcDateTime

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("via", sa.String(length=50), nullable=False),
        sa.Column("address", sa.String(length=100), nullable=True),
        sa.Column("action", sa.String(length=100), nullable=False),
        sa.Column("dag_id", sa.String(length=250), nullable=True),
        sa.Column("target", sa.String(length=1000), nullable=True),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    _ops.create_indexes(
        "audit_log",
        {
            "ix_audit_log_at": ["at"],
            "ix_audit_log_actor": ["actor"],
            "ix_audit_log_action": ["action"],
            "ix_audit_log_dag_id": ["dag_id"],
        },
    )


def downgrade() -> None:
    _ops.drop_table(
        "audit_log",
        "ix_audit_log_dag_id",
        "ix_audit_log_action",
        "ix_audit_log_actor",
        "ix_audit_log_at",
    )
