"""Requests to parse a DAG file now

``dag_parse_request``: one row per DAG file someone asked to have parsed at once
(``PUT /api/v2/parseDagFile/{file_token}``); the DAG file processor parses the file at its
next scan, changed or not, and deletes the row.

Revision ID: 0028
Revises: 0027
Create Date: 2026-11-27 02:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from conveyor.store.migrations import _ops
from conveyor.store.tables import UtcDateTime

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dag_parse_request",
        sa.Column("fileloc", sa.String(length=1000), nullable=False),
        sa.Column("requested_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("fileloc", name=op.f("pk_dag_parse_request")),
    )


def downgrade() -> None:
    _ops.drop_table("dag_parse_request")
