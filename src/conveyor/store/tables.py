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
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
    false,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from conveyor.clock import utcnow
from conveyor.model.task import DEFAULT_POOL


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
        found: datetime = value.replace(tzinfo=UTC)
        return found


NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)

ID = 250  # length of dag, task and run ids
PARTITION_KEY = 250  # a partition key, as Airflow's column keeps it


def partial(where: str) -> dict[str, Any]:
    """A partial index's keywords: its condition for SQLite, which an in-memory store gets
    from ``create_all`` (``schema.migrate``), and as a note for PostgreSQL, whose stores
    always get it from the index's migration (``postgresql_where`` there). The PostgreSQL
    keyword here would load SQLAlchemy's PostgreSQL dialect whenever this module loads:
    ~40 ms of every command line on SQLite."""
    return {"sqlite_where": text(where), "info": {"postgresql_where": where}}


# Columns that many tables declare alike, each written once. Each call makes a new Column.
def _serial_id() -> Column[int]:
    """``id``: the table's own primary key, numbered by the database."""
    return Column("id", Integer, primary_key=True, autoincrement=True)


def _run_pk(*, nullable: bool = False) -> Column[Any]:
    """``run_pk``: the run the row belongs to; the row goes when the run is deleted."""
    return Column("run_pk", ForeignKey("dag_run.id", ondelete="CASCADE"), nullable=nullable)


def _ti_id() -> Column[Any]:
    """``ti_id``: the task instance the row belongs to; it goes with the instance."""
    return Column("ti_id", ForeignKey("task_instance.id", ondelete="CASCADE"), nullable=False)


def _created_at() -> Column[datetime]:
    return Column("created_at", UtcDateTime, nullable=False)


def _updated_at() -> Column[datetime]:
    return Column("updated_at", UtcDateTime, nullable=False)


def _dataset_id(**keywords: Any) -> Column[Any]:
    """``dataset_id``: the dataset the row is about; the row goes with the dataset."""
    return Column("dataset_id", ForeignKey("dataset.id", ondelete="CASCADE"), **keywords)


def _event_id() -> Column[Any]:
    """``event_id``: the dataset event the row carries; it goes with the event."""
    return Column("event_id", ForeignKey("dataset_event.id", ondelete="CASCADE"), nullable=False)


def _process() -> tuple[Column[Any], ...]:
    """A scheduler's or triggerer's ``id`` and where it runs (``hostname``, ``pid``)."""
    return (
        Column("id", String(64), primary_key=True),
        Column("hostname", String(255), nullable=False),
        Column("pid", Integer, nullable=False),
    )


def _process_liveness() -> tuple[Column[datetime], ...]:
    """When a scheduler or triggerer started, last beat, and stopped (NULL: it runs), as the
    liveness rule (store/liveness.py) reads them."""
    return (
        Column("started_at", UtcDateTime, nullable=False),
        Column("heartbeat_at", UtcDateTime, nullable=False),
        Column("stopped_at", UtcDateTime),
    )


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
    # The DAG's access_control as parsed: {role: ["can_edit", "can_read"]}; NULL: none given.
    Column("access_control", JSON),
    Column("next_run_after", UtcDateTime),
    # When the scheduler next has to look at this DAG (store/due_times.py); NULL: never.
    Column("next_dagrun_create_after", UtcDateTime, index=True),
    _updated_at(),
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
    _created_at(),
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
    _created_at(),
)

# A DAG file someone asked to parse now (``PUT /api/v2/parseDagFile``): the DAG file
# processor reads the rows at each scan, parses those files as if they had changed, and
# deletes the rows it read (store/parse_requests.py). One row per file.
dag_parse_request = Table(
    "dag_parse_request",
    metadata,
    Column("fileloc", String(1000), primary_key=True),
    Column("requested_at", UtcDateTime, nullable=False),
)

