"""The read model of the web: what the API serves and the pages show, read from the store.

Nothing here imports a DAG file: DAG structure comes from the serialized versions in the
store. Every function takes an open connection (``store.read()``), reads the rows of
:mod:`conveyor.store.reads` and returns them as the pydantic shapes of
:mod:`conveyor.web.schemas`, each filled from its row by ``from_row`` with only the fields the
row does not hold as shown (durations, masks, liveness); a missing DAG, run, task or try raises
``NotFoundError`` with the reason.
"""

from __future__ import annotations

import os
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conveyor.airflow_compat.extra_links import XCOM_KEY as LINKS_KEY
from conveyor.clock import utcnow
from conveyor.config import Settings
from conveyor.exceptions import NotFoundError
from conveyor.model.json_types import json_type
from conveyor.states import FINISHED, TaskState
from conveyor.store import backfills, deadlines, liveness, pools, problems, runs, xcom
from conveyor.store import users as user_rows
from conveyor.store.backfills import BackfillRow
from conveyor.store.engine import Connection
from conveyor.store.reads import cluster, task_lists
from conveyor.store.reads import dags as dag_reads
from conveyor.store.reads import runs as run_reads
from conveyor.store.reads import tasks as task_reads
from conveyor.store.reads.dags import DagRow
from conveyor.store.reads.runs import RunFilter, RunListing
from conveyor.store.reads.task_lists import TaskInstanceFilter
from conveyor.store.reads.tasks import InstanceRow, TryRow
from conveyor.store.runs import RunRow
from conveyor.web import dag_list, schemas
from conveyor.web.dag_list import DagQuery
from conveyor.web.schemas import M, from_row

if TYPE_CHECKING:
    from conveyor.connections.models import Connection as ConnectionModel
    from conveyor.connections.repository import VariableEntry
    from conveyor.serialized import SerializedDag

# The scheduler's explain, the engine's mapped-task state and a try's log are imported by the
# functions that use them: the command line's reads (conveyor dags list, runs list) load this
# module and would otherwise wait for all of them.

#: A process's row as the store's liveness rule reads it (a worker, scheduler or triggerer).
Beat = liveness.WorkerBeat | liveness.SchedulerBeat | liveness.TriggererBeat

RECENT_RUNS = 5


# -- DAGs ---------------------------------------------------------------------------------


def _utcnow() -> datetime:
    return utcnow()


def _owners(serialized: dict[str, Any]) -> str | None:
    return dag_list.owners(serialized)


def _recent_runs(conn: Connection, dag_ids: list[str]) -> dict[str, list[schemas.RecentRun]]:
    return {
        dag_id: [from_row(schemas.RecentRun, r) for r in found]
        for dag_id, found in dag_reads.recent_runs(conn, dag_ids, RECENT_RUNS).items()
    }


def _dag(
    model: type[M],
    row: DagRow,
    schedule: str | None,
    owner: str | None,
    recent: list[schemas.RecentRun],
    display_name: str | None = None,
    **detail: Any,
) -> M:
    """A DAG's summary (or detail), ``schedule`` in words, or else as its row has it."""
    return from_row(
        model,
        row,
        schedule=schedule or row.schedule,
        owner=owner,
        recent_runs=recent,
        dag_display_name=display_name or row.dag_id,
        **detail,
    )


def list_dags(
    conn: Connection,
    query: DagQuery | None = None,
    *,
    include_inactive: bool = False,
    tag: str | None = None,
) -> schemas.DagList:
    """The DAGs ``query`` asks for (default: every active one, by id), one page of them."""
    if query is None:
        query = DagQuery(include_inactive=include_inactive, tags=(tag,) if tag else ())
    found = dag_list.list_dags(conn, query)
    recent = _recent_runs(conn, [d.row.dag_id for d in found.dags])
    dags = [
        _dag(
            schemas.DagSummary,
            d.row,
            d.facts.schedule,
            d.facts.owner or None,
            recent.get(d.row.dag_id, []),
            d.facts.display_name,
            last_run=schemas.RecentRun(**asdict(d.last_run)) if d.last_run else None,
        )
        for d in found.dags
    ]
    return schemas.DagList(
        total=found.total,
        dags=dags,
        limit=query.limit,
        offset=query.offset,
        counts=found.counts,
    )


