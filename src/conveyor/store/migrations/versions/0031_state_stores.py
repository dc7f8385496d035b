"""Task and asset state stores (Airflow 3.3)

``task_state_store``: the values a task instance keeps across its tries, by run, task and
map index, gone with the run. ``asset_state_store``: the values kept on an asset (a dataset
row) by the tasks that name it, with who wrote each last, gone with the asset.

Revision ID: 0031
Revises: 0030
Create Date: 2026-11-27 04:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from conveyor.store.migrations import _ops
from conveyor.store.tables import UtcDateTime

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "task_state_store",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_pk", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.String(length=250), nullable=False),
        sa.Column("map_index", sa.Integer(), server_default="-1", nullable=False),
        sa.Column("key", sa.String(length=512), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=True),
        _ops.foreign_key("task_state_store", "run_pk", "dag_run.id", cascade=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_state_store")),
        sa.UniqueConstraint(
            "run_pk",
            "task_id",
            "map_index",
            "key",
            name=op.f("uq_task_state_store_run_pk_task_id_map_index_key"),
        ),
    )
    _ops.create_indexes("task_state_store", {"ix_task_state_store_expires_at": ["expires_at"]})
    op.create_table(
        "asset_state_store",
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=512), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("last_updated_by_kind", sa.String(length=16), nullable=True),
        sa.Column("last_updated_by_dag_id", sa.String(length=250), nullable=True),
        sa.Column("last_updated_by_run_id", sa.String(length=250), nullable=True),
        sa.Column("last_updated_by_task_id", sa.String(length=250), nullable=True),
        sa.Column("last_updated_by_map_index", sa.Integer(), nullable=True),
        _ops.foreign_key("asset_state_store", "dataset_id", "dataset.id", cascade=True),
        sa.PrimaryKeyConstraint("dataset_id", "key", name=op.f("pk_asset_state_store")),
    )


def downgrade() -> None:
    _ops.drop_table("asset_state_store")
    _ops.drop_table("task_state_store", "ix_task_state_store_expires_at")
