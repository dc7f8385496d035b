"""What an import of an Airflow database would do, worked out without changing anything.

The plan is what ``--dry-run`` prints and what ``apply`` carries out: the values it takes
(secrets already decrypted), what it leaves and why, and per DAG what Conveyor will run first
and when. Each DAG's schedule continues from the latest scheduled run of either system: the
scheduler's own rule (``scheduler.due``) is asked, so the plan says what the scheduler does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from conveyor.airflow_import.assets import QueuedUpdate, pending_updates
from conveyor.airflow_import.fernet import AirflowSecrets
from conveyor.airflow_import.roles import MappedRole, map_role, user_roles
from conveyor.airflow_import.unfinished import UnknownTry, at_switch
from conveyor.connections.models import Connection
from conveyor.model.partitioned_timetables import PartitionedAssetTimetable
from conveyor.model.schedules import (
    CronSchedule,
    DataInterval,
    DatasetSchedule,
    DeltaSchedule,
    NoSchedule,
    RunInfo,
)
from conveyor.model.task import DEFAULT_POOL
from conveyor.scheduler.due import due_runs
from conveyor.store import due_times
from conveyor.store.airflow_import.records import AirflowAssetEvent, AirflowContents, AirflowRun
from conveyor.store.airflow_import.writing import RUN_TYPES, Present, run_date
from conveyor.store.engine import Connection as StoreConnection
from conveyor.store.runs import serialized_dag

#: The most intervals a plan counts as due at once (catchup over a long gap).
MAX_COUNTED = 10_000
#: The password hash of a user Airflow knew without one (signed in through a directory):
#: no password opens it.
NO_PASSWORD = "!airflow-user-without-password"


@dataclass(frozen=True)
class NewVariable:
    key: str
    value: str
    description: str | None


@dataclass(frozen=True)
class NewUser:
    username: str
    roles: list[str]
    password_hash: str


@dataclass
class DagPlan:
    """One DAG: what was found, and what Conveyor runs first after the import."""

    dag_id: str
    in_conveyor: bool
    paused: bool  # after the import
    runs_found: int
    runs_new: int
    task_instances_new: int
    queued_runs: int = 0  # runs Airflow left queued: Conveyor starts them
    running_runs: int = 0  # runs Airflow left running: Conveyor goes on with them
    not_started: int = 0  # tries Airflow scheduled or queued, never begun: Conveyor runs them
    between_tries: int = 0  # up for retry or reschedule: Conveyor runs the next try at once
    unknown: list[UnknownTry] = field(default_factory=list)  # taken as failed, not rerun
    last_scheduled: DataInterval | None = None
    first_run: RunInfo | None = None
    #: Why no scheduled run will come, for a DAG that runs on something else than time.
    runs_on: str = ""
    first_run_at: datetime | None = None  # when the scheduler makes it
    due_at_once: int = 0  # intervals already due (catchup fills them)
    schedule: str = ""
    #: Airflow's last scheduled run has no interval, Conveyor's schedule has intervals: a cron
    #: string Airflow 3 ran as a trigger timetable (create_cron_data_intervals=False).
    ran_as_trigger: bool = False


@dataclass
class ImportPlan:
    revision: str
    release: str
    now: datetime
    connections: list[Connection] = field(default_factory=list)
    variables: list[NewVariable] = field(default_factory=list)
    pools: list[tuple[str, int | None, str | None]] = field(default_factory=list)
    roles: list[MappedRole] = field(default_factory=list)
    users: list[NewUser] = field(default_factory=list)
    pause: dict[str, bool] = field(default_factory=dict)
    runs: list[AirflowRun] = field(default_factory=list)
    dags: list[DagPlan] = field(default_factory=list)
    asset_events: list[AirflowAssetEvent] = field(default_factory=list)
    asset_queue: list[QueuedUpdate] = field(default_factory=list)  # updates DAGs wait for
    #: Each run's log path template and logical date, by (dag_id, run_id), for --logs: every
    #: run read of a DAG Conveyor has, the ones imported before too.
    log_templates: dict[tuple[str, str], tuple[str, datetime | None]] = field(default_factory=dict)
    kept: list[str] = field(default_factory=list)  # in Conveyor already, left as they are
    problems: list[str] = field(default_factory=list)  # what was not taken, and why

    @property
    def task_instances(self) -> int:
        return sum(len(r.task_instances) for r in self.runs)


def make_plan(
    conn: StoreConnection,
    contents: AirflowContents,
    here: Present,
    secrets: AirflowSecrets,
    now: datetime,
) -> ImportPlan:
    plan = ImportPlan(contents.revision, contents.release, now)
    if not secrets.has_key and any(
        c.is_encrypted or c.is_extra_encrypted for c in contents.connections
    ):
        plan.problems.append(
            "no Fernet key given (--fernet-key or AIRFLOW__CORE__FERNET_KEY): "
            "encrypted values cannot be read"
        )
    _plan_connections(plan, contents, here, secrets)
    _plan_variables(plan, contents, here, secrets)
    _plan_pools(plan, contents, here)
    _plan_roles_and_users(plan, contents, here)
    _plan_history(conn, plan, contents, here)
    plan.log_templates = {
        (r.dag_id, r.run_id): (r.log_template, r.logical_date)
        for r in contents.runs
        if r.log_template and r.dag_id in here.dags
    }
    plan.asset_events = contents.asset_events
    plan.asset_queue, problems = pending_updates(contents, set(here.dags))
    plan.problems.extend(problems)
    return plan


def _plan_connections(
    plan: ImportPlan, contents: AirflowContents, here: Present, secrets: AirflowSecrets
) -> None:
    for found in contents.connections:
        if found.conn_id in here.connections:
            plan.kept.append(f"connection {found.conn_id!r}")
            continue
        password = secrets.reveal(found.password, found.is_encrypted)
        extra_text = secrets.reveal(found.extra, found.is_extra_encrypted)
        lost = [
            name
            for name, value, clear in (
                ("password", found.password, password),
                ("extra", found.extra, extra_text),
            )
            if value is not None and clear is None
        ]
        if lost:
            plan.problems.append(
                f"connection {found.conn_id!r}: its {' and '.join(lost)} does not decrypt with "
                "the Fernet key given; not taken"
            )
            continue
        try:
            extra = json.loads(extra_text) if extra_text else {}
        except ValueError:
            extra = None
        if not isinstance(extra, dict):
            plan.problems.append(f"connection {found.conn_id!r}: its extra is not a JSON object")
            continue
        plan.connections.append(
            Connection(
                conn_id=found.conn_id,
                conn_type=found.conn_type,
                host=found.host,
                port=found.port,
                login=found.login,
                password=password,
                schema=found.schema,
                extra=extra,
                description=found.description,
            )
        )


def _plan_variables(
    plan: ImportPlan, contents: AirflowContents, here: Present, secrets: AirflowSecrets
) -> None:
    for found in contents.variables:
        if found.key in here.variables:
            plan.kept.append(f"variable {found.key!r}")
            continue
        value = secrets.reveal(found.value, found.is_encrypted)
        if value is None:
            plan.problems.append(
                f"variable {found.key!r}: its value does not decrypt with the Fernet key "
                "given; not taken"
            )
            continue
        plan.variables.append(NewVariable(found.key, value, found.description))


def _plan_pools(plan: ImportPlan, contents: AirflowContents, here: Present) -> None:
    for found in contents.pools:
        slots = None if found.slots < 0 else found.slots
        # Conveyor's default_pool starts without a limit; Airflow's size replaces that once.
        unset_default = found.name == DEFAULT_POOL and here.pools.get(DEFAULT_POOL) is None
        if found.name in here.pools and not (unset_default and slots is not None):
            plan.kept.append(f"pool {found.name!r}")
            continue
        plan.pools.append((found.name, slots, found.description))


def _plan_roles_and_users(plan: ImportPlan, contents: AirflowContents, here: Present) -> None:
    for found in contents.roles:
        mapped = map_role(found)
        if mapped is None:
            continue
        if mapped.not_expressible:
            listed = ", ".join(f"{a} on {r}" for a, r in mapped.not_expressible)
            plan.problems.append(
                f"role {found.name!r}: Conveyor's named roles grant reading and editing DAGs "
                f"only; not taken: {listed}"
            )
        if found.name in here.roles:
            plan.kept.append(f"role {found.name!r}")
        else:
            plan.roles.append(mapped)
    for user in contents.users:
        if user.username in here.users:
            plan.kept.append(f"user {user.username!r}")
        elif not user.active:
            plan.problems.append(f"user {user.username!r}: inactive in Airflow; not taken")
        else:
            plan.users.append(
                NewUser(user.username, user_roles(user.roles), user.password_hash or NO_PASSWORD)
            )


def _plan_history(
    conn: StoreConnection, plan: ImportPlan, contents: AirflowContents, here: Present
) -> None:
    runs_of: dict[str, list[AirflowRun]] = {}
    for found in contents.runs:
        runs_of.setdefault(found.dag_id, []).append(found)
    if contents.unreadable_conf:
        listed = ", ".join(f"{d}/{r}" for d, r in contents.unreadable_conf)
        plan.problems.append(
            f"runs whose conf is not plain JSON-like data (taken as {{}}): {listed}"
        )
    for found_dag in contents.dags:
        dag_id = found_dag.dag_id
        runs = runs_of.pop(dag_id, [])
        new = [r for r in runs if (r.dag_id, r.run_id) not in here.runs]
        ours = here.dags.get(dag_id)
        if ours is None:
            if found_dag.is_active:
                plan.problems.append(
                    f"DAG {dag_id!r}: not in Conveyor's store (parse the DAG folder first, "
                    f"e.g. `conveyor dags reserialize`); its {len(runs)} runs not taken"
                )
            continue
        first_import = len(new) == len(runs)  # none of its runs came over before
        paused = found_dag.is_paused if first_import else ours.is_paused
        if paused != ours.is_paused:
            plan.pause[dag_id] = paused
        dag_plan = DagPlan(
            dag_id=dag_id,
            in_conveyor=True,
            paused=paused,
            runs_found=len(runs),
            runs_new=len(new),
            task_instances_new=sum(len(r.task_instances) for r in new),
        )
        for found in new:
            switched = at_switch(found, plan.now)
            plan.runs.append(switched.run)
            dag_plan.queued_runs += found.state == "queued"
            dag_plan.running_runs += found.state == "running"
            dag_plan.not_started += switched.not_started
            dag_plan.between_tries += switched.between_tries
            dag_plan.unknown.extend(switched.unknown)
        _first_run(conn, dag_plan, ours.version_hash, new, plan.now)
        if dag_plan.ran_as_trigger:
            _refuse_trigger_runs(plan, dag_plan)
        plan.dags.append(dag_plan)
    for dag_id, runs in sorted(runs_of.items()):
        plan.problems.append(
            f"DAG {dag_id!r}: no row in Airflow's dag table; {len(runs)} runs not taken"
        )


def _refuse_trigger_runs(plan: ImportPlan, dag_plan: DagPlan) -> None:
    """Conveyor's first interval after a run at T of no length starts at T, the logical date
    of that run: the scheduler cannot make it (one scheduled run per logical date). The DAG
    is left paused until its file says which meaning it has."""
    last = dag_plan.last_scheduled
    assert last is not None
    dag_plan.paused = True
    plan.pause[dag_plan.dag_id] = True
    plan.problems.append(
        f"DAG {dag_plan.dag_id!r}: Airflow ran {dag_plan.schedule!r} as a trigger timetable "
        f"(its last run, at {last.start:%Y-%m-%d %H:%M}, has no data interval: Airflow 3's "
        "create_cron_data_intervals=False), Conveyor reads it as data intervals, whose next "
        "has that run's logical date; left paused: write the schedule as "
        f"CronTriggerTimetable({dag_plan.schedule!r}, timezone=...) to keep Airflow's "
        "meaning, parse the file and import again"
    )


def _first_run(
    conn: StoreConnection,
    dag_plan: DagPlan,
    version_hash: str,
    new: list[AirflowRun],
    now: datetime,
) -> None:
    """The scheduler's first run of the DAG after the import: the next interval after the
    latest scheduled one either system made."""
    structure = serialized_dag(conn, version_hash)
    dag_plan.schedule = structure.schedule.description
    if isinstance(structure.schedule, DatasetSchedule | PartitionedAssetTimetable):
        dag_plan.runs_on = "runs when its assets are updated"
    elif isinstance(structure.schedule, NoSchedule):
        dag_plan.runs_on = "runs when triggered"
    stored = due_times.last_scheduled_interval(conn, dag_plan.dag_id)
    intervals = [DataInterval(*stored)] if stored else []
    for found in new:
        if RUN_TYPES.get(found.run_type) == "scheduled":
            start = found.data_interval_start or run_date(found)
            end = found.data_interval_end or start
            if start is not None and end is not None:
                intervals.append(DataInterval(start, end))
    # The later end of one start: a zero-length Airflow 3 run and the interval after it.
    last = max(intervals, key=lambda i: (i.start, i.end)) if intervals else None
    dag_plan.last_scheduled = last
    dag_plan.ran_as_trigger = (
        last is not None
        and last.start == last.end
        and isinstance(structure.schedule, CronSchedule | DeltaSchedule)
    )
    due, next_after = due_runs(structure, last, now, MAX_COUNTED)
    dag_plan.due_at_once = len(due)
    if due:
        dag_plan.first_run, dag_plan.first_run_at = due[0], now
    elif next_after is not None:
        upcoming = structure.schedule.next_run(
            last=last,
            start_date=structure.start_date,
            end_date=structure.end_date,
            catchup=structure.catchup,
            now=next_after,
        )
        dag_plan.first_run, dag_plan.first_run_at = upcoming, next_after