def param_infos(
    params: dict[str, Any], specs: dict[str, Any] | None = None
) -> list[schemas.ParamInfo]:
    """Each param with its default, the JSON type a conf value must have, and for a
    Param(...) its schema and description."""
    specs = specs or {}
    infos = []
    for name, default in params.items():
        spec = specs.get(name) or {}
        schema = spec.get("schema") or {}
        declared = schema.get("type")
        infos.append(
            schemas.ParamInfo(
                name=name,
                default=default,
                type=declared if isinstance(declared, str) else json_type(default),
                description=spec.get("description"),
                param_schema=schema or None,
                required=bool(spec.get("required")),
            )
        )
    return infos


# A version's tasks as the API shows them, made once: versions never change, and a
# 1,000-task DAG's take tens of milliseconds to make again on every page of it.
TASK_INFO_CACHE_SIZE = 256
_task_infos_cache: OrderedDict[str, tuple[schemas.TaskInfo, ...]] = OrderedDict()
_task_infos_lock = threading.Lock()  # the web app reads from several threads


def _task_infos(version_hash: str, data: SerializedDag) -> tuple[schemas.TaskInfo, ...]:
    """The tasks of version ``version_hash`` (``data``, its structure), in the DAG's order."""
    with _task_infos_lock:
        found = _task_infos_cache.get(version_hash)
        if found is not None:
            _task_infos_cache.move_to_end(version_hash)
            return found
    found = tuple(
        from_row(
            schemas.TaskInfo,
            t,
            operator=t.operator_name,
            trigger_rule=t.trigger_rule.value,
            doc=t.raw.get("doc"),
            owner=t.raw.get("owner") or dag_list.DEFAULT_OWNER,
            upstream_labels=t.raw.get("edge_labels", {}),
            task_display_name=t.display_name,
            priority_weight=int(t.raw.get("priority_weight", 1)),  # as given; the queue's below
            weight_rule=t.weight_rule,
            max_active_tis_per_dag=t.max_active_tis_per_dag,
            max_active_tis_per_dagrun=t.max_active_tis_per_dagrun,
        )
        for t in data.tasks.values()
    )
    with _task_infos_lock:
        _task_infos_cache[version_hash] = found
        while len(_task_infos_cache) > TASK_INFO_CACHE_SIZE:
            _task_infos_cache.popitem(last=False)
    return found


def get_dag(conn: Connection, dag_id: str) -> schemas.DagDetail:
    row = dag_reads.get_dag(conn, dag_id)
    data = runs.serialized_dag(conn, row.version_hash)
    raw = data.raw
    # A list of its own for each answer; the tasks in it are shared, and never changed.
    tasks = list(_task_infos(row.version_hash, data))
    recent = _recent_runs(conn, [dag_id]).get(dag_id, [])
    return _dag(
        schemas.DagDetail,
        row,
        raw.get("schedule_description"),
        _owners(raw),
        recent,
        data.display_name,
        doc_md=raw.get("doc_md"),
        fail_fast=data.fail_fast,
        timezone=raw.get("timezone"),
        start_date=raw.get("start_date"),
        end_date=raw.get("end_date"),
        catchup=data.catchup,
        max_active_runs=data.max_active_runs,
        max_active_tasks=data.max_active_tasks,
        params=param_infos(data.params, data.param_specs),
        tasks=tasks,
        task_groups=[schemas.TaskGroupInfo(**group) for group in data.task_groups],
    )


