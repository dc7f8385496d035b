"""xcom.shown: an XCom value as readers see it, with the secrets its try read masked

A task may return a secret it read (a token, a connection's password); the value must reach
downstream tasks as it is, while the XCom view, the API and the CLI show it masked. NULL
means the value holds no secret and is shown as it is (every row written before this
revision reads so).

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-25 08:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa

from conveyor.store.migrations import _ops

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    _ops.add_columns("xcom", sa.Column("shown", sa.JSON(), nullable=True))


def downgrade() -> None:
    _ops.drop_columns("xcom", "shown")
