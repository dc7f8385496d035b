"""The import plan as `conveyor db import-airflow` prints it."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from conveyor.airflow_import.logs import CopiedLogs
from conveyor.airflow_import.plan import DagPlan, ImportPlan
from conveyor.model.schedules import DataInterval


def _at(value: datetime | None) -> str:
    return "-" if value is None else value.strftime("%Y-%m-%d %H:%M")


def _interval(interval: DataInterval | None) -> str:
    """A data interval; one with no length (Airflow 3's runs of a trigger timetable, of
    ``@once``, manual or asset-triggered) as the moment it is."""
    if interval is None:
        return "-"
    if interval.start == interval.end:
        return f"{_at(interval.start)} (no interval)"
    return f"{_at(interval.start)} .. {_at(interval.end)}"


def _first(plan: ImportPlan, dag: DagPlan) -> str:
    if dag.first_run is None:
        return (
            f"none scheduled: {dag.runs_on}" if dag.runs_on else "none (no further scheduled run)"
        )
    text = _interval(dag.first_run.data_interval)
    when = "at once" if dag.first_run_at == plan.now else f"at {_at(dag.first_run_at)}"
    if dag.paused:
        when = "once unpaused"
    elif dag.due_at_once > 1:
        when += f" (catchup: {dag.due_at_once} intervals due)"
    return f"{text}, {when}"


def _unfinished(dag: DagPlan) -> list[str]:
    """What Conveyor does with what Airflow left unfinished (``airflow_import.unfinished``)."""
    lines = []
    if dag.queued_runs:
        lines.append(
            f"{dag.queued_runs} runs Airflow left queued: Conveyor's scheduler starts them"
        )
    if dag.running_runs:
        lines.append(
            f"{dag.running_runs} runs Airflow left running: Conveyor goes on with them"
            f" ({dag.not_started} tries Airflow had not begun run on Conveyor,"
            f" {dag.between_tries} waiting for a retry or a poke get it at once)"
        )
    for unknown in dag.unknown:
        lines.append(
            f"{unknown}: left started by Airflow, its outcome unknown: taken as failed and "
            "not retried; once Airflow's worker is stopped, clear it to run it on Conveyor "
            "or mark it success"
        )
    return lines


def print_plan(console: Console, plan: ImportPlan, *, dry_run: bool) -> None:
    verb = "would take" if dry_run else "takes"
    console.print(
        f"Airflow database at schema revision {plan.revision} "
        f"(made by Airflow {plan.release}'s migrations or a later release's)"
    )
    console.print(
        f"{verb}: {len(plan.connections)} connections, {len(plan.variables)} variables, "
        f"{len(plan.pools)} pools, {len(plan.roles)} roles, {len(plan.users)} users, "
        f"{len(plan.runs)} runs with {plan.task_instances} task instances, "
        f"{len(plan.asset_events)} asset events"
    )
    table = Table("dag", "schedule", "paused", "runs (new)", "last scheduled", "first run")
    for dag in plan.dags:
        table.add_row(
            dag.dag_id,
            dag.schedule,
            "yes" if dag.paused else "no",
            f"{dag.runs_found} ({dag.runs_new})",
            _interval(dag.last_scheduled),
            _first(plan, dag),
        )
    console.print(table)
    for dag in plan.dags:
        for line in _unfinished(dag):
            console.print(f"{dag.dag_id}: {line}")
    for update in plan.asset_queue:
        console.print(
            f"{update.dag_id}: waits for an update of {update.uri} Airflow had queued for it "
            "(its next asset-triggered run consumes it)"
        )
    for item in plan.kept:
        console.print(f"kept (already in Conveyor): {item}")
    for problem in plan.problems:
        console.print(f"not taken: {problem}")


def print_logs(console: Console, copied: CopiedLogs, folder: Path) -> None:
    """What --logs copied, and what it could not."""
    console.print(
        f"logs: {copied.copied} tries' logs copied from {folder}; "
        f"{copied.not_found} tries had none there"
    )
    for template in copied.unrendered:
        console.print(f"  log path template not rendered, its tries' logs not copied: {template}")