def get_source(conn: Connection, dag_id: str) -> schemas.DagSource:
    row = dag_reads.get_dag(conn, dag_id)
    found = dag_reads.version_source(conn, row.version_hash)
    if found is None:
        raise NotFoundError(f"the source of DAG {dag_id!r} is not in the store")
    return from_row(schemas.DagSource, found, dag_id=dag_id)


def list_import_errors(
    conn: Connection, dag_ids: frozenset[str] | None = None, hide_folder: Path | None = None
) -> schemas.ImportErrorList:
    """Files that fail to load; ``dag_ids`` given: only the files that hold one of them;
    ``hide_folder`` given: paths in it shown relative to it (file, message, traceback)."""
    rows = dag_reads.import_errors(conn)
    if dag_ids is not None:
        files = {
            r.fileloc
            for r in dag_reads.list_dag_rows(conn, include_inactive=True)
            if r.dag_id in dag_ids
        }
        rows = [r for r in rows if r.fileloc in files]
    errors = [from_row(schemas.DagImportError, r, file=r.fileloc) for r in rows]
    if hide_folder is not None:
        errors = [_within(error, hide_folder) for error in errors]
    return schemas.ImportErrorList(total=len(errors), import_errors=errors)


def _within(error: schemas.DagImportError, folder: Path) -> schemas.DagImportError:
    """The error with the folder's own path left out of every path in it."""
    prefix = str(folder.resolve()).rstrip(os.sep) + os.sep

    def shown(text: str | None) -> str | None:
        return None if text is None else text.replace(prefix, "")

    return error.model_copy(
        update={
            "file": shown(error.file),
            "message": shown(error.message),
            "traceback": shown(error.traceback),
        }
    )


# -- runs ---------------------------------------------------------------------------------


def _run(model: type[M], row: RunListing, **detail: Any) -> M:
    return from_row(model, row, conf=row.conf or {}, **detail)


def list_runs(
    conn: Connection,
    dag_id: str | None,
    *,
    state: str | None = None,
    limit: int = 25,
    offset: int = 0,
    where: RunFilter | None = None,
    order: str = "-id",
) -> schemas.RunList:
    """Runs, newest first (or in ``order``); ``dag_id`` None lists every DAG's runs."""
    if dag_id is not None:
        dag_reads.get_dag(conn, dag_id)
    total = run_reads.count_runs(conn, dag_id=dag_id, state=state, where=where)
    rows = run_reads.list_runs(
        conn, dag_id=dag_id, state=state, limit=limit, offset=offset, where=where, order=order
    )
    return schemas.RunList(
        total=total, limit=limit, offset=offset, runs=[_run(schemas.Run, r) for r in rows]
    )


def extra_links(conn: Connection, run_pk: int, task_id: str, map_index: int) -> dict[str, str]:
    """The extra links the task instance's try made (name -> URL; a link without a URL is
    left out), from the XCom ``airflow_compat/extra_links.py`` names."""
    kept = xcom.instance_xcom(conn, run_pk, task_id, map_index, LINKS_KEY)
    return {str(name): str(url) for name, url in sorted(dict(kept or {}).items()) if url}


def find_run(conn: Connection, dag_id: str, run_id: str) -> RunRow:
    return runs.find_run(conn, dag_id, run_id)


def get_run(conn: Connection, dag_id: str, run_id: str) -> schemas.RunDetail:
    row = run_reads.get_run(conn, dag_id, run_id)
    counts = run_reads.task_state_counts(conn, row.id)
    found = [
        schemas.RunDeadline(
            alert_index=d.alert_index,
            name=d.name,
            reference=d.reference,
            deadline_at=d.deadline_at,
            state=d.state,
            decided_at=d.decided_at,
            callback_state=d.callback_state,
            callback_error=d.callback_error,
        )
        for d in deadlines.of_run(conn, row.id)
    ]
    return _run(schemas.RunDetail, row, task_states=counts, deadlines=found)


