"""Creating runs and reading what the engine needs about them."""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import Connection, Row, and_, bindparam, func, insert, select
from sqlalchemy.exc import IntegrityError

from conveyor.clock import utcnow
from conveyor.exceptions import NotFoundError
from conveyor.model.airflow_operators import airflow_operator_class
from conveyor.model.airflow_rows import AirflowRowType
from conveyor.model.task import DEFAULT_POOL
from conveyor.run_ids import check_run_id
from conveyor.states import FINISHED, IN_FLIGHT, RunState, TaskState
from conveyor.stats import airflow as stats
from conveyor.store import deadlines, try_numbers
from conveyor.store.engine import after_commit
from conveyor.store.hop import prepared
from conveyor.store.tables import (
    dag,
    dag_run,
    dag_version,
    pool,
    task_event,
    task_instance,
    task_try,
)
from conveyor.strict_json import check, shown

if TYPE_CHECKING:  # the DAG model's schedules and timetables: loaded by the first read of one
    from conveyor.serialized import SerializedDag


@dataclass(frozen=True)
class RunRow(metaclass=AirflowRowType):
    airflow_name: ClassVar[str] = "DagRun"

    id: int
    dag_id: str
    run_id: str
    run_type: str
    state: RunState
    logical_date: datetime
    data_interval_start: datetime
    data_interval_end: datetime
    conf: dict[str, Any]
    version_hash: str
    # Its row's dates and maker as read: a try's context, a listener and a callback see the
    # run as it was when read, as Airflow hands its DagRun over.
    queued_at: datetime | None
    start_date: datetime | None  # when it last started running: names its trace (spans)
    end_date: datetime | None
    created_by: str | None
    dag_paused: bool = False
    partition_key: str | None = None  # the partition of data it is for (Airflow 3.2)
    partition_date: datetime | None = None  # the moment that partition starts (Airflow 3.3)


@dataclass(frozen=True, slots=True)
class TiRow:
    id: int
    task_id: str
    state: TaskState
    try_number: int
    max_tries: int
    retry_at: datetime | None
    queue: str
    priority_weight: int
    pool: str = DEFAULT_POOL
    pool_slots: int = 1
    map_index: int = -1  # 0..n-1 for an instance of a mapped task


#: The run type of a run made to materialize an asset (Airflow's ``asset_materialization``,
#: a name longer than ``dag_run.run_type`` holds; as ``dataset_triggered`` stands for
#: ``asset_triggered``, the API shows Airflow's name).
ASSET_MATERIALIZE = "asset_materialize"


#: What a scheduled run's id ends with when a run of another date has its usual one.
NAMESAKE_SUFFIX = "__conveyor"


def make_run_id(run_type: str, logical_date: datetime) -> str:
    # Manual runs are made "now", often several a second (scripts, retried requests); a
    # schedule tick is unique per logical date anyway and reads better without the fraction.
    precision = "seconds" if run_type == "scheduled" else "microseconds"
    return f"{run_type}__{logical_date.isoformat(timespec=precision)}"


#: DAG versions kept parsed: enough for every live DAG of a large deployment, so a loop over
#: all of them never parses one again; the least recently used goes first past it.
SERIALIZED_CACHE_SIZE = 4096
_cache: OrderedDict[str, SerializedDag] = OrderedDict()
_cache_lock = threading.Lock()


_SERIALIZED = select(dag_version.c.serialized).where(
    dag_version.c.version_hash == bindparam("version_hash")
)


def serialized_dag(conn: Connection, version_hash: str) -> SerializedDag:
    """The DAG structure of a version; versions never change, so each is parsed once here."""
    with _cache_lock:  # the web app reads from several threads
        found = _cache.get(version_hash)
        if found is not None:
            _cache.move_to_end(version_hash)
            return found
    data = prepared.execute(conn, _SERIALIZED, {"version_hash": version_hash}).scalar_one()
    return keep_serialized(version_hash, data)