# A backfill a person or a script asked for (Airflow 3's ``Backfill``): its runs carry its
# id in ``dag_run.backfill_id``, and the scheduler starts them ``max_active_runs`` at a time,
# none while it is paused. See conveyor.store.backfills.
backfill = Table(
    "backfill",
    metadata,
    _serial_id(),
    Column("dag_id", String(ID), nullable=False, index=True),
    Column("from_date", UtcDateTime, nullable=False),
    Column("to_date", UtcDateTime, nullable=False),
    Column("dag_run_conf", JSON, nullable=False),
    Column("is_paused", Boolean, nullable=False),
    Column("reprocess_behavior", String(20), nullable=False),  # none | failed | completed
    Column("max_active_runs", Integer, nullable=False),
    _created_at(),
    Column("completed_at", UtcDateTime),  # NULL while it goes on; set by its end or a cancel
    _updated_at(),
    Column("triggering_user_name", String(200)),  # who asked for it (a user, or the OS user)
)

dag_run = Table(
    "dag_run",
    metadata,
    _serial_id(),
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
    Column("note", Text),  # the system's reason for the run's state
    Column("user_note", Text),  # what a person wrote on the run
    # The backfill that made the run or reprocessed it (NULL: none); it paces the run. No
    # foreign key: migration 0024 added it without copying the table (see its docstring).
    Column("backfill_id", Integer, index=True),
    # The last change of the row (made, moved, noted, taken by a backfill): what a poller of
    # the run list asks by. Nullable only as migration 0026 added it; every write sets it.
    Column("updated_at", UtcDateTime),
    # Airflow 3.2's partition of the data the run is for (a CronPartitionTimetable's tick, the
    # mapped key of a PartitionedAssetTimetable's events, or given when triggered); NULL: none.
    Column("partition_key", String(PARTITION_KEY)),
    # The moment that partition starts (Airflow 3.3's ``partition_date``): a
    # CronPartitionTimetable's tick, or what the mappers decode of the key; NULL: none.
    Column("partition_date", UtcDateTime),
    UniqueConstraint("dag_id", "run_id"),
    Index("ix_dag_run_state", "state", "dag_id"),
    Index("ix_dag_run_dag_logical_date", "dag_id", "logical_date"),  # the grid's latest runs
    # A schedule tick makes one run even with two schedulers racing: the insert loses.
    Index(
        "uq_dag_run_scheduled_tick",
        "dag_id",
        "logical_date",
        unique=True,
        **partial("run_type = 'scheduled'"),
    ),
)

# Something outside a try's end changed what a running run may do next (a clear, a mark, an
# unpause, the run before it): the scheduler plans the run whole in its next loop and deletes
# the rows it saw (store/plan_requests.py). No foreign key: an insert takes no lock on the
# run's row, which the writer of another run may not wait for.
run_plan_request = Table(
    "run_plan_request",
    metadata,
    _serial_id(),
    Column("run_pk", Integer, nullable=False),
    Column("requested_at", UtcDateTime, nullable=False),
)

