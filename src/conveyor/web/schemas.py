"""The JSON shapes of the API (pydantic), shared with the pages through ``queries``.

A row the API, the UI and the CLI show is declared by the store's read row
(``conveyor.store.reads``), what is read, and by the model here, what is shown: which
fields, in which order, with which descriptions (the OpenAPI document). A run and a task
instance are declared once, by their rows: their models here only say how they show them
(``__row__``, ``row_shapes.FromRow``), as ``/api/v2``'s do. Nothing copies one into the other
field by field: :func:`from_row` fills a model from a row by name, and the caller names only
what the row does not hold as it is shown (a duration, a mask, liveness).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from conveyor.states import MarkStateName
from conveyor.store.reads.runs import RunListing
from conveyor.store.reads.task_lists import ListedInstance
from conveyor.store.reads.tasks import InstanceRow
from conveyor.web.bulk_schemas import InstanceChange, RunStateChange
from conveyor.web.row_shapes import FromRow, RowAnswer, fill
from conveyor.web.strict_json import StrictDict

M = TypeVar("M", bound=BaseModel)
#: An answer filled from a read row (``row_shapes.fill``), as every caller here names it.
from_row = fill


class Shape(BaseModel):
    """Every shape here: its validator and serializer are built at its first use, not at
    import (a command line that prints three shapes does not build all of them)."""

    model_config = ConfigDict(defer_build=True)


class RequestBody(BaseModel):
    """A request's body: built at import, since FastAPI wraps a body model in a TypeAdapter
    with the parameter's alias, and building a deferred model there warns that the alias
    has no effect (pydantic 2.14 on Python 3.11)."""


class RecentRun(Shape):
    run_id: str
    state: str
    logical_date: datetime


class DagSummary(Shape):
    dag_id: str
    dag_display_name: str = Field(description="the DAG's dag_display_name, or its id")
    description: str | None
    schedule: str = Field(description="the schedule in words")
    is_paused: bool
    is_active: bool
    next_run_after: datetime | None
    fileloc: str
    tags: list[str]
    owner: str | None = Field(description="owners of the DAG's tasks, comma-separated")
    recent_runs: list[RecentRun]
    last_run: RecentRun | None = Field(
        default=None,
        description="the run with the latest logical date (what the list sorts and counts "
        "by), which a backfill made later of earlier dates does not replace",
    )


class DagList(Shape):
    total: int = Field(description="how many DAGs match the filters (all pages)")
    dags: list[DagSummary]
    limit: int | None = Field(default=None, description="the page size asked for; null: all")
    offset: int = 0
    counts: dict[str, int] = Field(
        default_factory=dict,
        description="of the DAGs matching the search and tags: all, active, paused, and by "
        "the state of their last run by logical date (failed, success, running, queued)",
    )


class ParamInfo(Shape):
    name: str
    default: Any
    type: str | None = Field(description="JSON type a conf value must have; null: any")
    description: str | None = None
    param_schema: dict[str, Any] | None = Field(
        default=None, description="the JSON Schema of a Param(...) param"
    )
    required: bool = Field(default=False, description="no default: the conf must give it")


class TaskInfo(Shape):
    task_id: str
    task_display_name: str = Field(description="the task's task_display_name, or its id")
    operator: str
    upstream: list[str]
    downstream: list[str]
    queue: str
    retries: int
    trigger_rule: str
    priority_weight: int
    is_branch: bool
    doc: str | None = None
    owner: str | None = None
    upstream_labels: dict[str, str] = Field(
        default_factory=dict, description="edge labels (Label) by upstream task id"
    )
    is_setup: bool = False
    is_teardown: bool = False
    weight_rule: str = Field(
        "downstream", description="how priority_weight (its own, above) counts in the queue"
    )
    max_active_tis_per_dag: int | None = None
    max_active_tis_per_dagrun: int | None = None


class TaskGroupInfo(Shape):
    group_id: str = Field(description="full id: the ids of the groups around it, joined by '.'")
    label: str
    parent: str | None
    tooltip: str
    tasks: list[str] = Field(description="ids of the tasks directly in this group")
    groups: list[str] = Field(description="ids of the groups directly in this group")


class DagDetail(DagSummary):
    doc_md: str | None
    timezone: str | None
    start_date: str | None
    end_date: str | None
    catchup: bool
    max_active_runs: int
    max_active_tasks: int
    fail_fast: bool = Field(False, description="a failed task stops the run")
    version_hash: str
    params: list[ParamInfo]
    tasks: list[TaskInfo]
    task_groups: list[TaskGroupInfo] = Field(default_factory=list)


class DagPatch(RequestBody):
    model_config = ConfigDict(extra="forbid")
    is_paused: bool


class DagsPatched(Shape):
    """What ``PATCH /dags`` did: the DAGs the filter matched, and those whose state it
    changed (the others were in that state already)."""

    is_paused: bool
    matched: list[str] = Field(description="every DAG the filter matched, by id")
    changed: list[str] = Field(description="the DAGs paused or unpaused by this request")
    total_entries: int = Field(description="how many DAGs the filter matched")


class DagSource(Shape):
    dag_id: str
    fileloc: str
    source: str


class DagImportError(Shape):
    file: str
    line: int | None
    message: str
    traceback: str | None
    created_at: datetime


class ImportErrorList(Shape):
    total: int
    import_errors: list[DagImportError]


class Problem(Shape):
    """Every error answer: the reason, for people and logs."""

    detail: str


class InvalidRequest(Problem):
    """A 422: the reason names where the input is wrong; ``errors`` lists each problem."""

    errors: list[dict[str, Any]] = Field(default_factory=list)


class Run(Shape, RowAnswer):
    # A run: its read row, less its key, the last change of its row and the partition's
    # date (no docstring: it would describe the shape in the OpenAPI document).
    __row__ = FromRow(
        RunListing,
        hidden=("id", "updated_at", "partition_date"),
        defaults={"user_note": None, "version_hash": None},
    )


class RunDeadline(BaseModel):
    """One of a run's deadline alerts (the DAG's ``deadline=``) and what became of it."""

    alert_index: int = Field(description="the alert's place in the DAG's deadline list")
    name: str | None
    reference: str = Field(description="what it counts from (Airflow's reference name)")
    deadline_at: datetime
    state: str = Field(description="pending, met (the run succeeded by then) or missed")
    decided_at: datetime | None
    callback_state: str | None = Field(
        description="a missed deadline's callback: pending, running, done or failed"
    )
    callback_error: str | None = Field(description="what a failed callback raised")


class RunDetail(Run):
    task_states: dict[str, int] = Field(description="how many task instances are in each state")
    deadlines: list[RunDeadline] = Field(
        default_factory=list, description="the run's deadline alerts, in the DAG's order"
    )


class RunList(Shape):
    total: int
    limit: int
    offset: int
    runs: list[Run]


class TriggerRun(RequestBody):
    model_config = ConfigDict(extra="forbid")
    conf: StrictDict = Field(
        default_factory=dict,
        description="strict JSON (no NaN, Infinity or lone surrogates), at most "
        "max_conf_bytes (64 KiB by default)",
    )
    logical_date: datetime | None = Field(
        default=None, description="ISO 8601 with a time zone; default: now"
    )
    run_id: str | None = Field(default=None, min_length=1, max_length=250)


class TaskInstance(Shape, RowAnswer):
    # A task instance: its read row, with its duration and its task's display name.
    __row__ = FromRow(
        InstanceRow,
        shown=(
            "task_id",
            "state",
            "try_number",
            "max_tries",
            "queue",
            "hostname",
            "pid",
            "scheduled_at",
            "queued_at",
            "start_date",
            "end_date",
            "retry_at",
            "duration",
            "map_index",
            "user_note",
            "rendered_map_index",
            "task_display_name",
        ),
        defaults={"map_index": -1, "user_note": None, "rendered_map_index": None},
    )
    duration: float | None
    task_display_name: str | None = Field(
        None, description="the task's task_display_name, or its id"
    )


class TaskInstanceList(Shape):
    dag_id: str
    run_id: str
    task_instances: list[TaskInstance]


class ListedTaskInstance(TaskInstance):
    """A task instance in a list across DAGs and runs: which run, and that run's state."""

    __row__ = FromRow(ListedInstance, shown=("dag_id", "run_id", "run_state", "logical_date"))