def keep_serialized(version_hash: str, data: dict[str, Any]) -> SerializedDag:
    """Parse a version's serialized DAG read by the caller (with its source, say), and keep
    it for :func:`serialized_dag`."""
    from conveyor.serialized import SerializedDag

    found = SerializedDag.from_dict(data)
    with _cache_lock:
        _cache[version_hash] = found
        _cache.move_to_end(version_hash)
        while len(_cache) > SERIALIZED_CACHE_SIZE:
            _cache.popitem(last=False)
    return found


def is_parsed(version_hash: str) -> bool:
    """Whether :func:`serialized_dag` has the version parsed already (no store needed)."""
    with _cache_lock:
        return version_hash in _cache


def latest_version(conn: Connection, dag_id: str) -> tuple[str, SerializedDag]:
    version = conn.execute(
        select(dag.c.version_hash).where(dag.c.dag_id == dag_id, dag.c.is_active.is_(True))
    ).scalar()
    if version is None:
        raise NotFoundError(f"no DAG {dag_id!r}: not in the DAG folder, or its file fails to load")
    return version, serialized_dag(conn, version)


#: Built once: the scheduler makes a run of every due DAG with them.
_INSERT_RUN = insert(dag_run).returning(dag_run.c.id)
_INSERT_INSTANCE = insert(task_instance)


def create_run(
    conn: Connection,
    *,
    dag_id: str,
    version_hash: str,
    structure: SerializedDag,
    run_type: str,
    logical_date: datetime,
    interval: tuple[datetime, datetime],
    conf: dict[str, Any] | None = None,
    run_id: str | None = None,
    created_by: str,
    partition_key: str | None = None,
    partition_date: datetime | None = None,
) -> int | None:
    """Insert a queued run and its task instances; None if that run already exists.
    ``partition_key``: the partition of data it is for (Airflow 3.2), if any, and
    ``partition_date`` the moment that partition starts, when its key tells one.

    The last line of the run-id rule and of strict JSON: whoever made the run and its conf
    (checked before with their own messages), the store keeps only what every reader can
    show (``InvalidRunId``, ``NotStrictJson``)."""
    now = utcnow()
    named = run_id is not None
    run_id = check_run_id(run_id) if run_id is not None else make_run_id(run_type, logical_date)
    check(conf or {}, f"run {run_id!r} of DAG {dag_id!r}", "conf")
    try:
        with conn.begin_nested():  # a lost race on the unique tick leaves the rest intact
            run_pk: int = prepared.execute(
                conn,
                _INSERT_RUN,
                {
                    "dag_id": dag_id,
                    "run_id": run_id,
                    "run_type": run_type,
                    "state": RunState.QUEUED.value,
                    "logical_date": logical_date,
                    "data_interval_start": interval[0],
                    "data_interval_end": interval[1],
                    "conf": conf or {},
                    "version_hash": version_hash,
                    "created_by": created_by,
                    "queued_at": now,
                    "updated_at": now,
                    "partition_key": partition_key,
                    "partition_date": partition_date,
                },
            ).scalar_one()
    except IntegrityError:
        if named or run_type != "scheduled" or _same_tick(conn, dag_id, run_id, interval):
            return None
        # A run of another interval holds the tick's name: one imported from Airflow 3, which
        # names a scheduled run by its interval's end (the next interval's start here), or
        # by its time when its interval has no length.
        return create_run(
            conn,
            dag_id=dag_id,
            version_hash=version_hash,
            structure=structure,
            run_type=run_type,
            logical_date=logical_date,
            interval=interval,
            conf=conf,
            run_id=f"{run_id}{NAMESAKE_SUFFIX}",
            created_by=created_by,
            partition_key=partition_key,
        )
    rows = instance_rows(run_pk, dag_id, run_id, run_type, structure, logical_date, now)
    if rows:  # none: a DAG without tasks (for this date); the scheduler finishes its run
        prepared.execute_many(conn, _INSERT_INSTANCE, rows)
        if stats.on():
            made = _made_by_type(structure, rows)
            after_commit(conn, lambda: stats.instances_made(dag_id, run_type, made))
    alerts = structure.raw.get("deadlines")
    if alerts:  # deadline alerts: the run's need-by times, from the moment it is queued
        deadlines.add_for_run(conn, run_pk, dag_id, alerts, now=now, logical_date=logical_date)
    return run_pk


