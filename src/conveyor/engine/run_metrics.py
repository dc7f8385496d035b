"""Airflow's dagrun metrics from the run moves this process commits.

Airflow's scheduler sends them as it moves a run; in Conveyor the process that moves a run
is the scheduler (a run started, timed out, planned whole) or the worker whose try's record
ended it, so each sends them for the moves it commits: ``dagrun.schedule_delay`` when a
scheduled run starts (after the end of its data interval, when Airflow expects it), and
``dagrun.duration.success`` / ``.failed`` when one ends. The run's ``dag_run`` span
(``stats/spans.py``) is made by the same process, at the same end.
"""

from __future__ import annotations

from conveyor.config import Settings
from conveyor.states import RUN_FINISHED, RunState
from conveyor.stats import airflow, emit, spans
from conveyor.store import transitions
from conveyor.store.runs import RunTimes


def start(settings: Settings) -> None:
    """At a process's start: open the metric sinks and the span exporter the settings ask
    for and, with one open, send the metrics and spans of the run moves committed from now
    on."""
    emit.configure(settings)
    spans.configure(settings)
    transitions.on_run_times(_run_moved if emit.on() or spans.on() else None)


def run_span(times: RunTimes) -> spans.RunSpan:
    return spans.RunSpan(
        times.dag_id,
        times.run_id,
        times.run_type,
        times.start_date,
        times.queued_at,
        times.end_date,
        times.logical_date,
        times.partition_key,
    )


def _run_moved(to: RunState, times: RunTimes) -> None:
    if times.start_date is None:
        return
    if to is RunState.RUNNING:
        delay = None
        if times.run_type == "scheduled":
            delay = (times.start_date - times.data_interval_end).total_seconds()
        airflow.dag_run_started(times.dag_id, times.run_type, delay)
    elif to in RUN_FINISHED and times.end_date is not None:
        seconds = (times.end_date - times.start_date).total_seconds()
        airflow.dag_run_ended(times.dag_id, times.run_type, to.value, seconds)
        _first_task_delays(times)
        spans.run_ended(run_span(times), to.value)


def _first_task_delays(times: RunTimes) -> None:
    """Airflow's ``dagrun.first_task_scheduling_delay`` (from the run's due time to the first
    start of its finished tasks) and ``dagrun.first_task_start_delay`` (from its queueing),
    sent as Airflow sends them: for a scheduled run none of whose tasks was cleared, each
    only when above 0."""
    first = times.first_task_start
    if times.run_type != "scheduled" or times.cleared or first is None:
        return
    due = (first - times.data_interval_end).total_seconds()
    queued = None if times.queued_at is None else (first - times.queued_at).total_seconds()
    airflow.first_task_delays(times.dag_id, times.run_type, due, queued)
