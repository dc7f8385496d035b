"""``conveyor run``: run one DAG once in the foreground, for development.

No scheduler or server is needed: the DAG runs on a throwaway SQLite store with the local
executor (each try in its own process, as in production), with a live table of task states
(one line per state change without a terminal), and each failed try's error as it happens.
No schedule is followed: the run asked for is the only run made (besides those its own tasks
trigger, and a run of each DAG its sensors wait for, at the same logical date). The DAGs its
tasks trigger or wait for are found in the file's folder (``run_neighbours``). Exit status 1
if the run failed.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import click
from rich.live import Live
from rich.table import Table

from conveyor import interrupts
from conveyor.cli import quick_exit
from conveyor.cli.common import (
    CliError,
    console,
    parse_conf,
    seconds,
    settings,
    styled,
)
from conveyor.cli.run_neighbours import add_neighbours
from conveyor.cli.run_watch import RunWatcher
from conveyor.config import Settings
from conveyor.executors.local import LocalExecutor
from conveyor.loading.builder import processor_for
from conveyor.scheduler.loop import Scheduler
from conveyor.states import RUN_FINISHED, RunState
from conveyor.store import pools, runs, schema, trigger
from conveyor.store.engine import Connection, Store
from conveyor.store.reads import dags as dag_reads
from conveyor.store.reads import tasks as task_reads
from conveyor.store.runs import RunRow
from conveyor.triggerer.process import beside as triggerer_beside


@contextmanager
def throwaway_store(base: Settings, name: str) -> Iterator[tuple[Settings, Store]]:
    """``base`` with a migrated SQLite store of its own in a temporary folder (``name``
    names the folder and the file) and a quick scheduler loop: a one-off run's settings.
    The store is closed and the folder removed at the end."""
    with tempfile.TemporaryDirectory(prefix=f"conveyor-{name}-") as tmp:
        config = base.model_copy(
            update={
                "database_url": f"sqlite:///{Path(tmp) / f'{name}.db'}",
                "scheduler_loop_seconds": 0.1,
            }
        )
        store = Store(config.db_url)
        try:
            schema.migrate(store)
            yield config, store
        finally:
            store.dispose()


@click.command("run")
@click.argument("target")
@click.argument("dag_id", required=False)
@click.option("--conf", help="JSON object for the run's conf (overrides params).")
@click.option(
    "--no-retry-delay",
    is_flag=True,
    help="Start a failed task's next try at once instead of after its retry_delay.",
)
def run_command(target: str, dag_id: str | None, conf: str | None, no_retry_delay: bool) -> None:
    """Run a DAG once, right here: TARGET is a DAG file (add DAG_ID when the file defines
    several) or a DAG id from the DAG folder."""
    payload = parse_conf(conf)
    base = settings()
    interrupts.install()  # Ctrl-C stops between two steps; a second one at once
    path = Path(target)
    source = path.resolve() if path.is_file() else base.dags_path
    with throwaway_store(base, "run") as (config, store):
        # A throwaway store: the DAG it is told to run runs, paused or not. A FILE inside
        # the DAG folder is parsed as the folder's, its root importable as on Airflow.
        processor_for(config, store, target=source, throwaway=True).sync()
        _exit_if_interrupted()
        dag_id = _pick_dag(store, target, dag_id, is_file=path.is_file())
        awaited = add_neighbours(config, store, source, dag_id) if path.is_file() else {}
        with store.write() as conn:
            run = trigger.trigger_run(
                conn,
                dag_id,
                conf=payload,
                created_by="conveyor run",
                max_conf_bytes=config.max_conf_bytes,
            )
            _run_awaited(conn, run, awaited)
            pools.create_missing(  # a one-off run: the pools of its DAGs, without limits
                conn, _pools(conn), "made by conveyor run"
            )
        state = _run_live(config, store, run.id, no_retry_delay=no_retry_delay)
        _report(store, run.id)
    _exit_if_interrupted()
    quick_exit.mark_done()
    if state is not RunState.SUCCESS:
        raise SystemExit(1)


def _pools(conn: Connection) -> set[str]:
    found: set[str] = set()
    for dag_id in dag_reads.active_dag_ids(conn):
        _version, structure = runs.latest_version(conn, dag_id)
        found |= {t.pool for t in structure.tasks.values()}
    return found


def _run_awaited(conn: Connection, run: RunRow, awaited: dict[str, list[str]]) -> None:
    """A run of each DAG the run's sensors wait for, at the same logical date: on a
    schedule both would run for that date."""
    for other, waiting in sorted(awaited.items()):
        if other == run.dag_id:
            continue
        made = runs.create_manual_run(
            conn, other, logical_date=run.logical_date, created_by="conveyor run"
        )
        if made is not None:
            console.print(
                f"also running DAG {other} at {run.logical_date.isoformat()}: "
                f"{', '.join(waiting)} of {run.dag_id} waits for it",
                markup=False,
            )


def _exit_if_interrupted() -> None:
    if interrupts.requested():
        console.print("stopped by Ctrl-C or SIGTERM", style="yellow")
        interrupts.stop_done(interrupts.INTERRUPTED_EXIT_STATUS)
        raise SystemExit(interrupts.INTERRUPTED_EXIT_STATUS)


def _pick_dag(store: Store, target: str, wanted: str | None, *, is_file: bool) -> str:
    with store.read() as conn:
        errors = dag_reads.import_errors(conn)
        ids = dag_reads.active_dag_ids(conn)
    if is_file:  # only the file itself is parsed yet
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
        rows = task_reads.instances(conn, run_pk)
    table = Table("task", "state", "try", "duration", box=None)
    for r in rows:
        duration = (
            (r.end_date - r.start_date).total_seconds() if r.end_date and r.start_date else None
        )
        table.add_row(
            r.task_id, styled(r.state), f"{r.try_number}/{r.max_tries}", seconds(duration)
        )
    return table


class OneRunScheduler(Scheduler):
    """The scheduler of ``conveyor run``: it drives the run it was given and makes no runs
    of its own. A scheduled DAG would otherwise get its latest interval's run too, at the
    same time as the one asked for."""

    def create_scheduled_runs(self, now: datetime) -> int:
        return 0


class DagsTestScheduler(OneRunScheduler):
    """The scheduler of ``conveyor dags test``: as Airflow's ``dags test``, it lets the run
    go on past its ``dagrun_timeout`` (and raises no SLA misses)."""

    def check_run_timeouts(self, now: datetime) -> None:
        return None


def _run_live(
    config: Settings,
    store: Store,
    run_pk: int,
    *,
    no_retry_delay: bool,
    scheduler_class: type[OneRunScheduler] = OneRunScheduler,
) -> RunState:
    scheduler = scheduler_class(config, store, LocalExecutor(config), processor=None)
    terminal = console.is_terminal
    watcher = RunWatcher(
        store, run_pk, console, progress_lines=not terminal, no_retry_delay=no_retry_delay
    )
    state = RunState.QUEUED
    started = time.monotonic()
    live = Live(
        _table(store, run_pk),
        console=console,
        refresh_per_second=8,
        transient=False,
        auto_refresh=terminal,
    )

    def finished() -> bool:
        nonlocal state
        with store.read() as conn:
            state = runs.get_run(conn, run_pk).state
        watcher.look()
        if terminal:
            live.update(_table(store, run_pk))
        return state in RUN_FINISHED

    # A try that defers waits for its trigger: a triggerer beside the scheduler runs it.
    with triggerer_beside(config):
        if terminal:
            with live:
                scheduler.run(until=finished)
        else:
            scheduler.run(until=finished)
    # A try's callbacks run after its outcome (which may end the run) is recorded; the
    # executor has waited for them by now, so what they raised is told too.
    watcher.look()
    if not terminal:
        console.print()
        console.print(_table(store, run_pk))
    console.print()
    console.print(f"run {styled(state.value)} in {time.monotonic() - started:.2f}s")
    return state


def _report(store: Store, run_pk: int) -> None:
    """Where the failed tasks' logs are; their errors were printed when each try failed."""
    with store.read() as conn:
        failed = task_reads.failed_instances_last_tries(conn, run_pk)
    for row in failed:
        console.print(
            f"{row.task_id} failed on try {row.try_number} (error above); log: {row.log_path}",
            style="red",
            markup=False,
        )