def _same_tick(
    conn: Connection, dag_id: str, run_id: str, interval: tuple[datetime, datetime]
) -> bool:
    """Whether the run named ``run_id`` covers ``interval``: the tick made already."""
    found = conn.execute(
        select(dag_run.c.data_interval_start, dag_run.c.data_interval_end).where(
            dag_run.c.dag_id == dag_id, dag_run.c.run_id == run_id
        )
    ).first()
    return found is None or tuple(found) == tuple(interval)


def instance_rows(
    run_pk: int,
    dag_id: str,
    run_id: str,
    run_type: str,
    structure: SerializedDag,
    logical_date: datetime,
    now: datetime,
) -> list[dict[str, Any]]:
    """The task instances a new run of ``structure`` starts with, not started yet."""
    return [
        {
            "run_pk": run_pk,
            "dag_id": dag_id,
            "run_id": run_id,
            "task_id": task.task_id,
            "state": TaskState.NONE.value,
            "try_number": 0,
            "max_tries": task.retries + 1,
            "priority_weight": task.priority_weight,
            "queue": task.queue,
            "pool": task.pool,
            "pool_slots": task.pool_slots,
            "updated_at": now,
            # Every column with a default given, so that no default is computed per row
            # (store/hop/prepared.py inserts the rows on the driver only then).
            "map_index": -1,
            "resumptions": 0,
        }
        for task in structure.tasks.values()
        # As Airflow: no instance for a run outside the task's own dates or its DAG's (a
        # task's start_date defaults to its DAG's), but in a backfill.
        if run_type == "backfill"
        or (task.runs_at(logical_date) and _in_window(structure, logical_date))
    ]


def _made_by_type(structure: SerializedDag, rows: list[dict[str, Any]]) -> dict[str, int]:
    """How many of a new run's instances each operator class has, as Airflow names it."""
    made: Counter[str] = Counter()
    for row in rows:
        task = structure.tasks[row["task_id"]]
        made[airflow_operator_class(task.decorated_as, task.operator_name)] += 1
    return dict(made)


def _in_window(structure: SerializedDag, logical_date: datetime) -> bool:
    """Whether ``logical_date`` falls within the DAG's start_date and end_date."""
    start, end = structure.start_date, structure.end_date
    return (start is None or start <= logical_date) and (end is None or logical_date <= end)


def create_manual_run(
    conn: Connection,
    dag_id: str,
    *,
    created_by: str,
    conf: dict[str, Any] | None = None,
    logical_date: datetime | None = None,
    run_id: str | None = None,
    run_type: str = "manual",
    partition_key: str | None = None,
) -> int | None:
    """Queue an on-demand run of the DAG's newest version (now, unless a date is given);
    ``run_type``: ``manual``, or :data:`ASSET_MATERIALIZE` (an asset's materialization).
    A ``partition_key`` the schedule cannot read a date from raises ``InvalidPartitionKey``
    (a ValueError)."""
    version, structure = latest_version(conn, dag_id)
    when = logical_date or utcnow()
    partition_date = structure.schedule.resolve_partition_date(partition_key)
    interval = structure.schedule.manual_interval(when)
    return create_run(
        conn,
        dag_id=dag_id,
        version_hash=version,
        structure=structure,
        run_type=run_type,
        logical_date=when,
        interval=(interval.start, interval.end),
        conf=conf,
        run_id=run_id,
        created_by=created_by,
        partition_key=partition_key,
        partition_date=partition_date,
    )


#: A run with its DAG's ``is_paused``, by ``run_pk`` (its lock: ``hop.run_lock``).
RUN = (
    select(dag_run, dag.c.is_paused)
    .outerjoin(dag, dag.c.dag_id == dag_run.c.dag_id)
    .where(dag_run.c.id == bindparam("run_pk"))
)


def claim_dag(conn: Connection, dag_id: str) -> bool:
    """Lock a DAG's row for this transaction, skipping it if another scheduler holds it.

    FOR NO KEY UPDATE, so inserting a run (a foreign key to the row) never waits on it.
    """
    got = conn.execute(
        select(dag.c.dag_id)
        .where(dag.c.dag_id == dag_id)
        .with_for_update(skip_locked=True, key_share=True)
    ).first()
    return got is not None