task_instance = Table(
    "task_instance",
    metadata,
    _serial_id(),
    _run_pk(),
    Column("dag_id", String(ID), nullable=False),
    Column("run_id", String(ID), nullable=False),
    Column("task_id", String(ID), nullable=False),
    Column("state", String(20), nullable=False),
    # Numbers every dispatch (0: none yet): the fence every move checks. A dispatch that
    # continues the try before it (a reschedule's poke, a deferral's or an answer's
    # resumption) is counted in ``resumptions`` too, and grants itself one more try in
    # ``max_tries``: the try number users see is try_number - resumptions, the tries allowed
    # max_tries - resumptions (``store/try_numbers.py``, migration 0033).
    Column("try_number", Integer, nullable=False, default=0),
    Column("max_tries", Integer, nullable=False),
    Column("priority_weight", Integer, nullable=False, default=1),
    Column("queue", String(200), nullable=False, default="default"),
    # The pool the try takes slots of while queued or running (see conveyor.store.pools).
    Column("pool", String(ID), nullable=False, server_default=DEFAULT_POOL),
    Column("pool_slots", Integer, nullable=False, server_default="1"),
    Column("retry_at", UtcDateTime),
    Column("scheduled_at", UtcDateTime),
    Column("queued_at", UtcDateTime),
    Column("start_date", UtcDateTime),
    Column("end_date", UtcDateTime),
    Column("hostname", String(255)),
    Column("pid", Integer),
    Column("heartbeat_at", UtcDateTime),
    _updated_at(),
    # An instance of a mapped task is numbered 0..n-1; every other task instance has -1.
    Column("map_index", Integer, nullable=False, default=-1, server_default="-1"),
    # A try that resumes a deferral calls this method with these keyword arguments (the
    # trigger's event among them) instead of ``execute``; set on the move out of deferred,
    # cleared by every other move to scheduled (engine/deferral.py).
    Column("next_method", String(255)),
    Column("next_kwargs", JSON),
    Column("user_note", Text),  # what a person wrote on the task instance
    # The try whose process is to be stopped: set when a person (or the run's timeout) ends a
    # running try, cleared by the executor or worker that sent its process SIGTERM
    # (store/stops.py). The store is where a stop is asked, so none is lost with a message.
    Column("stop_try", Integer),
    # Its task's map_index_template as its last try rendered it (migration 0022).
    Column("rendered_map_index", Text),
    Column("resumptions", Integer, nullable=False, default=0, server_default="0"),
    UniqueConstraint("run_pk", "task_id", "map_index"),
)
# A hop reads a few instances of its run by state (store/frontier_reads.py), those waiting for
# room in the order they are queued: the highest priority first, then the oldest. Both
# indexes serve that read in that order: PostgreSQL chooses between them from statistics of
# ``state`` that a big run always outdates (migration 0014). The state index also finds a
# state's rows across runs.
Index(
    "ix_task_instance_run_state",
    task_instance.c.run_pk,
    task_instance.c.state,
    task_instance.c.priority_weight.desc(),
    task_instance.c.id,
)
# The stops asked for and not yet sent: few rows, read every second by each executor.
Index(
    "ix_task_instance_stop_try",
    task_instance.c.stop_try,
    **partial("stop_try IS NOT NULL"),
)
Index(
    "ix_task_instance_state",
    task_instance.c.state,
    task_instance.c.run_pk,
    task_instance.c.priority_weight.desc(),
    task_instance.c.id,
)

task_try = Table(
    "task_try",
    metadata,
    _serial_id(),
    _ti_id(),
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
    # The template fields as the try rendered them, secrets masked; NULL: not rendered.
    Column("rendered", JSON),
    # One row a dispatch: its task instance's resumptions when it started, so the try it
    # belongs to is try_number - resumptions (migration 0033).
    Column("resumptions", Integer, nullable=False, default=0, server_default="0"),
    UniqueConstraint("ti_id", "try_number"),
)

task_event = Table(
    "task_event",
    metadata,
    _serial_id(),
    _ti_id(),
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
    _serial_id(),
    _run_pk(),
    Column("task_id", String(ID), nullable=False),
    Column("key", String(ID), nullable=False),
    Column("value", JSON),
    _created_at(),
    Column("map_index", Integer, nullable=False, default=-1, server_default="-1"),
    # The value with the secrets its try read masked, for readers; NULL: shown as it is.
    Column("shown", JSON),
    UniqueConstraint("run_pk", "task_id", "key", "map_index"),
)

scheduler = Table(
    "scheduler",
    metadata,
    *_process(),
    *_process_liveness(),
)