def grid(
    conn: Connection,
    dag_id: str,
    limit: int,
    before: datetime | None = None,
    after: datetime | None = None,
    compact: bool = False,
    task_ids: list[str] | None = None,
) -> schemas.Grid:
    """``limit`` runs by logical date with their task instances' states: the latest, or
    those dated just before ``before`` (an older page), or just after ``after`` (newer).
    ``compact``: each run's states as one code a task (``codes``, see ``compact_states``)
    instead of a task id -> state object. ``task_ids``: the states of these tasks only
    (the others read as absent); ``[]``: the runs alone, as the Durations page first needs."""
    row = dag_reads.get_dag(conn, dag_id)
    order = list(runs.serialized_dag(conn, row.version_hash).tasks)
    # The latest logical dates, not the latest made: a backfill stands in date order.
    run_rows = run_reads.latest_by_date(conn, dag_id, limit, before=before, after=after)
    states: dict[int, dict[str, str]] = {r.id: {} for r in run_rows}
    mapped: dict[int, dict[str, list[str]]] = {r.id: {} for r in run_rows}
    # A row a run and state, not an instance: a 50-run grid of a 1,000-task DAG is 50,000
    # instances, and about a hundred groups.
    for group in task_reads.state_groups(conn, list(states), task_ids):
        states[group.run_pk].update(dict.fromkeys(group.task_ids, group.state))
        for task_id in group.mapped:  # an instance of a mapped task
            mapped[group.run_pk].setdefault(task_id, []).append(group.state)
    from conveyor.engine.planning import aggregate

    for run_pk, by_task in mapped.items():  # a mapped task's cell: its aggregate state
        for task_id, found in by_task.items():
            states[run_pk][task_id] = aggregate([TaskState(s) for s in found]).value
    seen = set(order)
    for tasks in states.values():  # tasks of older versions, no longer in the DAG
        for task_id in tasks:
            if task_id not in seen:
                seen.add(task_id)
                order.append(task_id)
    if run_rows:
        older = run_reads.has_run_dated(conn, dag_id, before=run_rows[-1].logical_date)
        newer = run_reads.has_run_dated(conn, dag_id, after=run_rows[0].logical_date)
    else:  # an empty page: whatever lies on the other side of where it was asked
        older = after is not None and run_reads.has_run_dated(
            conn, dag_id, before=after, inclusive=True
        )
        newer = before is not None and run_reads.has_run_dated(
            conn, dag_id, after=before, inclusive=True
        )
    legend: dict[str, str] = {}
    codes = {r.id: compact_states(order, states[r.id], legend) for r in run_rows} if compact else {}
    missed = deadlines.runs_that_missed(conn, [r.id for r in run_rows])
    return schemas.Grid(
        dag_id=dag_id,
        task_order=order,
        older=older,
        newer=newer,
        states=list(legend) if compact else None,
        runs=[
            from_row(
                schemas.GridRun,
                r,
                tasks={} if compact else states[r.id],
                codes=codes.get(r.id),
                mapped={t: dict(Counter(found)) for t, found in mapped[r.id].items()},
                deadline_missed=r.id in missed,
            )
            for r in run_rows
        ],
    )


GRID_CODES = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
GRID_ABSENT = "."


def compact_states(order: list[str], by_task: dict[str, str], legend: dict[str, str]) -> str:
    """One character a task of ``order``: the state's letter in ``legend`` (state -> letter,
    grown as new states appear: its keys in order are the answer's ``states``), or ``.``
    where the run has no instance of the task. A 1,000-task run is 1,000 bytes, not ~24 KB."""
    found = list(map(by_task.get, order))  # None: no instance in the run
    for state in dict.fromkeys(found):  # each state once, in the order it first appears
        if state is None or state in legend:
            continue
        if len(legend) >= len(GRID_CODES):
            raise ValueError(f"more than {len(GRID_CODES)} task states in one grid")
        legend[state] = GRID_CODES[len(legend)]
    # Looked up in C (map), not a Python loop: a 50-run grid is 50,000 characters.
    letters: dict[str | None, str] = {None: GRID_ABSENT}
    letters.update(legend)
    return "".join(map(letters.__getitem__, found))