def get_run(conn: Connection, run_pk: int) -> RunRow:
    """The run as it is now; to write its moves, lock it instead (``hop.run_lock``)."""
    return run_row(prepared.execute(conn, RUN, {"run_pk": run_pk}).one())


@dataclass(frozen=True)
class RunTimes:
    """When a run was due, queued, started and ended, for Airflow's dagrun metrics and the
    run's span."""

    dag_id: str
    run_type: str
    data_interval_end: datetime
    start_date: datetime | None
    end_date: datetime | None
    run_id: str = ""
    queued_at: datetime | None = None
    logical_date: datetime | None = None
    partition_key: str | None = None
    #: Read when a run ends: its finished tasks' first start, and whether a person cleared
    #: any of its tasks (Airflow's ``clear_number`` above 0).
    first_task_start: datetime | None = None
    cleared: bool = False


def run_times(conn: Connection, run_pk: int, *, ended: bool = False) -> RunTimes:
    """The run's times; with ``ended``, its first task's start and whether it was cleared."""
    times = _run_times(conn, run_pk)
    return with_first_task(conn, run_pk, times) if ended else times


def with_first_task(conn: Connection, run_pk: int, times: RunTimes) -> RunTimes:
    """``times`` with the first start of the run's finished tasks and whether a person
    cleared any of them (what Airflow's first-task delays of an ended run need)."""
    ti = task_instance.c
    of_run = ti.run_pk == run_pk
    first_start = (
        select(func.min(ti.start_date))
        .where(of_run, ti.state.in_([state.value for state in FINISHED]))
        .scalar_subquery()
    )
    cleared = (
        select(task_event.c.id)
        .join(task_instance, ti.id == task_event.c.ti_id)
        .where(of_run, task_event.c.kind == "cleared")
        .exists()
    )
    first, was_cleared = conn.execute(select(first_start, cleared)).one()
    return replace(times, first_task_start=first, cleared=bool(was_cleared))


def _run_times(conn: Connection, run_pk: int) -> RunTimes:
    c = dag_run.c
    row = conn.execute(
        select(
            c.dag_id,
            c.run_type,
            c.data_interval_end,
            c.start_date,
            c.end_date,
            c.run_id,
            c.queued_at,
            c.logical_date,
            c.partition_key,
        ).where(c.id == run_pk)
    ).one()
    return RunTimes(*row)


@dataclass(frozen=True)
class TraceTimes:
    """What the spans of a try read besides the try: the run's start (which names its trace:
    a run cleared and started again is a new one), its type, and the task instance's."""

    run_start: datetime | None
    run_type: str
    map_index: int
    ti_queued_at: datetime | None
    try_start: datetime | None  # its first dispatch's: a resumption continues the try
    run_id: str = ""
    shown_try: int = 0  # the instance's try, as Airflow numbers it


def _trace_times_statement() -> Any:
    ti = task_instance.c
    try_start = (
        select(func.min(task_try.c.start_date))
        .where(task_try.c.ti_id == ti.id, try_numbers.ROW_TRY == try_numbers.SHOWN_TRY)
        .scalar_subquery()
    )
    return (
        select(
            dag_run.c.start_date,
            dag_run.c.run_type,
            ti.map_index,
            ti.queued_at,
            try_start,
            dag_run.c.run_id,
            try_numbers.SHOWN_TRY,
        )
        .select_from(dag_run.join(task_instance, ti.run_pk == dag_run.c.id))
        .where(dag_run.c.id == bindparam("run_pk"), ti.id == bindparam("ti_id"))
    )


#: Built once: every try's runner reads it when spans are sent.
_TRACE_TIMES = _trace_times_statement()


def trace_times(conn: Connection, run_pk: int, ti_id: int) -> TraceTimes | None:
    row = prepared.execute(conn, _TRACE_TIMES, {"run_pk": run_pk, "ti_id": ti_id}).first()
    return TraceTimes(*row) if row is not None else None


