"""Asset watchers and the messages they turned into events

``asset_watcher``: each watcher an active DAG's schedule names, by asset and name, with the
triggerer that runs it. ``asset_watcher_message``: the queue's id of each message a watcher
recorded as an event, so a message delivered twice makes one event.

Revision ID: 0032
Revises: 0031
Create Date: 2026-11-27 05:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from conveyor.store.migrations import _ops
from conveyor.store.tables import UtcDateTime

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "asset_watcher",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=250), nullable=False),
        sa.Column("dag_id", sa.String(length=250), nullable=False),
        sa.Column("version_hash", sa.String(length=64), nullable=False),
        sa.Column("classpath", sa.String(length=1000), nullable=False),
        sa.Column("kwargs", sa.JSON(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("triggerer_id", sa.String(length=64), nullable=True),
        _ops.foreign_key("asset_watcher", "dataset_id", "dataset.id", cascade=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_asset_watcher")),
        sa.UniqueConstraint("dataset_id", "name", name=op.f("uq_asset_watcher_dataset_id_name")),
    )
    op.create_table(
        "asset_watcher_message",
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("watcher_name", sa.String(length=250), nullable=False),
        sa.Column("message_id", sa.String(length=512), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        _ops.foreign_key("asset_watcher_message", "dataset_id", "dataset.id", cascade=True),
        _ops.foreign_key("asset_watcher_message", "event_id", "dataset_event.id", cascade=True),
        sa.PrimaryKeyConstraint(
            "dataset_id", "watcher_name", "message_id", name=op.f("pk_asset_watcher_message")
        ),
    )


def downgrade() -> None:
    _ops.drop_table("asset_watcher_message")
    _ops.drop_table("asset_watcher")