# -- task instances -----------------------------------------------------------------------


def _duration(start: datetime | None, end: datetime | None) -> float | None:
    if start is None:
        return None
    return ((end or _utcnow()) - start).total_seconds()


def _ti(model: type[M], row: InstanceRow, names: dict[str, str] | None = None, **detail: Any) -> M:
    """``names``: the tasks' display names (task id -> ``task_display_name``)."""
    return from_row(
        model,
        row,
        duration=_duration(row.start_date, row.end_date),
        task_display_name=(names or {}).get(row.task_id, row.task_id),
        **detail,
    )


def _display_names(conn: Connection, run: RunRow) -> dict[str, str]:
    structure = runs.serialized_dag(conn, run.version_hash)
    return {tid: t.display_name for tid, t in structure.tasks.items()}


def _order(conn: Connection, run: RunRow) -> dict[str, int]:
    return {t: i for i, t in enumerate(runs.serialized_dag(conn, run.version_hash).tasks)}


def list_task_instances(conn: Connection, dag_id: str, run_id: str) -> schemas.TaskInstanceList:
    run = find_run(conn, dag_id, run_id)
    rows = task_reads.instances(conn, run.id)
    order = _order(conn, run)
    rows.sort(key=lambda r: (order.get(r.task_id, len(order)), r.task_id, r.map_index))
    names = _display_names(conn, run)
    return schemas.TaskInstanceList(
        dag_id=dag_id,
        run_id=run_id,
        task_instances=[_ti(schemas.TaskInstance, r, names) for r in rows],
    )


def list_all_task_instances(
    conn: Connection, where: TaskInstanceFilter, *, order: str, limit: int, offset: int
) -> schemas.ListedTaskInstances:
    """Task instances of every DAG and run that match ``where``, one page of them."""
    total = task_lists.count_instances(conn, where)
    rows = task_lists.list_instances(conn, where, limit=limit, offset=offset, order=order)
    return schemas.ListedTaskInstances(
        total=total,
        limit=limit,
        offset=offset,
        task_instances=[_ti(schemas.ListedTaskInstance, r) for r in rows],
    )


def _ti_row(
    conn: Connection, run: RunRow, task_id: str, map_index: int | None = None
) -> InstanceRow:
    """The task's instance (``map_index``: that instance of a mapped task; None: its first)."""
    row = task_reads.instance(conn, run.id, task_id, map_index)
    if row is None:
        if map_index is not None and task_reads.instance(conn, run.id, task_id) is not None:
            raise NotFoundError(
                f"task {task_id!r} of run {run.run_id!r} of DAG {run.dag_id!r} has no instance "
                f"with map_index {map_index}"
            )
        raise NotFoundError(f"run {run.run_id!r} of DAG {run.dag_id!r} has no task {task_id!r}")
    return row


def get_task_instance(
    conn: Connection, dag_id: str, run_id: str, task_id: str, map_index: int | None = None
) -> schemas.TaskInstanceDetail:
    """A task instance with its tries; a mapped task without ``map_index``: the task as a
    whole (its state aggregates its instances', which are listed; no tries of its own)."""
    run = find_run(conn, dag_id, run_id)
    row = _ti_row(conn, run, task_id, map_index)
    instances = _instances(conn, run, task_id)
    if map_index is None and instances:
        return _mapped_whole(run, task_id, instances)
    from conveyor.scheduler.explain import explain

    story = explain(conn, run, task_id, map_index)
    tries = [
        from_row(
            schemas.Try,
            t,
            number=t.try_number,
            host=t.hostname,
            queue=row.queue,
            start=t.start_date,
            end=t.end_date,
            has_log=bool(t.log_path),
        )
        for t in story.tries
    ]
    return _ti(
        schemas.TaskInstanceDetail,
        row,
        _display_names(conn, run),
        dag_id=dag_id,
        run_id=run_id,
        run_state=run.state.value,
        tries=tries,
        waiting_for=story.waiting_for,
        instances=instances if map_index is None else [],
        mapped=bool(instances),
    )