def find_run(conn: Connection, dag_id: str, run_id: str) -> RunRow:
    return run_row(run_by_key(conn, dag_id, run_id))


def run_by_key(conn: Connection, dag_id: str, run_id: str) -> Row[Any]:
    """``dag_run``'s row of the DAG's run ``run_id``; NotFoundError names the run if none."""
    row = conn.execute(
        select(dag_run).where(dag_run.c.dag_id == dag_id, dag_run.c.run_id == run_id)
    ).first()
    if row is None:
        raise NotFoundError(f"DAG {dag_id!r} has no run {run_id!r}")
    return row


def run_row(row: Any) -> RunRow:
    """A run from a row holding ``dag_run``'s columns (and the DAG's ``is_paused``)."""
    return RunRow(
        id=row.id,
        dag_id=row.dag_id,
        run_id=row.run_id,
        run_type=row.run_type,
        state=RunState(row.state),
        logical_date=row.logical_date,
        data_interval_start=row.data_interval_start,
        data_interval_end=row.data_interval_end,
        conf=shown(row.conf or {}),  # a row stored before strict JSON: its bad parts marked
        version_hash=row.version_hash,
        queued_at=row.queued_at,
        start_date=row.start_date,
        end_date=row.end_date,
        created_by=row.created_by,
        dag_paused=bool(getattr(row, "is_paused", False)),
        partition_key=getattr(row, "partition_key", None),
        partition_date=getattr(row, "partition_date", None),
    )


_TI = task_instance.c
#: Built once: this read is on the fast path of every hop, and a DAG's task instances are
#: many rows, so the statement is not rebuilt and rows are unpacked by position.
#: The columns of a ``TiRow``, in the order of its fields (``ti_row`` unpacks them).
TI_COLUMNS = (
    _TI.id,
    _TI.task_id,
    _TI.state,
    _TI.try_number,
    _TI.max_tries,
    _TI.retry_at,
    _TI.queue,
    _TI.priority_weight,
    _TI.pool,
    _TI.pool_slots,
    _TI.map_index,
)
_TASK_INSTANCES = select(*TI_COLUMNS).where(_TI.run_pk == bindparam("run_pk"))
_STATES = {state.value: state for state in TaskState}
#: Tries queued or running in the whole store: what ``parallelism`` caps.
IN_FLIGHT_COUNT = (
    select(func.count()).where(_TI.state.in_([s.value for s in IN_FLIGHT])).scalar_subquery()
)
_IN_FLIGHT = select(IN_FLIGHT_COUNT)
#: The fast path's read in one round trip: the run's task instances, with the tries in flight
#: in the whole store (for ``parallelism``) and the limit of each instance's pool beside them.
TASK_INSTANCES_AND_ROOM = (
    select(
        *_TASK_INSTANCES.selected_columns,
        IN_FLIGHT_COUNT.label("busy"),
        pool.c.name.label("pool_found"),
        pool.c.slots.label("pool_limit"),
    )
    .select_from(task_instance.outerjoin(pool, pool.c.name == _TI.pool))
    # Not named after a column: the statement also heads UPDATEs (transitions.finish_and_read)
    .where(_TI.run_pk == bindparam("room_of_run"))
)


@dataclass
class TasksAndRoom:
    """A run's task instances, the tries in flight in the store (what ``parallelism`` caps),
    and the slots of the pools those instances use (None: no limit; a pool that does not
    exist is left out)."""

    tis: list[TiRow]
    busy: int
    limits: dict[str, int | None]

    @classmethod
    def from_rows(cls, rows: Iterable[Any]) -> TasksAndRoom:
        """From rows of :data:`TASK_INSTANCES_AND_ROOM` (further columns may follow)."""
        read = cls([], 0, {})
        for row in rows:  # by position: this runs for every row of a run on every hop
            read.tis.append(ti_row(row[:11]))
            read.busy, pool_found, pool_limit = row[11:14]
            if pool_found is not None:
                read.limits[pool_found] = pool_limit
        return read


