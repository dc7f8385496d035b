"""``conveyor run``: run one DAG once in the foreground, for development.

No scheduler or server is needed: the DAG runs on a throwaway SQLite store with the local
executor (each try in its own process, as in production), with a live table of task states,
and the failing task's exception at the end. Exit status 1 if the run failed.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import click
from rich.live import Live
from rich.table import Table
from sqlalchemy import select

from conveyor.cli.common import (
    CliError,
    console,
    parse_conf,
    seconds,
    settings,
    styled,
    translate_errors,
)
from conveyor.config import Settings
from conveyor.executors.local import LocalExecutor, log_tail
from conveyor.loading.processor import DagFileProcessor
from conveyor.model.params import conf_errors
from conveyor.scheduler.loop import Scheduler
from conveyor.states import RUN_FINISHED, RunState
from conveyor.store import pools, runs, schema
from conveyor.store.engine import Store
from conveyor.store.tables import dag, import_error, task_instance, task_try


@click.command("run")
@click.argument("target")
@click.argument("dag_id", required=False)
@click.option("--conf", help="JSON object for the run's conf (overrides params).")
@translate_errors
def run_command(target: str, dag_id: str | None, conf: str | None) -> None:
    """Run a DAG once, right here: TARGET is a DAG file (add DAG_ID when the file defines
    several) or a DAG id from the DAG folder."""
    payload = parse_conf(conf)
    base = settings()
    path = Path(target)
    source = path.resolve() if path.is_file() else base.dags_path
    with tempfile.TemporaryDirectory(prefix="conveyor-run-") as tmp:
        config = base.model_copy(
            update={
                "database_url": f"sqlite:///{Path(tmp) / 'run.db'}",
                "scheduler_loop_seconds": 0.1,
            }
        )
        store = Store(config.db_url)
        schema.migrate(store)
        DagFileProcessor(store, source, timeout=config.parse_timeout_seconds, scan_every=1.0).sync()
        dag_id = _pick_dag(store, target, dag_id, is_file=path.is_file())
        with store.write() as conn:
            _, structure = runs.latest_version(conn, dag_id)
            errors = conf_errors(dag_id, structure.params, payload, structure.param_specs)
            if errors:  # the check every way of making a run applies
                raise CliError("; ".join(errors))
            pools.create_missing(  # a one-off run: the DAG's pools, without limits
                conn, {t.pool for t in structure.tasks.values()}, "made by conveyor run"
            )
            run_pk = runs.create_manual_run(conn, dag_id, conf=payload, created_by="conveyor run")
        assert run_pk is not None
        state = _run_live(config, store, run_pk)
        _report(store, run_pk)
    if state is not RunState.SUCCESS:
        raise SystemExit(1)


def _pick_dag(store: Store, target: str, wanted: str | None, *, is_file: bool) -> str:
    with store.read() as conn:
        errors = conn.execute(select(import_error)).all()
        ids = (
            conn.execute(
                select(dag.c.dag_id).where(dag.c.is_active.is_(True)).order_by(dag.c.dag_id)
            )
            .scalars()
            .all()
        )
    if is_file:
        if errors:
            e = errors[0]
            where = f"{e.fileloc}:{e.line}" if e.line else e.fileloc
            raise CliError(f"{where}: {e.message}")
        listed = ", ".join(ids) or "none"
        if wanted is not None:
            if wanted not in ids:
                raise CliError(f"{target} defines no DAG {wanted!r} (it defines {listed})")
            return wanted
        if len(ids) != 1:
            raise CliError(
                f"{target} defines {len(ids)} DAGs ({listed}); name one: "
                f"conveyor run {target} {ids[0] if ids else 'DAG_ID'}"
            )
        return ids[0]
    if target not in ids:
        hint = f"; files failing to load: {', '.join(e.fileloc for e in errors)}" if errors else ""
        raise CliError(f"no DAG {target!r} in {settings().dags_path}{hint}")
    return target


def _table(store: Store, run_pk: int) -> Table:
    with store.read() as conn:
        rows = conn.execute(
            select(
                task_instance.c.task_id,
                task_instance.c.state,
                task_instance.c.try_number,
                task_instance.c.max_tries,
                task_instance.c.start_date,
                task_instance.c.end_date,
            )
            .where(task_instance.c.run_pk == run_pk)
            .order_by(task_instance.c.id)
        ).all()
    table = Table("task", "state", "try", "duration", box=None)
    for r in rows:
        duration = (
            (r.end_date - r.start_date).total_seconds() if r.end_date and r.start_date else None
        )
        table.add_row(
            r.task_id, styled(r.state), f"{r.try_number}/{r.max_tries}", seconds(duration)
        )
    return table


def _run_live(config: Settings, store: Store, run_pk: int) -> RunState:
    scheduler = Scheduler(config, store, LocalExecutor(config), processor=None)
    state = RunState.QUEUED
    started = time.monotonic()
    with Live(
        _table(store, run_pk), console=console, refresh_per_second=8, transient=False
    ) as live:

        def finished() -> bool:
            nonlocal state
            with store.read() as conn:
                state = runs.get_run(conn, run_pk).state
            live.update(_table(store, run_pk))
            return state in RUN_FINISHED

        scheduler.run(until=finished)
    console.print()
    console.print(f"run {styled(state.value)} in {time.monotonic() - started:.2f}s")
    return state


def _report(store: Store, run_pk: int) -> None:
    with store.read() as conn:
        failed = conn.execute(
            select(
                task_instance.c.task_id,
                task_try.c.error,
                task_try.c.exit_kind,
                task_try.c.log_path,
                task_try.c.try_number,
            )
            .join(
                task_try,
                (task_try.c.ti_id == task_instance.c.id)
                & (task_try.c.try_number == task_instance.c.try_number),
            )
            .where(task_instance.c.run_pk == run_pk, task_instance.c.state == "failed")
        ).all()
    for row in failed:
        console.print(
            f"\n[bold red]{row.task_id} failed[/] on try {row.try_number} ({row.exit_kind}):"
        )
        console.print((row.error or "").rstrip(), markup=False)
        tail = ""
        if row.exit_kind == "exception":  # the traceback is shown above; show what led to it
            tail = log_tail(row.log_path or "", 40).split("[conveyor] failed:")[0]
            tail = "\n".join(tail.strip().splitlines()[-10:])
        if tail:
            console.print("[dim]last lines of its log:[/]")
            console.print(tail, markup=False)
        console.print(f"[dim]log: {row.log_path}[/]")
