"""``conveyor runs``: list runs and show one with its task instances."""

from __future__ import annotations

import click
from rich.table import Table
from sqlalchemy import select

from conveyor.cli.common import (
    console,
    open_store,
    seconds,
    styled,
    translate_errors,
    when,
)
from conveyor.exceptions import NotFoundError
from conveyor.states import RunState
from conveyor.store import runs
from conveyor.store.runs import RunRow
from conveyor.store.tables import dag_run, task_instance, task_try


def resolve_run(conn: object, dag_id: str, run_id: str) -> RunRow:
    """A run by id; ``latest`` names the newest run of the DAG."""
    if run_id == "latest":
        pk = conn.execute(  # type: ignore[attr-defined]
            select(dag_run.c.id)
            .where(dag_run.c.dag_id == dag_id)
            .order_by(dag_run.c.id.desc())
            .limit(1)
        ).scalar()
        if pk is None:
            raise NotFoundError(f"DAG {dag_id!r} has no runs yet")
        return runs.get_run(conn, pk)  # type: ignore[arg-type]
    return runs.find_run(conn, dag_id, run_id)  # type: ignore[arg-type]


@click.group("runs")
def runs_group() -> None:
    """Inspect DAG runs."""


@runs_group.command("list")
@click.option("--dag", "dag_id", help="Only this DAG.")
@click.option("--state", type=click.Choice([s.value for s in RunState]))
@click.option("--limit", default=20, show_default=True)
@translate_errors
def list_runs(dag_id: str | None, state: str | None, limit: int) -> None:
    """The newest runs first."""
    store = open_store()
    query = select(dag_run).order_by(dag_run.c.id.desc()).limit(limit)
    if dag_id:
        query = query.where(dag_run.c.dag_id == dag_id)
    if state:
        query = query.where(dag_run.c.state == state)
    with store.read() as conn:
        rows = conn.execute(query).all()
    table = Table("dag", "run id", "state", "type", "started", "ended", box=None)
    for row in rows:
        table.add_row(
            row.dag_id,
            row.run_id,
            styled(row.state),
            row.run_type,
            when(row.start_date),
            when(row.end_date),
        )
    console.print(table if rows else "no runs")


@runs_group.command()
@click.argument("dag_id")
@click.argument("run_id", default="latest")
@translate_errors
def show(dag_id: str, run_id: str) -> None:
    """A run's task instances; the errors of failed tasks at the end. RUN_ID may be 'latest'."""
    store = open_store()
    with store.read() as conn:
        run = resolve_run(conn, dag_id, run_id)
        tis = conn.execute(
            select(task_instance)
            .where(task_instance.c.run_pk == run.id)
            .order_by(task_instance.c.id, task_instance.c.map_index)
        ).all()
        tries = {
            (t.ti_id, t.try_number): t
            for t in conn.execute(
                select(task_try).where(task_try.c.ti_id.in_([ti.id for ti in tis]))
            )
        }
        note = conn.execute(select(dag_run.c.note).where(dag_run.c.id == run.id)).scalar()
    console.print(
        f"[bold]{run.dag_id}[/] run [bold]{run.run_id}[/]: {styled(run.state.value)}"
        + (f" ({note})" if note else "")
    )
    console.print(
        f"data interval {when(run.data_interval_start)} -> "
        f"{when(run.data_interval_end)}; conf {run.conf or {}}"
    )
    table = Table("task", "state", "try", "host", "duration", box=None)
    failures = []
    for ti in tis:
        last = tries.get((ti.id, ti.try_number))
        name = ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"
        table.add_row(
            name,
            styled(ti.state),
            f"{ti.try_number}/{ti.max_tries}",
            ti.hostname or "-",
            seconds(last.duration if last else None),
        )
        if last is not None and last.error and ti.state in ("failed", "up_for_retry"):
            failures.append((name, last))
    console.print(table)
    for task_id, last in failures:
        console.print(f"\n[bold red]{task_id}[/] try {last.try_number} ({last.exit_kind}):")
        console.print(last.error.rstrip(), markup=False)
        console.print(
            f"[dim]log: {last.log_path}  (conveyor tasks logs {dag_id} {run.run_id} {task_id})[/]"
        )