# A unit of a scheduler's loop (a DAG's new runs, a run's advance, a try's dispatch...) that
# raised: the loop logs it, goes on with the others, and keeps the latest failure here for
# `conveyor health` and the web. ``unit`` names the work ("advance_run:42"); the row goes
# once that unit succeeds again (or its run is deleted).
scheduler_problem = Table(
    "scheduler_problem",
    metadata,
    Column("unit", String(300), primary_key=True),
    Column("scheduler_id", String(64), nullable=False),
    Column("action", String(50), nullable=False),
    Column("dag_id", String(ID), index=True),
    _run_pk(nullable=True),
    Column("error", Text, nullable=False),
    Column("traceback", Text),
    Column("first_seen", UtcDateTime, nullable=False),
    Column("last_seen", UtcDateTime, nullable=False),
    Column("occurrences", Integer, nullable=False),
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

# Web access: users and the API tokens scripts use. Browser sessions are signed cookies.
web_user = Table(
    "web_user",
    metadata,
    Column("username", String(200), primary_key=True),
    Column("password_hash", String(200), nullable=False),  # argon2id, encoded with its salt
    # The built-in role: admin | op | viewer, or public (none: only the named roles count).
    Column("role", String(20), nullable=False),
    _created_at(),
    Column("last_login_at", UtcDateTime),
    # Bumped at logout and on a new password: a session cookie carries the epoch it began in,
    # so a copied cookie stops working when its user logs out.
    Column("session_epoch", Integer, nullable=False, server_default="0"),
    # What the directory itself keys the user by, bound at their first sign-in: an OpenID
    # Connect provider's issuer and subject ("<iss> <sub>"). NULL: a local or LDAP user, or
    # an OIDC user made before migration 0025 (refused until an admin links them).
    Column("subject", String(700)),
    Index("uq_web_user_subject", "subject", unique=True),
)

api_token = Table(
    "api_token",
    metadata,
    _serial_id(),
    Column("token_hash", String(64), nullable=False, unique=True),  # sha256: tokens are random
    Column("username", ForeignKey("web_user.username", ondelete="CASCADE"), nullable=False),
    Column("name", String(200), nullable=False),
    _created_at(),
    Column("last_used_at", UtcDateTime),
    Column("expires_at", UtcDateTime),  # NULL: never (only tokens made before expiry existed)
    # The token whose request made this one (NULL: a session or the CLI): revoking a token
    # revokes every token made with it, and theirs.
    Column("parent_id", ForeignKey("api_token.id", ondelete="CASCADE")),
)

# Named roles an admin makes (admin, op, viewer and public are built in, not rows here). A
# role gives what its permissions say and what the DAGs' access_control grants it.
role = Table(
    "role",
    metadata,
    Column("name", String(100), primary_key=True),
    _created_at(),
)

role_permission = Table(
    "role_permission",
    metadata,
    Column("role", ForeignKey("role.name", ondelete="CASCADE"), primary_key=True),
    Column("resource", String(300), primary_key=True),  # "DAG:<dag_id>", or "DAGs": every DAG
    Column("action", String(20), primary_key=True),  # can_read | can_edit
)

# The named roles a user holds, besides the built-in one in web_user.role.
user_role = Table(
    "user_role",
    metadata,
    Column("username", ForeignKey("web_user.username", ondelete="CASCADE"), primary_key=True),
    Column("role", ForeignKey("role.name", ondelete="CASCADE"), primary_key=True, index=True),
)

# The DAGs each user marked as a favourite (Airflow's favourite DAGs): the user's own
# preference, gone with the user; a DAG's rows go when its history is deleted.
dag_favorite = Table(
    "dag_favorite",
    metadata,
    Column("username", ForeignKey("web_user.username", ondelete="CASCADE"), primary_key=True),
    Column("dag_id", String(ID), primary_key=True, index=True),
)

# Connection tests asked through POST /api/v2/connections/enqueue-test, by the token their
# caller polls with: the web server runs each at once and records how it ended.
connection_test = Table(
    "connection_test",
    metadata,
    Column("token", String(64), primary_key=True),
    Column("connection_id", String(250), nullable=False),
    Column("state", String(20), nullable=False),  # success | failed
    Column("result_message", Text),
    _created_at(),
    Index("ix_connection_test_created_at", "created_at"),
)

# Failed logins by key ("user:<name>" or "addr:<ip>"), shared by every web process: after
# login_max_failures, logins under that key wait (exponential backoff). A success clears it.
login_throttle = Table(
    "login_throttle",
    metadata,
    Column("key", String(300), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("last_failure_at", UtcDateTime, nullable=False),
)

# Connections and variables (conveyor.connections). Secrets are Fernet tokens: the password
# and extra of a connection, the value of every variable.
connection = Table(
    "connection",
    metadata,
    Column("conn_id", String(ID), primary_key=True),
    Column("conn_type", String(100), nullable=False),
    Column("host", String(500)),
    Column("port", Integer),
    Column("login", String(500)),
    Column("password", Text),  # encrypted
    Column("schema", String(500)),
    Column("extra", Text),  # encrypted JSON object
    Column("description", Text),
    _updated_at(),
    Column("secret_fields", JSON),  # names of fields masked whatever their name (a list)
)

variable = Table(
    "variable",
    metadata,
    Column("key", String(ID), primary_key=True),
    Column("value", Text, nullable=False),  # encrypted
    Column("description", Text),
    _updated_at(),
    # Masked in logs and listings whatever its key (keys that look secret are anyway).
    Column("is_secret", Boolean, nullable=False, default=False, server_default=false()),
)

# DAG callbacks and SLA alerts to run (conveyor.callbacks). The process that moves a run to
# its end inserts the request in the same transaction, so each is made once; whoever claims
# it (pending -> running, a guarded update) runs it.
callback_request = Table(
    "callback_request",
    metadata,
    _serial_id(),
    _run_pk(),
    Column("kind", String(20), nullable=False),  # success | failure | sla_miss | deadline
    Column("task_id", String(ID), nullable=False, default=""),  # sla_miss: the late task
    Column("reason", Text),
    Column("state", String(20), nullable=False),  # pending | running | done | failed
    _created_at(),
    Column("claimed_by", String(255)),
    Column("claimed_at", UtcDateTime),
    Column("finished_at", UtcDateTime),
    Column("error", Text),
    UniqueConstraint("run_pk", "kind", "task_id"),
    Index("ix_callback_request_state", "state"),
)

# Deadline alerts: a run's need-by time per alert of its DAG (``deadline=``), worked out as
# the run is made. The scheduler reads the pending ones whose time has come (the partial
# index) and decides each once: ``met`` (the run succeeded by then) or ``missed`` (the
# alert's callback is requested in the same transaction).
run_deadline = Table(
    "run_deadline",
    metadata,
    _serial_id(),
    _run_pk(),
    Column("alert_index", Integer, nullable=False),  # its place in the DAG's deadline list
    Column("name", String(ID)),
    Column("reference", String(40), nullable=False),  # Airflow's reference class name
    Column("deadline_at", UtcDateTime, nullable=False),
    Column("state", String(20), nullable=False),  # pending | met | missed
    Column("decided_at", UtcDateTime),
    UniqueConstraint("run_pk", "alert_index"),
    Index(
        "ix_run_deadline_pending",
        "deadline_at",
        **partial("state = 'pending'"),
    ),
)

# Pools: named sets of slots; a try holds its task's pool_slots while queued or running.
# Whoever queues a try locks the pool's row first, so schedulers and workers never overfill it.
pool = Table(
    "pool",
    metadata,
    Column("name", String(ID), primary_key=True),
    Column("slots", Integer),  # NULL: no limit of its own (parallelism still caps it)
    Column("description", Text),
    _updated_at(),
)

#: Migration 0005 creates DEFAULT_POOL (tasks that name no pool) without a slot limit, so
#: tasks that use no pool cost the queueing transaction no pool lock; a user may limit it.
DEFAULT_POOL_SLOTS: int | None = None


@event.listens_for(pool, "after_create")
def _create_default_pool(target: Table, connection: Any, **_: Any) -> None:
    """A store made straight from these tables (in memory) gets default_pool as well."""
    connection.execute(
        target.insert().values(
            name=DEFAULT_POOL,
            slots=DEFAULT_POOL_SLOTS,
            description="tasks that name no pool (no limit until you set one)",
            updated_at=utcnow(),
        )
    )


# Datasets (conveyor.model.datasets): a task's success updates the datasets of its outlets;
# each update is an event, queued for every DAG scheduled on that dataset in the same
# transaction. A consuming DAG runs once its queue holds an update of each of its datasets.
dataset = Table(
    "dataset",
    metadata,
    _serial_id(),
    Column("uri", String(1000), nullable=False, unique=True),
    Column("extra", JSON, nullable=False, default=dict),
    _created_at(),
)

dataset_event = Table(
    "dataset_event",
    metadata,
    _serial_id(),
    _dataset_id(nullable=False),
    Column("source_dag_id", String(ID), nullable=False),
    Column("source_run_id", String(ID), nullable=False),
    Column("source_task_id", String(ID), nullable=False),
    Column("source_map_index", Integer, nullable=False, default=-1),
    _created_at(),
    # What the try set in outlet_events (NULL: nothing), and the alias it was emitted through.
    Column("extra", JSON, nullable=True),
    Column("source_alias", String(1000), nullable=True),
    # The partition the event updated: its run's partition key, or the one the API was given.
    Column("partition_key", String(PARTITION_KEY), nullable=True),
    Index("ix_dataset_event_dataset_id", "dataset_id", "id"),
)

# Airflow 3.3's state stores (conveyor.store.state_store). A task instance's values, kept
# across its tries and clears, by run, task and map index: gone with the run. An asset's
# values, read and written by every task that names the asset: gone with the asset (its
# dataset row), with who wrote each last (``last_updated_by_*``, no foreign key: it
# outlives the run that wrote it).
task_state_store = Table(
    "task_state_store",
    metadata,
    _serial_id(),
    _run_pk(),
    Column("task_id", String(ID), nullable=False),
    Column("map_index", Integer, nullable=False, default=-1, server_default="-1"),
    Column("key", String(512), nullable=False),
    Column("value", JSON, nullable=False),
    _updated_at(),
    Column("expires_at", UtcDateTime, index=True),  # NULL: never expires
    UniqueConstraint("run_pk", "task_id", "map_index", "key"),
)

asset_state_store = Table(
    "asset_state_store",
    metadata,
    _dataset_id(primary_key=True),
    Column("key", String(512), primary_key=True),
    Column("value", JSON, nullable=False),
    _updated_at(),
    Column("last_updated_by_kind", String(16)),  # "task" or "api"
    Column("last_updated_by_dag_id", String(ID)),
    Column("last_updated_by_run_id", String(ID)),
    Column("last_updated_by_task_id", String(ID)),
    Column("last_updated_by_map_index", Integer),
)

# The pending update of one dataset for one consuming DAG: the first event not yet consumed.
# An alias has a dataset row of its own (its key, model.datasets.ALIAS_PREFIX + name), so a
# DAG scheduled on it queues the events emitted through it under that row.
dataset_dag_queue = Table(
    "dataset_dag_queue",
    metadata,
    _dataset_id(primary_key=True),
    Column("target_dag_id", String(ID), primary_key=True),
    _event_id(),
    _created_at(),
)

# The pending update of one dataset for one DAG on a PartitionedAssetTimetable, by the
# partition key its mapper made of the event's key (Airflow's AssetPartitionDagRun and key
# log): the DAG runs for a key once its condition holds over that key's updates.
partition_dag_queue = Table(
    "partition_dag_queue",
    metadata,
    _dataset_id(primary_key=True),
    Column("target_dag_id", String(ID), primary_key=True),
    Column("partition_key", String(PARTITION_KEY), primary_key=True),
    _event_id(),
    # The producing run's partition_date, carried when the mapper keeps the key as it is
    # (the identity's key tells no date of its own to decode); NULL: none.
    Column("partition_date", UtcDateTime),
    # The DAG's mappers when it was queued (PartitionedAssetTimetable.fingerprint): a key
    # queued under other mappers is dropped rather than made a run of; NULL: before 0035.
    Column("fingerprint", String(64)),
    _created_at(),
)

# Every upstream key that arrived for a pending partition of a DAG whose asset's mapper is a
# RollupMapper (Airflow's PartitionedAssetKeyLog): its run waits until the keys its window
# names are here, as its wait policy says; consumed with the partition's queue rows.
partition_key_log = Table(
    "partition_key_log",
    metadata,
    _dataset_id(primary_key=True),
    Column("target_dag_id", String(ID), primary_key=True),
    Column("partition_key", String(PARTITION_KEY), primary_key=True),
    Column("source_key", String(PARTITION_KEY), primary_key=True),
    _event_id(),
    _created_at(),
)

# The watchers of assets (Airflow's ``Asset(watchers=[AssetWatcher(...)])``): one row per
# watcher an active DAG version's schedule names, by asset and watcher name, written when the
# DAG is registered. ``triggerer_id``: the triggerer running it (a claim, as a trigger's).
asset_watcher = Table(
    "asset_watcher",
    metadata,
    _serial_id(),
    _dataset_id(nullable=False),
    Column("name", String(ID), nullable=False),
    Column("dag_id", String(ID), nullable=False),
    Column("version_hash", String(64), nullable=False),
    Column("classpath", String(1000), nullable=False),
    Column("kwargs", JSON, nullable=False),
    _created_at(),
    Column("triggerer_id", String(64)),
    UniqueConstraint("dataset_id", "name"),
)

# The messages a watcher turned into asset events, by the queue's own message id: written in
# the transaction of the event, so a message delivered again (its acknowledgement lost with a
# crashed triggerer) is recognised and makes no second event.
asset_watcher_message = Table(
    "asset_watcher_message",
    metadata,
    _dataset_id(primary_key=True),
    Column("watcher_name", String(ID), primary_key=True),
    Column("message_id", String(512), primary_key=True),
    _event_id(),
    _created_at(),
)

# The trigger a deferred try waits for (engine/deferral.py): the class by its import path and
# the keyword arguments its ``serialize()`` gave, the method and arguments the try resumes
# with, and when the deferral times out. ``triggerer_id``: the triggerer that runs it, or
# None while no live one has claimed it (store/triggers.py). Deleted when it fires, times
# out, or its try leaves ``deferred`` another way.
trigger = Table(
    "trigger",
    metadata,
    _serial_id(),
    _ti_id(),
    Column("try_number", Integer, nullable=False),
    Column("classpath", String(1000), nullable=False),
    Column("kwargs", JSON, nullable=False),
    Column("method_name", String(255), nullable=False),
    Column("method_kwargs", JSON),
    Column("timeout_at", UtcDateTime),
    _created_at(),
    Column("triggerer_id", String(64)),
    Index("ix_trigger_ti_id", "ti_id"),
    Index("ix_trigger_triggerer_id", "triggerer_id"),
)

# What a try awaiting input asks a person, and the answer (engine/awaiting_input.py): one row
# per try that asked, so each try's question and answer stay readable after a clear.
hitl_detail = Table(
    "hitl_detail",
    metadata,
    _ti_id(),
    Column("try_number", Integer, nullable=False),
    Column("subject", Text, nullable=False),
    Column("body", Text),
    Column("options", JSON, nullable=False),
    Column("defaults", JSON),
    Column("multiple", Boolean, nullable=False),
    Column("params", JSON, nullable=False),
    Column("assigned_users", JSON, nullable=False),
    Column("method_name", String(255), nullable=False),
    Column("timeout_at", UtcDateTime),
    _created_at(),
    Column("responded_at", UtcDateTime),
    Column("responded_by", JSON),
    Column("chosen_options", JSON),
    Column("params_input", JSON),
    PrimaryKeyConstraint("ti_id", "try_number"),
    Index("ix_hitl_detail_timeout_at", "timeout_at"),
)

# Triggerer processes and their heartbeats: the liveness rule (store/liveness.py) says
# whose triggers another triggerer may take over.
triggerer = Table(
    "triggerer",
    metadata,
    *_process(),
    Column("capacity", Integer, nullable=False),
    Column("running", Integer, nullable=False, default=0),
    *_process_liveness(),
)

# Who did what, when, from where: one row per action a person (or a script with their token)
# took through the API, the pages or the CLI. See conveyor.store.audit.
audit_log = Table(
    "audit_log",
    metadata,
    _serial_id(),
    Column("at", UtcDateTime, nullable=False, index=True),
    Column("actor", String(200), nullable=False, index=True),  # a username, or the OS user
    Column("via", String(50), nullable=False),  # "session", "token:<id>", "cli", "login"
    Column("address", String(100)),  # the client's address; NULL from the CLI
    Column("action", String(100), nullable=False, index=True),  # e.g. "run.trigger"
    Column("dag_id", String(ID), index=True),
    Column("target", String(1000)),  # what it acted on: "dag/run/task", a pool, a user
    Column("details", JSON),  # the request's options, secrets left out
)