def _mapped_whole(
    run: RunRow, task_id: str, instances: list[schemas.TaskInstance]
) -> schemas.TaskInstanceDetail:
    """A mapped task as a whole: the aggregate of its instances, never one of them."""
    from conveyor.engine.planning import aggregate

    states = [TaskState(i.state) for i in instances]
    starts = [i.start_date for i in instances if i.start_date is not None]
    ends = [i.end_date for i in instances if i.end_date is not None]
    start = min(starts) if starts else None
    end = max(ends) if ends and len(ends) == len(instances) else None
    first = instances[0]
    # By name, as from a row: its fields are the row's (a type checker sees none of them).
    whole = dict(
        task_id=task_id,
        state=aggregate(states).value,
        try_number=0,
        max_tries=first.max_tries,
        queue=first.queue,
        hostname=None,
        pid=None,
        scheduled_at=None,
        queued_at=None,
        start_date=start,
        end_date=end,
        retry_at=None,
        duration=_duration(start, end) if start else None,
        map_index=-1,
        user_note=None,
        rendered_map_index=None,
        task_display_name=first.task_display_name,
        dag_id=run.dag_id,
        run_id=run.run_id,
        run_state=run.state.value,
        tries=[],
        waiting_for=[],
        instances=instances,
        mapped=True,
        instance_states=dict(Counter(i.state for i in instances)),
    )
    return schemas.TaskInstanceDetail.model_validate(whole)


def _instances(conn: Connection, run: RunRow, task_id: str) -> list[schemas.TaskInstance]:
    """Every instance of a mapped task, by map_index; empty for any other task."""
    rows = task_reads.mapped_instances(conn, run.id, task_id)
    names = _display_names(conn, run) if rows else {}
    return [_ti(schemas.TaskInstance, r, names) for r in rows]


@dataclass(frozen=True)
class TryAddress:
    """Which try a log or rendered fields belong to: try ``try_number`` of task ``task_id``
    in run ``run_id`` of ``dag_id`` (``map_index``: of one instance of a mapped task)."""

    dag_id: str
    run_id: str
    task_id: str
    try_number: int
    map_index: int | None = None


def _try_row(conn: Connection, at: TryAddress) -> TryRow:
    """The try ``at`` names."""
    run = find_run(conn, at.dag_id, at.run_id)
    ti = _ti_row(conn, run, at.task_id, at.map_index)
    found = task_reads.get_try(conn, ti.id, at.try_number)
    if found is None:
        raise NotFoundError(f"task {at.task_id!r} of run {at.run_id!r} has no try {at.try_number}")
    return found


#: The most bytes of a log one request reads and returns, whatever it asks for.
LOG_READ_CAP = 1 << 20
TAIL_BLOCK = 64 << 10