def task_instances_and_room(conn: Connection, run_pk: int) -> TasksAndRoom:
    return TasksAndRoom.from_rows(
        prepared.execute(conn, TASK_INSTANCES_AND_ROOM, {"room_of_run": run_pk})
    )


def ti_row(values: Any) -> TiRow:
    """From the columns of ``_TASK_INSTANCES``, in the order of ``TiRow``'s fields."""
    id_, task_id, state, *rest = values
    return TiRow(id_, task_id, _STATES[state], *rest)


def task_instances(conn: Connection, run_pk: int) -> list[TiRow]:
    return [ti_row(row) for row in prepared.execute(conn, _TASK_INSTANCES, {"run_pk": run_pk})]


def previous_run_states(conn: Connection, run: RunRow) -> dict[str, TaskState] | None:
    """Task states of the run just before this one (by logical date), for depends_on_past."""
    previous = conn.execute(
        select(dag_run.c.id)
        .where(and_(dag_run.c.dag_id == run.dag_id, dag_run.c.logical_date < run.logical_date))
        .order_by(dag_run.c.logical_date.desc())
        .limit(1)
    ).scalar()
    if previous is None:
        return None
    return {ti.task_id: ti.state for ti in task_instances(conn, previous)}


def previous_success(conn: Connection, run: RunRow) -> dict[str, datetime | None] | None:
    """The DAG's last successful run before this one (by logical date), with its dates:
    where the ``prev_*_success`` context values come from."""
    found = conn.execute(
        select(
            dag_run.c.start_date,
            dag_run.c.end_date,
            dag_run.c.data_interval_start,
            dag_run.c.data_interval_end,
        )
        .where(
            dag_run.c.dag_id == run.dag_id,
            dag_run.c.logical_date < run.logical_date,
            dag_run.c.state == RunState.SUCCESS.value,
        )
        .order_by(dag_run.c.logical_date.desc())
        .limit(1)
    ).first()
    return dict(found._mapping) if found is not None else None


def in_flight(conn: Connection) -> int:
    """Tries queued or running, in every run of every DAG: what ``parallelism`` caps."""
    return int(prepared.execute(conn, _IN_FLIGHT).scalar_one())


@dataclass(frozen=True)
class QueuedKey:
    """What names a queued try wherever it goes (an executor, a broker message): its
    instance, try, queue and run; the engine's ``QueuedTry`` adds its hints to these."""

    ti_id: int
    try_number: int
    queue: str
    run_pk: int
    dag_id: str
    run_id: str
    task_id: str


@dataclass(frozen=True)
class QueuedRow(QueuedKey):
    """A queued task instance, with the DAG version its run pinned."""

    map_index: int
    version_hash: str


def queued_task_instances(
    conn: Connection, *, run_pk: int | None = None, queued_before: datetime | None = None
) -> list[QueuedRow]:
    """Queued task instances (of one run, or queued before a time), highest priority first."""
    query = (
        select(
            _TI.id,
            _TI.try_number,
            _TI.queue,
            _TI.run_pk,
            _TI.dag_id,
            _TI.run_id,
            _TI.task_id,
            _TI.map_index,
            dag_run.c.version_hash,
        )
        .join(dag_run, dag_run.c.id == _TI.run_pk)
        .where(_TI.state == TaskState.QUEUED.value)
        .order_by(_TI.priority_weight.desc(), _TI.id)
    )
    if run_pk is not None:
        query = query.where(_TI.run_pk == run_pk)
    if queued_before is not None:
        query = query.where(_TI.queued_at < queued_before)
    return [QueuedRow(*row) for row in conn.execute(query)]


@dataclass(frozen=True)
class TryOwner:
    """Which run and task a task instance belongs to, and how many tries it may have."""

    run_pk: int
    task_id: str
    max_tries: int
    resumptions: int = 0  # its dispatches that continued a try (``store/try_numbers.py``)


def try_owner(conn: Connection, ti_id: int) -> TryOwner:
    row = conn.execute(
        select(_TI.run_pk, _TI.task_id, _TI.max_tries, _TI.resumptions).where(_TI.id == ti_id)
    ).one()
    return TryOwner(row.run_pk, row.task_id, row.max_tries, row.resumptions)
