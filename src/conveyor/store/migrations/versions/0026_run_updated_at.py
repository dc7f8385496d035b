"""When a run's row last changed: ``dag_run.updated_at``

Set when the run is made and on every later change of its row (a state move, a note, a
backfill taking it), so a client that polls the run list asks only for the runs changed
since its last look (``updated_at_gte`` of ``/api/v2``). A run made before this revision
gets the latest time it already holds: its end, else its start, else when it was queued.

Revision ID: 0026
Revises: 0025
Create Date: 2026-11-27 01:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from conveyor.store.migrations import _ops
from conveyor.store.tables import UtcDateTime

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    _ops.add_columns("dag_run", sa.Column("updated_at", UtcDateTime(), nullable=True))
    op.execute("UPDATE dag_run SET updated_at = COALESCE(end_date, start_date, queued_at)")


def downgrade() -> None:
    _ops.drop_columns("dag_run", "updated_at")