class ListedTaskInstances(Shape):
    total: int = Field(description="how many match the filters (all pages)")
    limit: int
    offset: int
    task_instances: list[ListedTaskInstance]


class Event(Shape):
    at: datetime
    kind: str
    actor: str
    message: str


class Try(Shape):
    number: int
    state: str | None
    host: str | None
    pid: int | None
    queue: str
    start: datetime | None
    end: datetime | None
    duration: float | None
    exit_kind: str | None
    error: str | None
    has_log: bool
    events: list[Event]


class TaskInstanceDetail(TaskInstance):
    dag_id: str
    run_id: str
    run_state: str
    tries: list[Try]
    waiting_for: list[str]
    instances: list[TaskInstance] = Field(
        default_factory=list,
        description="a mapped task's instances, by map_index (asked for the task as a whole)",
    )
    mapped: bool = Field(False, description="the task is mapped (expanded into instances)")
    instance_states: dict[str, int] = Field(
        default_factory=dict,
        description="a mapped task as a whole: how many of its instances are in each state",
    )


class RenderedFields(Shape):
    try_number: int
    stored: bool = Field(
        description="false: the try kept none (it ended before rendering, was killed, or ran "
        "before Conveyor kept them)"
    )
    fields: dict[str, Any] = Field(description="template field -> value as the try rendered it")


