"""The import plan as `conveyor db import-airflow` prints it."""

from __future__ import annotations

from datetime import datetime

from rich.console import Console
from rich.table import Table

from conveyor.airflow_import.plan import DagPlan, ImportPlan


def _at(value: datetime | None) -> str:
    return "-" if value is None else value.strftime("%Y-%m-%d %H:%M")


def _first(plan: ImportPlan, dag: DagPlan) -> str:
    if dag.first_run is None:
        return "none (no further scheduled run)"
    interval = dag.first_run.data_interval
    text = f"{_at(interval.start)} .. {_at(interval.end)}"
    when = "at once" if dag.first_run_at == plan.now else f"at {_at(dag.first_run_at)}"
    if dag.paused:
        when = "once unpaused"
    elif dag.due_at_once > 1:
        when += f" (catchup: {dag.due_at_once} intervals due)"
    return f"{text}, {when}"


def print_plan(console: Console, plan: ImportPlan, *, dry_run: bool) -> None:
    verb = "would take" if dry_run else "takes"
    console.print(
        f"Airflow database at schema revision {plan.revision} "
        f"(made by Airflow {plan.release}'s migrations or a later release's)"
    )
    console.print(
        f"{verb}: {len(plan.connections)} connections, {len(plan.variables)} variables, "
        f"{len(plan.pools)} pools, {len(plan.roles)} roles, {len(plan.users)} users, "
        f"{len(plan.runs)} runs with {plan.task_instances} task instances"
    )
    table = Table("dag", "schedule", "paused", "runs (new)", "last scheduled", "first run")
    for dag in plan.dags:
        last = dag.last_scheduled
        table.add_row(
            dag.dag_id,
            dag.schedule,
            "yes" if dag.paused else "no",
            f"{dag.runs_found} ({dag.runs_new})",
            "-" if last is None else _at(last.start),
            _first(plan, dag),
        )
    console.print(table)
    unfinished = [d for d in plan.dags if d.unfinished]
    for dag in unfinished:
        console.print(
            f"{dag.dag_id}: {dag.unfinished} runs Airflow left queued or running are taken as "
            "they are; the scheduler handles their tries as after a restart (a try whose "
            "heartbeat stopped is failed, or retried if it has retries left)"
        )
    for item in plan.kept:
        console.print(f"kept (already in Conveyor): {item}")
    for problem in plan.problems:
        console.print(f"not taken: {problem}")
