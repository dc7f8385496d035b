"""dataset events keep their extra and the alias they were emitted through

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-25 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("dataset_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("extra", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("source_alias", sa.String(length=1000), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("dataset_event", schema=None) as batch_op:
        batch_op.drop_column("source_alias")
        batch_op.drop_column("extra")
