"""Each fact Conveyor has, sent under Airflow's names, from the process Airflow sends it from.

Each is sent under its plain name with Airflow's tags (``ti.finish`` with ``dag_id``,
``task_id``, ``state``); plain StatsD drops the tags, DogStatsD and OpenTelemetry keep them.
A metric that had a legacy name (``ti.finish.<dag_id>.<task_id>.<state>``) is sent under it
too, made from the tags as Airflow 3.3 makes it (``legacy_names.py``). Timers are in
milliseconds, as Airflow's.

Every function returns at once when no sink is open (:func:`on`); the metrics one call sends
leave together (``emit.together``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import ParamSpec

from conveyor.lifecycle import FAILED_TRY
from conveyor.states import RUN_FINISHED, TaskState
from conveyor.stats.emit import gauge, incr, timing
from conveyor.stats.emit import on as on  # callers ask it before gathering a figure
from conveyor.stats.emit import together as together  # several facts in few datagrams
from conveyor.stats.legacy_names import stats_name

P = ParamSpec("P")


def _together(send: Callable[P, None]) -> Callable[P, None]:
    """Nothing when no sink is open; else the metrics ``send`` sends, in few datagrams."""

    @functools.wraps(send)
    def sending(*args: P.args, **kwargs: P.kwargs) -> None:
        if not on():
            return
        with together():
            send(*args, **kwargs)

    return sending


# -- a try, in the process that runs it (Airflow's task runner) ------------------------------


@_together
def ti_started(dag_id: str, task_id: str) -> None:
    incr("ti.start", {"dag_id": dag_id, "task_id": task_id})


#: The ends whose try Airflow's task runner gives an end date, so a duration.
_TIMED_ENDS = FAILED_TRY | {TaskState.SUCCESS}


@_together
def ti_finished(
    dag_id: str, task_id: str, state: str, operator: str, duration_seconds: float | None
) -> None:
    """A try's process ended it as ``state`` (success, failed, up_for_retry, skipped, or a
    wait: deferred, up_for_reschedule, awaiting_input): ``ti.finish``; for the three ends
    with an end date the task's duration; the success or failure counts of the try and its
    operator (``operator`` as Airflow names its class)."""
    tags = {"dag_id": dag_id, "task_id": task_id}
    incr("ti.finish", {**tags, "state": state})
    if duration_seconds is not None and state in _TIMED_ENDS:
        timing("task.duration", duration_seconds * 1000, tags)
    if state == "success":
        incr("operator_successes", {**tags, "operator_name": operator})
        incr("ti_successes", tags)
    elif state in FAILED_TRY:
        incr("operator_failures", {**tags, "operator_name": operator})
        incr("ti_failures", tags)


# -- a DAG run, in the process that moves it (the scheduler, or the worker of its last try) ---


@_together
def dag_run_started(dag_id: str, run_type: str, delay_seconds: float | None) -> None:
    """A run started; a scheduled one ``delay_seconds`` after its data interval ended."""
    if delay_seconds is None:
        return
    ms = max(delay_seconds, 0.0) * 1000
    timing("dagrun.schedule_delay", ms, {"dag_id": dag_id, "run_type": run_type})


@_together
def dag_run_ended(dag_id: str, run_type: str, state: str, duration_seconds: float) -> None:
    if state not in RUN_FINISHED:
        return
    ms = duration_seconds * 1000
    timing(f"dagrun.duration.{state}", ms, {"dag_id": dag_id, "run_type": run_type})


@_together
def first_task_delays(
    dag_id: str, run_type: str, since_due: float, since_queued: float | None
) -> None:
    """An ended run's first task start against its due time and its queueing, in seconds."""
    tags = {"dag_id": dag_id, "run_type": run_type}
    if since_due > 0:
        timing("dagrun.first_task_scheduling_delay", since_due * 1000, tags)
    if since_queued is not None and since_queued > 0:
        timing("dagrun.first_task_start_delay", since_queued * 1000, tags)


@_together
def dependency_check(dag_id: str, seconds: float) -> None:
    """The time planning one run whole took (Airflow's ``DagRun.update_state``)."""
    timing("dagrun.dependency-check", seconds * 1000, {"dag_id": dag_id})


# -- the scheduler ---------------------------------------------------------------------------


def job_started(job: str) -> None:
    """``SchedulerJob_start``, ``TriggererJob_start``: Airflow's job names."""
    incr(f"{job}_start")


def job_ended(job: str) -> None:
    incr(f"{job}_end")


