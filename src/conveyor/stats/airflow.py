"""Each fact Conveyor has, sent under Airflow's names, from the process Airflow sends it from.

Airflow sends most facts twice: under a legacy name that carries the DAG, task or pool in
the name itself (``ti.finish.<dag_id>.<task_id>.<state>``), and under a plain name whose
tags carry them (``ti.finish`` with ``dag_id``, ``task_id``, ``state``); plain StatsD drops
the tags, DogStatsD and OpenTelemetry keep them. Both are sent here, as Airflow 3 does with
``legacy_names_on`` (its default). Timers are in milliseconds, as Airflow's.

Every function returns at once when no sink is open (:func:`on`); the metrics one call sends
leave together (``emit.together``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec

from conveyor.stats.emit import gauge, incr, timing
from conveyor.stats.emit import on as on  # callers ask it before gathering a figure
from conveyor.stats.emit import together as together  # several facts in few datagrams

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
    tags = {"dag_id": dag_id, "task_id": task_id}
    incr(f"ti.start.{dag_id}.{task_id}", tags)
    incr("ti.start", tags)


@_together
def ti_finished(
    dag_id: str, task_id: str, state: str, operator: str, duration_seconds: float | None
) -> None:
    """A try ended as ``state`` (success, failed, up_for_retry, skipped, ...): ``ti.finish``,
    the task's duration, and the success or failure counts of the try and its operator."""
    tags = {"dag_id": dag_id, "task_id": task_id}
    incr(f"ti.finish.{dag_id}.{task_id}.{state}", tags)
    incr("ti.finish", {**tags, "state": state})
    if duration_seconds is not None:
        ms = duration_seconds * 1000
        timing(f"dag.{dag_id}.{task_id}.duration", ms, tags)
        timing("task.duration", ms, tags)
    if state == "success":
        incr(f"operator_successes_{operator}", tags)
        incr("operator_successes", {**tags, "operator": operator})
        incr("ti_successes", tags)
    elif state in ("failed", "up_for_retry"):
        incr(f"operator_failures_{operator}", tags)
        incr("operator_failures", {**tags, "operator": operator})
        incr("ti_failures", tags)


# -- a DAG run, in the process that moves it (the scheduler, or the worker of its last try) ---


@_together
def dag_run_started(dag_id: str, run_type: str, delay_seconds: float | None) -> None:
    """A run started; a scheduled one ``delay_seconds`` after its data interval ended."""
    if delay_seconds is None:
        return
    ms = max(delay_seconds, 0.0) * 1000
    tags = {"dag_id": dag_id, "run_type": run_type}
    timing(f"dagrun.schedule_delay.{dag_id}", ms, tags)
    timing("dagrun.schedule_delay", ms, tags)


@_together
def dag_run_ended(dag_id: str, run_type: str, state: str, duration_seconds: float) -> None:
    if state not in ("success", "failed"):
        return
    ms = duration_seconds * 1000
    tags = {"dag_id": dag_id, "run_type": run_type}
    timing(f"dagrun.duration.{state}.{dag_id}", ms, tags)
    timing(f"dagrun.duration.{state}", ms, tags)


@_together
def dependency_check(dag_id: str, seconds: float) -> None:
    """The time planning one run whole took (Airflow's ``DagRun.update_state``)."""
    tags = {"dag_id": dag_id}
    timing(f"dagrun.dependency-check.{dag_id}", seconds * 1000, tags)
    timing("dagrun.dependency-check", seconds * 1000, tags)


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
    gauge("executor.open_slots", open_slots, {"status": "open", "name": executor})
    gauge("executor.queued_tasks", queued, {"status": "queued", "name": executor})
    gauge("executor.running_tasks", running, {"status": "running", "name": executor})


@_together
def pool_slots(
    pool: str, open_slots: int | None, queued: int, running: int, scheduled: int, starving: int
) -> None:
    """One pool's slots; ``open_slots`` None for a pool without a limit (not sent)."""
    tags = {"pool_name": pool}
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
            gauge(f"pool.{figure}.{pool}", value, tags)
            gauge(f"pool.{figure}", value, tags)


def tasks_starving(count: int) -> None:
    gauge("scheduler.tasks.starving", count)


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


@_together
def dag_file_parsed(file_name: str, seconds: float) -> None:
    """One file's parse, by its name without the ``.py`` (Airflow's ``{dag_file}``)."""
    timing(f"dag_processing.last_duration.{file_name}", seconds * 1000)
    timing("dag_processing.last_duration", seconds * 1000, {"file_name": file_name})


@_together
def parse_timed_out(file_path: str) -> None:
    incr("dag_processing.processor_timeouts", {"file_path": file_path})
    incr("dag_file_processor_timeouts")


# -- the triggerer ---------------------------------------------------------------------------


@_together
def triggerer_heartbeat(hostname: str, running: int, capacity_left: int) -> None:
    incr("triggerer_heartbeat")
    tags = {"hostname": hostname}
    gauge(f"triggers.running.{hostname}", running, tags)
    gauge("triggers.running", running, tags)
    gauge(f"triggerer.capacity_left.{hostname}", capacity_left, tags)
    gauge("triggerer.capacity_left", capacity_left, tags)


@_together
def triggers_ended(succeeded: int, failed: int) -> None:
    """Triggers that fired their event, and those that failed before they could."""
    if succeeded:
        incr("triggers.succeeded", count=succeeded)
    if failed:
        incr("triggers.failed", count=failed)