def read_log(
    conn: Connection,
    settings: Settings,
    at: TryAddress,
    *,
    offset: int = 0,
    limit: int = 65536,
    tail: int | None = None,
) -> schemas.LogChunk:
    """A chunk of a try's log: ``limit`` bytes from ``offset``, or its last ``tail`` lines;
    never more than :data:`LOG_READ_CAP` bytes (a cut tail says ``truncated``).

    The log is read from this machine, else from the remote log location (``remote_logs_url``)
    its worker copied it to."""
    found = _try_row(conn, at)
    complete = found.end_date is not None
    from conveyor.logs import open_try_log

    handle = open_try_log(settings, found.log_path)
    if handle is None:
        if complete or found.log_path is None:
            raise NotFoundError(
                f"the log of try {at.try_number} is neither on this machine ({found.log_path}) "
                "nor in a remote log location (remote_logs_url)"
            )
        return schemas.LogChunk(
            try_number=at.try_number, text="", offset=0, next_offset=0, size=0, complete=False
        )
    limit = min(limit, LOG_READ_CAP)
    truncated = False
    with handle:
        size = handle.seek(0, 2)
        if tail is not None:
            start, truncated = _tail_start(handle, size, tail, LOG_READ_CAP)
            handle.seek(start)
            data = handle.read(min(size - start, LOG_READ_CAP))
        else:
            start = min(offset, size)
            handle.seek(start)
            data = handle.read(limit)
    return schemas.LogChunk(
        try_number=at.try_number,
        text=data.decode("utf-8", errors="replace"),
        offset=start,
        next_offset=start + len(data),
        size=size,
        complete=complete,
        truncated=truncated,
    )


def open_log(conn: Connection, settings: Settings, at: TryAddress) -> Any:
    """A try's whole log, opened for reading (binary), from here or the remote location."""
    found = _try_row(conn, at)
    from conveyor.logs import open_try_log

    handle = open_try_log(settings, found.log_path) if found.log_path else None
    if handle is None:
        raise NotFoundError(f"try {at.try_number} of task {at.task_id!r} has no log here (yet)")
    return handle


def _tail_start(handle: Any, size: int, lines: int, cap: int) -> tuple[int, bool]:
    """Where the last ``lines`` lines begin, and whether that is cut at ``cap`` bytes.

    Reads backwards in blocks and counts newlines with bytes methods, so a log of one huge
    line costs at most ``cap`` bytes read, never a pass over the whole file.
    """
    if lines <= 0 or size == 0:
        return size, False
    floor = max(size - cap, 0)
    # A final newline ends the last line; it does not start another one.
    handle.seek(size - 1)
    position = size - 1 if handle.read(1) == b"\n" else size
    wanted = lines
    while position > floor:
        step = min(TAIL_BLOCK, position - floor)
        position -= step
        handle.seek(position)
        chunk = handle.read(step)
        found = chunk.count(b"\n")
        if found >= wanted:
            index = len(chunk)
            for _ in range(wanted):
                index = chunk.rfind(b"\n", 0, index)
            return position + index + 1, False
        wanted -= found
    return floor, floor > 0


def list_xcom(
    conn: Connection, dag_id: str, run_id: str, task_id: str, map_index: int | None = None
) -> schemas.XComList:
    """What the task pushed (``map_index``: only that instance of a mapped task)."""
    run = find_run(conn, dag_id, run_id)
    _ti_row(conn, run, task_id, map_index)
    rows = task_reads.xcom_values(conn, run.id, task_id, map_index)
    return schemas.XComList(
        task_id=task_id,
        xcom=[from_row(schemas.XComValue, r) for r in rows],
    )


def rendered_fields(conn: Connection, at: TryAddress) -> schemas.RenderedFields:
    """The template fields the try ``at`` rendered, as its worker kept them."""
    found = _try_row(conn, at)
    fields = task_reads.rendered_fields(conn, found.ti_id, at.try_number)
    return schemas.RenderedFields(
        try_number=at.try_number, stored=fields is not None, fields=fields or {}
    )


def finished(state: str) -> bool:
    return TaskState(state) in FINISHED


# -- cluster ------------------------------------------------------------------------------


def _alive(heartbeat_seconds: float) -> Callable[[Beat], bool]:
    """Whether a process is alive now, by the one liveness rule."""
    stale = liveness.stale_after(heartbeat_seconds)
    now = _utcnow()
    return lambda row: row.alive(now, stale)


def list_workers(conn: Connection, heartbeat_seconds: float) -> schemas.WorkerList:
    alive = _alive(heartbeat_seconds)
    return schemas.WorkerList(
        workers=[
            from_row(schemas.Worker, r, running=len(r.running), alive=alive(r))
            for r in cluster.workers(conn)
        ]
    )


