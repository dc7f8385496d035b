"""secret marks: a variable's is_secret flag and a connection's secret_fields

Revision ID: 0008
Revises: 0006
Create Date: 2026-11-22 10:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("variable", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("is_secret", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    with op.batch_alter_table("connection", schema=None) as batch_op:
        batch_op.add_column(sa.Column("secret_fields", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("connection", schema=None) as batch_op:
        batch_op.drop_column("secret_fields")
    with op.batch_alter_table("variable", schema=None) as batch_op:
        batch_op.drop_column("is_secret")
