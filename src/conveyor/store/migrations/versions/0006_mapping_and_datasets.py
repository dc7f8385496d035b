"""dynamic task mapping (map_index) and datasets

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import conveyor.store.tables

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("task_instance", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("map_index", sa.Integer(), server_default="-1", nullable=False)
        )
        batch_op.drop_constraint("uq_task_instance_run_pk_task_id", type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_task_instance_run_pk_task_id_map_index"),
            ["run_pk", "task_id", "map_index"],
        )
    with op.batch_alter_table("xcom", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("map_index", sa.Integer(), server_default="-1", nullable=False)
        )
        batch_op.drop_constraint("uq_xcom_run_pk_task_id_key", type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_xcom_run_pk_task_id_key_map_index"),
            ["run_pk", "task_id", "key", "map_index"],
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
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["dataset.id"],
            name=op.f("fk_dataset_event_dataset_id_dataset"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dataset_event")),
    )
    with op.batch_alter_table("dataset_event", schema=None) as batch_op:
        batch_op.create_index("ix_dataset_event_dataset_id", ["dataset_id", "id"], unique=False)
    op.create_table(
        "dataset_dag_queue",
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("target_dag_id", sa.String(length=250), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("created_at", conveyor.store.tables.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["dataset.id"],
            name=op.f("fk_dataset_dag_queue_dataset_id_dataset"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["dataset_event.id"],
            name=op.f("fk_dataset_dag_queue_event_id_dataset_event"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("dataset_id", "target_dag_id", name=op.f("pk_dataset_dag_queue")),
    )


def downgrade() -> None:
    op.drop_table("dataset_dag_queue")
    with op.batch_alter_table("dataset_event", schema=None) as batch_op:
        batch_op.drop_index("ix_dataset_event_dataset_id")
    op.drop_table("dataset_event")
    op.drop_table("dataset")
    with op.batch_alter_table("xcom", schema=None) as batch_op:
        batch_op.drop_constraint("uq_xcom_run_pk_task_id_key_map_index", type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_xcom_run_pk_task_id_key"), ["run_pk", "task_id", "key"]
        )
        batch_op.drop_column("map_index")
    with op.batch_alter_table("task_instance", schema=None) as batch_op:
        batch_op.drop_constraint("uq_task_instance_run_pk_task_id_map_index", type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_task_instance_run_pk_task_id"), ["run_pk", "task_id"]
        )
        batch_op.drop_column("map_index")