class NoteRequest(RequestBody):
    model_config = ConfigDict(extra="forbid")
    note: str = Field(
        max_length=1000, pattern=r"^[^\x00]*$", description="the note; empty removes it"
    )


class Note(Shape):
    note: str | None


class LogChunk(Shape):
    try_number: int
    text: str
    offset: int = Field(description="where this chunk starts, in bytes")
    next_offset: int = Field(description="pass as offset to read on (grows while it runs)")
    size: int = Field(description="the log's size in bytes now")
    complete: bool = Field(description="the try has ended: the log will not grow")
    truncated: bool = Field(
        default=False,
        description="the asked-for tail was longer than the 1 MiB a read returns: this chunk "
        "is its last 1 MiB (offset says where it starts)",
    )


DRY_RUN = Field(
    default=False,
    description="only say what would change: the action is done and rolled back, so the "
    "answer lists exactly what confirming it changes; nothing is written, no audit entry",
)


class ClearRequest(RequestBody):
    model_config = ConfigDict(extra="forbid")
    upstream: bool = False
    downstream: bool = False
    only_failed: bool = False
    dry_run: bool = DRY_RUN


class RunClearRequest(RequestBody):
    model_config = ConfigDict(extra="forbid")
    only_failed: bool = False
    dry_run: bool = DRY_RUN


class MarkRequest(RequestBody):
    model_config = ConfigDict(extra="forbid")
    state: MarkStateName
    dry_run: bool = DRY_RUN


class ActionResult(Shape):
    """A clear or a mark of one task instance (or task) or one run, done or previewed. The
    last three fields are the bulk actions' answer (``BulkResult``) for that one run."""

    changed: list[str] = Field(description="task ids whose state changed")
    stopped: list[str] = Field(
        default_factory=list,
        description="of those, the task ids whose queued or running try this ended: a running "
        "try's process is stopped (SIGTERM, the operator's on_kill, SIGKILL after the grace)",
    )
    run_state: str
    dry_run: bool = Field(default=False, description="true: a preview; nothing was written")
    instances: list[InstanceChange] = Field(
        default_factory=list,
        description="each task instance whose state changed (or would), before and after",
    )
    stopped_instances: list[InstanceChange] = Field(
        default_factory=list, description="of those, the ones that were queued or running"
    )
    runs: list[RunStateChange] = Field(
        default_factory=list, description="the run, its state before and after"
    )


class DeletedRun(Shape):
    dag_id: str
    run_id: str
    deleted: dict[str, int] = Field(
        description="rows deleted with the run: runs, task_instances, tries, events, xcoms "
        "(its tries' log files are deleted once the answer is sent)"
    )


class XComValue(Shape):
    key: str
    value: Any
    created_at: datetime


class XComList(Shape):
    task_id: str
    xcom: list[XComValue]


class GridRun(Shape):
    run_id: str
    state: str
    run_type: str
    logical_date: datetime
    start_date: datetime | None
    end_date: datetime | None
    tasks: dict[str, str] = Field(description="task id -> state (empty with compact=true)")
    codes: str | None = Field(
        None,
        description="with compact=true: one character a task of task_order, its index in "
        "the grid's states as a letter (a=0, b=1, ...), '.' where the run has no such task",
    )
    mapped: dict[str, dict[str, int]] = Field(
        default_factory=dict,
        description="mapped task id -> {instance state: count}; its state in tasks aggregates",
    )
    deadline_missed: bool = Field(False, description="the run missed one of its deadlines")


class Grid(Shape):
    dag_id: str
    task_order: list[str]
    older: bool = Field(False, description="the DAG has runs dated before the oldest shown")
    newer: bool = Field(False, description="the DAG has runs dated after the newest shown")
    states: list[str] | None = Field(
        None, description="with compact=true: the states the runs' codes stand for, a, b, ..."
    )
    runs: list[GridRun] = Field(description="newest first")