def _beating(model: type[M], rows: Iterable[Beat], heartbeat_seconds: float) -> list[M]:
    """``rows`` as ``model``, each with whether its process is alive now."""
    alive = _alive(heartbeat_seconds)
    return [from_row(model, r, alive=alive(r)) for r in rows]


def list_schedulers(conn: Connection, heartbeat_seconds: float) -> schemas.SchedulerList:
    rows = cluster.schedulers(conn, limit=100)
    return schemas.SchedulerList(
        schedulers=_beating(schemas.SchedulerInfo, rows, heartbeat_seconds)
    )


def list_triggerers(conn: Connection, heartbeat_seconds: float) -> schemas.TriggererList:
    rows = cluster.triggerers(conn, limit=100)
    return schemas.TriggererList(
        triggerers=_beating(schemas.TriggererInfo, rows, heartbeat_seconds)
    )


def list_scheduler_problems(
    conn: Connection, dag_id: str | None = None, *, readable: frozenset[str] | None = None
) -> schemas.SchedulerProblemList:
    """Units of the scheduler loop that keep failing (of one DAG, if given); ``readable``
    given, only those of these DAGs (a problem of no DAG is the whole cluster's: left out)."""
    return schemas.SchedulerProblemList(
        problems=[
            from_row(schemas.SchedulerProblemInfo, p)
            for p in problems.list_problems(conn, dag_id)
            if readable is None or p.dag_id in readable
        ]
    )


# -- pools, connections, variables, users -------------------------------------------------


def pool_info(usage: pools.PoolUsage) -> schemas.PoolInfo:
    return from_row(schemas.PoolInfo, usage)


def list_pools(conn: Connection) -> schemas.PoolList:
    return schemas.PoolList(pools=[pool_info(p) for p in pools.list_pools(conn)])


def connection_info(found: ConnectionModel, reveal: bool) -> schemas.ConnectionInfo:
    """A connection with its password and secret extras masked unless ``reveal``."""
    shown = found if reveal else found.masked()
    return from_row(
        schemas.ConnectionInfo,
        shown,
        schema_=shown.schema,
        extra=shown.extra_dejson,
        uri=found.get_uri(reveal=reveal),
    )


def variable_info(entry: VariableEntry, reveal: bool) -> schemas.VariableInfo:
    """A variable, its value masked when it is marked or looks secret, unless ``reveal``."""
    return from_row(schemas.VariableInfo, entry, value=entry.value if reveal else entry.shown)


def list_variables(found: list[VariableEntry], reveal: bool) -> schemas.VariableList:
    return schemas.VariableList(variables=[variable_info(entry, reveal) for entry in found])


def list_users(conn: Connection) -> schemas.UserList:
    named = user_rows.named_roles_by_user(conn)
    return schemas.UserList(
        users=[
            from_row(schemas.UserInfo, r, roles=sorted(named.get(r.username, ())))
            for r in user_rows.list_users(conn)
        ]
    )


def token_info(row: user_rows.TokenRow) -> schemas.TokenInfo:
    return from_row(schemas.TokenInfo, row, expired=row.expired(_utcnow()))


def backfill_infos(conn: Connection, found: list[BackfillRow]) -> list[schemas.BackfillInfo]:
    """Backfills as the API shows them, with their runs counted by state."""
    counts = backfills.run_counts(conn, [b.id for b in found])
    return [from_row(schemas.BackfillInfo, b, runs=counts.get(b.id, {})) for b in found]


def list_backfills(conn: Connection, dag_id: str | None) -> schemas.BackfillList:
    """The backfills of ``dag_id`` (every DAG's: None), newest first."""
    found = list(reversed(backfills.list_backfills(conn, dag_id)))
    return schemas.BackfillList(backfills=backfill_infos(conn, found))
