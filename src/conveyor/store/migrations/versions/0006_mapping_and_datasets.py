"""dynamic task mapping (map_index) and datasets

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import conveyor.store.tables
from conveyor.store.migrations import _ops

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

#: The tables whose rows a mapped task has one of per map index, with the unique key each
#: had before: ``map_index`` joins that key.
_MAPPED = (("task_instance", ["run_pk", "task_id"]), ("xcom", ["run_pk", "task_id", "key"]))


def _unique(table: str, key: list[str]) -> str:
    return f"uq_{table}_{'_'.join(key)}"


def upgrade() -> None:
    for table, key in _MAPPED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("map_index", sa.Integer(), server_default="-1", nullable=False)
            )
            batch_op.drop_constraint(_unique(table, key), type_="unique")
            batch_op.create_unique_constraint(
                batch_op.f(_unique(table, [*key, "map_index"])), [*key, "map_index"]
            )
    op.create_table(
        "dataset",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("uri", sa.String(length=1000), nullable=False),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.Column("created_at", conveyor.store.tables.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dataset")),
        sa.UniqueConstraint("uri", name=op.f("uq_dataset_uri")),
    )
    op.create_table(
        "dataset_event",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("source_dag_id", sa.String(length=250), nullable=False),
        sa.Column("source_run_id", sa.String(length=250), nullable=False),
        sa.Column("source_task_id", sa.String(length=250), nullable=False),
        sa.Column("source_map_index", sa.Integer(), nullable=False),
        sa.Column("created_at", conveyor.store.tables.UtcDateTime(), nullable=False),
        _ops.foreign_key("dataset_event", "dataset_id", "dataset.id", cascade=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dataset_event")),
    )
    _ops.create_indexes("dataset_event", {"ix_dataset_event_dataset_id": ["dataset_id", "id"]})
    op.create_table(
        "dataset_dag_queue",
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("target_dag_id", sa.String(length=250), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("created_at", conveyor.store.tables.UtcDateTime(), nullable=False),
        _ops.foreign_key("dataset_dag_queue", "dataset_id", "dataset.id", cascade=True),
        _ops.foreign_key("dataset_dag_queue", "event_id", "dataset_event.id", cascade=True),
        sa.PrimaryKeyConstraint("dataset_id", "target_dag_id", name=op.f("pk_dataset_dag_queue")),
    )


def downgrade() -> None:
    op.drop_table("dataset_dag_queue")
    _ops.drop_table("dataset_event", "ix_dataset_event_dataset_id")
    op.drop_table("dataset")
    for table, key in reversed(_MAPPED):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(_unique(table, [*key, "map_index"]), type_="unique")
            batch_op.create_unique_constraint(batch_op.f(_unique(table, key)), key)
            batch_op.drop_column("map_index")