class Worker(Shape):
    hostname: str
    queues: list[str]
    concurrency: int
    pid: int
    running: int
    started_at: datetime
    heartbeat_at: datetime
    stopped_at: datetime | None
    alive: bool


class SchedulerInfo(Shape):
    model_config = ConfigDict(title="Scheduler")
    id: str
    hostname: str
    pid: int
    started_at: datetime
    heartbeat_at: datetime
    stopped_at: datetime | None
    alive: bool


class TriggererInfo(Shape):
    model_config = ConfigDict(title="Triggerer")
    id: str
    hostname: str
    pid: int
    capacity: int = Field(description="triggers it runs at most at once")
    running: int = Field(description="triggers it ran at its last heartbeat")
    started_at: datetime
    heartbeat_at: datetime
    stopped_at: datetime | None
    alive: bool


class SchedulerProblemInfo(Shape):
    model_config = ConfigDict(title="SchedulerProblem")
    action: str = Field(description="the part of the loop that failed, e.g. advance_run")
    dag_id: str | None
    run_id: str | None
    error: str = Field(description="the exception, one line")
    traceback: str | None
    scheduler_id: str = Field(description="the scheduler that saw it last")
    first_seen: datetime
    last_seen: datetime
    occurrences: int


class SchedulerProblemList(Shape):
    problems: list[SchedulerProblemInfo] = Field(description="the most recent first")


class WorkerList(Shape):
    workers: list[Worker]


class SchedulerList(Shape):
    schedulers: list[SchedulerInfo]


class TriggererList(Shape):
    triggerers: list[TriggererInfo]


class PoolInfo(Shape):
    name: str
    slots: int | None = Field(description="null: no limit of its own")
    description: str | None
    used: int = Field(description="slots held by queued and running tries")
    queued: int
    running: int
    scheduled: int = Field(description="slots asked for by scheduled tries")
    free: int | None


class PoolList(Shape):
    pools: list[PoolInfo]


class ConnectionInfo(Shape):
    conn_id: str
    conn_type: str
    host: str | None
    port: int | None
    login: str | None
    password: str | None = Field(description="'***' unless revealed")
    schema_: str | None = Field(alias="schema")
    extra: dict[str, Any]
    description: str | None
    uri: str
    secret_fields: list[str] = Field(
        default_factory=list, description="fields masked whatever their name"
    )

    model_config = ConfigDict(populate_by_name=True)


class ConnectionList(Shape):
    connections: list[ConnectionInfo]


class VariableInfo(Shape):
    key: str
    value: str = Field(description="'***' for secret variables unless revealed")
    description: str | None
    secret: bool = Field(default=False, description="marked secret when it was set")


class VariableList(Shape):
    variables: list[VariableInfo]


class UserInfo(Shape):
    username: str
    role: str = Field(description="the built-in role: admin, op, viewer, or public (none)")
    roles: list[str] = Field(default_factory=list, description="the named roles held too")
    created_at: datetime
    last_login_at: datetime | None


class UserList(Shape):
    users: list[UserInfo]


class TokenInfo(Shape):
    id: int
    username: str
    name: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None = Field(description="null: never (tokens made before expiry)")
    expired: bool
    parent_id: int | None = Field(
        default=None,
        description="the token whose request made this one (null: made in a browser session "
        "or by the CLI); revoking it revokes this one",
    )


class TokenList(Shape):
    tokens: list[TokenInfo]


class BackfillInfo(Shape):
    """A backfill: the runs of a DAG's schedule over a past range, paced by the scheduler."""

    id: int
    dag_id: str
    from_date: datetime = Field(description="the first logical date")
    to_date: datetime = Field(description="the last logical date, included")
    dag_run_conf: dict[str, Any] = Field(description="the conf of the runs it made")
    is_paused: bool = Field(description="a paused backfill starts none of its queued runs")
    reprocess_behavior: str = Field(description="dates with a run: none, failed or completed")
    max_active_runs: int = Field(description="its runs that may run at once")
    created_at: datetime
    completed_at: datetime | None = Field(description="when it ended or was cancelled")
    updated_at: datetime
    triggering_user_name: str | None = Field(description="who made it")
    runs: dict[str, int] = Field(description="its runs, counted by state")


class BackfillList(Shape):
    backfills: list[BackfillInfo]