@contextmanager
def heartbeat_failures(job: str) -> Iterator[None]:
    """``{job}_heartbeat_failure`` when the heartbeat in this block cannot be written."""
    try:
        yield
    except Exception:
        incr(f"{job}_heartbeat_failure")
        raise


def dagruns_running(dags: int) -> None:
    """The DAGs with a running run (Airflow's: whose latest run is running)."""
    gauge("scheduler.dagruns.running", dags)


def scheduler_heartbeat() -> None:
    incr("scheduler_heartbeat")


def scheduler_loop(seconds: float) -> None:
    timing("scheduler.scheduler_loop_duration", seconds * 1000)


@_together
def executor_slots(executor: str, open_slots: int, queued: int, running: int) -> None:
    """``executor`` as Airflow names its class: LocalExecutor, CeleryExecutor."""
    tags = {"executor_class_name": executor}
    gauge("executor.open_slots", open_slots, {"status": "open", **tags})
    gauge("executor.queued_tasks", queued, {"status": "queued", **tags})
    gauge("executor.running_tasks", running, {"status": "running", **tags})


@_together
def pool_slots(
    pool: str, open_slots: int | None, queued: int, running: int, scheduled: int, starving: int
) -> None:
    """One pool's slots; ``open_slots`` None for a pool without a limit (not sent)."""
    tags = {"pool_name": stats_name(pool)}
    figures = {
        "open_slots": open_slots,
        "queued_slots": queued,
        "running_slots": running,
        "deferred_slots": 0,  # a deferred try holds no slot in Conveyor
        "scheduled_slots": scheduled,
        "starving_tasks": starving,
    }
    for figure, value in figures.items():
        if value is not None:
            gauge(f"pool.{figure}", value, tags)


def tasks_starving(count: int) -> None:
    gauge("scheduler.tasks.starving", count)


def tasks_executable(count: int) -> None:
    """The tries one loop of the scheduler queued (Airflow's: its critical section's)."""
    gauge("scheduler.tasks.executable", count)


@_together
def scheduled_durations(dag_id: str, waits: list[tuple[str, str, float]]) -> None:
    """Airflow's ``task.scheduled_duration`` of first tries just queued: (task id, queue,
    seconds each spent scheduled)."""
    for task_id, queue, seconds in waits:
        tags = {"dag_id": dag_id, "task_id": task_id, "queue": queue}
        timing("task.scheduled_duration", max(seconds, 0.0) * 1000, tags)


class InstanceGauges:
    """Airflow's ``ti.scheduled``, ``ti.queued``, ``ti.running``, ``ti.deferred`` and
    ``ti.awaiting_input``: each (state, DAG, task, queue) counted, and one counted before that
    has none now set to 0, once, as Airflow's scheduler does."""

    def __init__(self) -> None:
        self._sent: set[tuple[str, str, str, str]] = set()

    def send(self, counts: Mapping[tuple[str, str, str, str], int]) -> None:
        if not on():
            return
        with together():
            for key in [*counts, *(self._sent - counts.keys())]:
                state, dag_id, task_id, queue = key
                tags = {"queue": queue, "dag_id": dag_id, "task_id": task_id}
                gauge(f"ti.{state}", counts.get(key, 0), tags)
        self._sent = set(counts)


@_together
def heartbeat_lost(dag_id: str, task_id: str) -> None:
    """A try declared lost because its heartbeat stopped: Airflow 3's name, and Airflow 2's
    ``zombies_killed``, which dashboards made on Airflow 2 count."""
    tags = {"dag_id": dag_id, "task_id": task_id}
    incr("task_instances_without_heartbeats_killed", tags)
    incr("zombies_killed", tags)


# -- the DAG file processor (in the scheduler's process) -------------------------------------


@_together
def dag_files_parsed(total_parse_seconds: float, dags: int, import_errors: int) -> None:
    """The folder's files parsed (those a scan found changed, or due again): how long that
    took, and the DAGs and import errors the folder has now."""
    gauge("dag_processing.total_parse_time", total_parse_seconds)
    gauge("dagbag_size", dags)
    gauge("dag_processing.import_errors", import_errors)


def file_queue_size(waiting: int) -> None:
    """The files waiting to be parsed, at each scan of the folder."""
    gauge("dag_processing.file_path_queue_size", waiting)


#: The one bundle Conveyor has, the DAG folder, by Airflow's name for it.
_BUNDLE = "dags-folder"


