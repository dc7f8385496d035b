"""The metadata store's tables (SQLAlchemy Core). Alembic migrations mirror this module.

Datetimes are stored as UTC and come back aware, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    """Stores naive UTC; returns aware UTC. Refuses naive input, which would be ambiguous."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given to the store; use aware UTC")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)

ID = 250  # length of dag, task and run ids

dag = Table(
    "dag",
    metadata,
    Column("dag_id", String(ID), primary_key=True),
    Column("fileloc", Text, nullable=False),
    Column("version_hash", String(64), nullable=False),
    Column("is_paused", Boolean, nullable=False, default=False),
    Column("is_active", Boolean, nullable=False, default=True),
    Column("schedule", String(200), nullable=False),
    Column("description", Text),
    Column("tags", JSON, nullable=False, default=list),
    Column("next_run_after", UtcDateTime),
    Column("updated_at", UtcDateTime, nullable=False),
)

dag_source = Table(
    "dag_source",
    metadata,
    Column("source_hash", String(64), primary_key=True),
    Column("fileloc", Text, nullable=False),
    Column("source", Text, nullable=False),
)

dag_version = Table(
    "dag_version",
    metadata,
    Column("version_hash", String(64), primary_key=True),
    Column("dag_id", String(ID), nullable=False, index=True),
    Column("source_hash", ForeignKey("dag_source.source_hash"), nullable=False),
    Column("serialized", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

dag_file = Table(
    "dag_file",
    metadata,
    Column("fileloc", String(1000), primary_key=True),
    Column("source_hash", String(64), nullable=False),
    Column("dag_ids", JSON, nullable=False, default=list),
    Column("parsed_at", UtcDateTime, nullable=False),
    Column("parse_seconds", Float),
)

import_error = Table(
    "import_error",
    metadata,
    Column("fileloc", String(1000), primary_key=True),
    Column("line", Integer),
    Column("message", Text, nullable=False),
    Column("traceback", Text),
    Column("created_at", UtcDateTime, nullable=False),
)

dag_run = Table(
    "dag_run",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("dag_id", String(ID), nullable=False),
    Column("run_id", String(ID), nullable=False),
    Column("run_type", String(20), nullable=False),  # scheduled | manual
    Column("state", String(20), nullable=False),
    Column("logical_date", UtcDateTime, nullable=False),
    Column("data_interval_start", UtcDateTime, nullable=False),
    Column("data_interval_end", UtcDateTime, nullable=False),
    Column("conf", JSON, nullable=False, default=dict),
    Column("version_hash", ForeignKey("dag_version.version_hash"), nullable=False),
    Column("created_by", String(200)),
    Column("queued_at", UtcDateTime, nullable=False),
    Column("start_date", UtcDateTime),
    Column("end_date", UtcDateTime),
    Column("note", Text),
    UniqueConstraint("dag_id", "run_id"),
    Index("ix_dag_run_state", "state", "dag_id"),
    # A schedule tick makes one run even with two schedulers racing: the insert loses.
    Index(
        "uq_dag_run_scheduled_tick",
        "dag_id",
        "logical_date",
        unique=True,
        sqlite_where=text("run_type = 'scheduled'"),
        postgresql_where=text("run_type = 'scheduled'"),
    ),
)

task_instance = Table(
    "task_instance",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_pk", ForeignKey("dag_run.id", ondelete="CASCADE"), nullable=False),
    Column("dag_id", String(ID), nullable=False),
    Column("run_id", String(ID), nullable=False),
    Column("task_id", String(ID), nullable=False),
    Column("state", String(20), nullable=False),
    Column("try_number", Integer, nullable=False, default=0),  # current or last try; 0: none yet
    Column("max_tries", Integer, nullable=False),
    Column("priority_weight", Integer, nullable=False, default=1),
    Column("queue", String(200), nullable=False, default="default"),
    Column("retry_at", UtcDateTime),
    Column("scheduled_at", UtcDateTime),
    Column("queued_at", UtcDateTime),
    Column("start_date", UtcDateTime),
    Column("end_date", UtcDateTime),
    Column("hostname", String(255)),
    Column("pid", Integer),
    Column("heartbeat_at", UtcDateTime),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("run_pk", "task_id"),
    Index("ix_task_instance_state", "state"),
)

task_try = Table(
    "task_try",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ti_id", ForeignKey("task_instance.id", ondelete="CASCADE"), nullable=False),
    Column("try_number", Integer, nullable=False),
    Column("state", String(20), nullable=False),
    Column("hostname", String(255)),
    Column("pid", Integer),
    Column("start_date", UtcDateTime),
    Column("end_date", UtcDateTime),
    Column("duration", Float),
    Column("exit_kind", String(30)),  # return | exception | timeout | signal | crash | heartbeat
    Column("error", Text),
    Column("log_path", Text),
    UniqueConstraint("ti_id", "try_number"),
)

task_event = Table(
    "task_event",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ti_id", ForeignKey("task_instance.id", ondelete="CASCADE"), nullable=False),
    Column("try_number", Integer, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("kind", String(40), nullable=False),
    Column("actor", String(255), nullable=False),
    Column("message", Text, nullable=False),
    Column("detail", JSON),
    Index("ix_task_event_ti_id", "ti_id", "id"),
)

xcom = Table(
    "xcom",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_pk", ForeignKey("dag_run.id", ondelete="CASCADE"), nullable=False),
    Column("task_id", String(ID), nullable=False),
    Column("key", String(ID), nullable=False),
    Column("value", JSON),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("run_pk", "task_id", "key"),
)

scheduler = Table(
    "scheduler",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("hostname", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("heartbeat_at", UtcDateTime, nullable=False),
    Column("stopped_at", UtcDateTime),
)

worker = Table(
    "worker",
    metadata,
    Column("hostname", String(255), primary_key=True),  # the Celery node name, unique per worker
    Column("queues", JSON, nullable=False),
    Column("concurrency", Integer, nullable=False),
    Column("pid", Integer, nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("heartbeat_at", UtcDateTime, nullable=False),
    Column("running", JSON, nullable=False, default=list),  # task instance ids in progress
    Column("stopped_at", UtcDateTime),
)