@_together
def dag_file_parsed(file_name: str, seconds: float) -> None:
    """One file's parse, by its name without the ``.py`` (Airflow's ``{file_name}``)."""
    tags = {"bundle_name": _BUNDLE, "file_name": stats_name(file_name)}
    timing("dag_processing.last_duration", seconds * 1000, tags)


@_together
def dag_file_ages(seconds_ago: Mapping[str, float]) -> None:
    """Seconds since each file was last parsed, by its path in the folder (Airflow's
    ``file_path``) and its name without the ``.py`` (``file_name``)."""
    for relative_path, age in seconds_ago.items():
        tags = {
            "file_path": stats_name(relative_path),
            "bundle_name": _BUNDLE,
            "file_name": stats_name(Path(relative_path).stem),
        }
        gauge("dag_processing.last_run.seconds_ago", age, tags)


@_together
def parse_timed_out(file_path: str) -> None:
    incr("dag_processing.processor_timeouts", {"file_path": file_path})
    incr("dag_file_processor_timeouts")


# -- DAG callbacks, in the process that calls them --------------------------------------------


def dag_callback_failed(dag_id: str) -> None:
    """A DAG's success or failure callback raised."""
    incr("dag.callback_exceptions", {"dag_id": dag_id})


# -- a run's making, in the process that makes it ---------------------------------------------


@_together
def instances_made(dag_id: str, run_type: str, by_type: Mapping[str, int]) -> None:
    """A new run's task instances, counted by operator class (Airflow's ``task_type``)."""
    for task_type, count in by_type.items():
        tags = {"dag_id": dag_id, "run_type": run_type, "task_type": task_type}
        incr("task_instance_created", tags, count)


# -- assets ---------------------------------------------------------------------------------


def asset_updates(count: int) -> None:
    """Asset events recorded (a task's outlets, or one posted through the API)."""
    incr("asset.updates", count=count)


def asset_runs_made(count: int) -> None:
    """Runs the scheduler made for assets' updates (Airflow's asset-triggered runs)."""
    incr("asset.triggered_dagruns", count=count)


# -- deadline alerts, from the process that makes or decides them -----------------------------


def deadlines_made(dag_id: str, count: int) -> None:
    """A run was made with ``count`` deadlines (one per alert with a time for it)."""
    incr("deadline_alerts.deadline_created", {"dag_id": dag_id}, count)


def deadlines_decided(dag_id: str, run_id: str, missed: bool, count: int = 1) -> None:
    tags = {"dag_id": dag_id, "dagrun_id": run_id}
    name = "deadline_missed" if missed else "deadline_not_missed"
    incr(f"deadline_alerts.{name}", tags, count)


# -- OpenLineage, from the thread that sends a process's events ------------------------------


@_together
def lineage_extracted(event_type: str, operator_name: str, seconds: float) -> None:
    """The inputs and outputs of an OpenLineage event gathered from a task's operator."""
    timing("ol.extract", seconds * 1000, {"event_type": event_type, "operator_name": operator_name})


def lineage_sent(event_type: str, transport_type: str, seconds: float, failed: bool) -> None:
    """One attempt to send an OpenLineage event (``event_type`` lower case: start,
    complete, ...), timed whether or not it failed, as Airflow's OpenLineage provider does."""
    tags = {"event_type": event_type, "transport_type": transport_type}
    timing("ol.emit.attempts", seconds * 1000, tags)
    if failed:
        incr("ol.emit.failed")


# -- the Kubernetes executor, in the scheduler's process --------------------------------------


@_together
def pod_call(call: str, seconds: float, status: str) -> None:
    """A call to the cluster's API (``pod_creation``, ``pod_deletion``): its time, and its
    outcome counted by HTTP status (200 whatever the API answered on success, as Airflow)."""
    timing(f"kubernetes_executor.{call}", seconds * 1000)
    incr(f"kubernetes_executor.{call}_status", {"status": status})


def pods_adopted(seconds: float) -> None:
    timing("kubernetes_executor.adopt_task_instances.duration", seconds * 1000)


# -- the triggerer ---------------------------------------------------------------------------


@_together
def triggerer_heartbeat(hostname: str, running: int, capacity_left: int) -> None:
    incr("triggerer_heartbeat")
    tags = {"hostname": hostname}
    gauge("triggers.running", running, tags)
    gauge("triggerer.capacity_left", capacity_left, tags)


@_together
def triggers_ended(succeeded: int, failed: int) -> None:
    """Triggers that fired their event, and those that failed before they could."""
    if succeeded:
        incr("triggers.succeeded", count=succeeded)
    if failed:
        incr("triggers.failed", count=failed)
