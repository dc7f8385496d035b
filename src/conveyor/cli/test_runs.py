"""``conveyor dags test`` and ``conveyor tasks test``: Airflow's try-it-once commands.

Both run in the foreground on a throwaway SQLite store, as ``conveyor run`` does, so the
configured store is never touched and no state is recorded (Airflow's semantics).
``tasks test`` runs one task alone: every other task of the run is marked success first,
so the task runs whatever its upstream's state, and nothing after it runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import click

from conveyor import lifecycle
from conveyor.cli.common import CliError, console, parse_conf, settings, styled
from conveyor.cli.run import DagsTestScheduler, _pick_dag, _report, _run_live, throwaway_store
from conveyor.clock import utcnow
from conveyor.config import Settings
from conveyor.engine import manual
from conveyor.loading.builder import processor_for
from conveyor.states import RunState, TaskState
from conveyor.store import pools, runs, trigger
from conveyor.store.engine import Store
from conveyor.store.reads import dag_files
from conveyor.store.reads import dags as dag_reads
from conveyor.store.runs import RunRow

_DATE = click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"])
_ACTOR = lifecycle.Actor("conveyor tasks test")


@contextmanager
def _throwaway(source: Path, dag_id: str) -> Iterator[tuple[Settings, Store]]:
    """A migrated SQLite store in a temporary folder, with the DAGs of ``source``: of a
    DAG folder, only the file the configured store says defines ``dag_id`` when it knows
    one that still does (a folder of 200 files took 30 s and more to parse whole)."""
    configured = settings()
    only = stored_file(configured, dag_id) if source.is_dir() else None
    with throwaway_store(configured, "test") as (config, store):
        if only is not None:
            _parse(config, store, source, only)
        if only is None or not _defines(store, dag_id):  # not known, or moved since
            _parse(config, store, source, None)
        yield config, store


def _parse(config: Settings, store: Store, source: Path, only: Path | None) -> None:
    # A throwaway store: the DAG asked for runs, paused or not.
    processor_for(config, store, target=source, only=only, throwaway=True).sync()


def _defines(store: Store, dag_id: str) -> bool:
    with store.read() as conn:
        return dag_id in dag_reads.active_dag_ids(conn)


def stored_file(config: Settings, dag_id: str) -> Path | None:
    """The file of the DAG folder that the configured store says defines ``dag_id`` (the
    scheduler parsed it there); None when the store does not know it, does not exist yet
    (it is not made here) or cannot be read: the whole folder is parsed then."""
    fileloc = dag_files.defining_file(config.db_url, dag_id)
    if fileloc is None:
        return None
    path = Path(fileloc).resolve()
    folder = config.dags_path.resolve()
    return path if path.is_file() and folder in path.parents else None


def start_test_run(
    store: Store,
    dag_id: str,
    when: datetime | None,
    conf: str | None,
    created_by: str = "conveyor test",
) -> RunRow:
    """The run ``dags test`` and ``tasks test`` drive: at ``when`` (now by default), named
    after the time of the call as Airflow's, its pools made."""
    with store.write() as conn:
        run = trigger.trigger_run(
            conn,
            dag_id,
            conf=parse_conf(conf),
            created_by=created_by,
            logical_date=when.replace(tzinfo=UTC) if when else None,
            # As Airflow's: named after the time of the call, whatever the logical date.
            run_id=f"manual__{utcnow().isoformat()}",
        )
        structure = runs.serialized_dag(conn, run.version_hash)
        pools.create_missing(conn, {t.pool for t in structure.tasks.values()}, created_by)
    return run


def _source(target: str) -> tuple[Path, bool]:
    path = Path(target)
    return (path.resolve(), True) if path.is_file() else (settings().dags_path, False)


@click.command("test")
@click.argument("dag_id")
@click.argument("logical_date", type=_DATE, required=False)
@click.option("--conf", help="JSON object for the run's conf (overrides params).")
def dags_test(dag_id: str, logical_date: datetime | None, conf: str | None) -> None:
    """Run the whole DAG once here, on a throwaway store (Airflow: dags test).

    DAG_ID is a DAG of the DAG folder, or a DAG file defining one DAG; LOGICAL_DATE
    (YYYY-MM-DD or ISO, UTC) defaults to now. As Airflow's, the run is named after the
    time of the call, no dagrun_timeout ends it, and a date outside the DAG's start_date
    and end_date runs no task. Exit 1 if the run failed.
    """
    source, is_file = _source(dag_id)
    with _throwaway(source, dag_id) as (config, store):
        found = _pick_dag(store, dag_id, None, is_file=is_file)
        run = start_test_run(store, found, logical_date, conf)
        state = _run_live(
            config, store, run.id, no_retry_delay=False, scheduler_class=DagsTestScheduler
        )
        _report(store, run.id)
    if state is not RunState.SUCCESS:
        raise SystemExit(1)


@click.command("test")
@click.argument("dag_id")
@click.argument("task_id")
@click.argument("logical_date", type=_DATE, required=False)
def tasks_test(dag_id: str, task_id: str, logical_date: datetime | None) -> None:
    """Run one task once here, alone, on a throwaway store (Airflow: tasks test).

    Its upstream is not run (its XComs are not there) and nothing downstream runs.
    LOGICAL_DATE (YYYY-MM-DD or ISO, UTC) defaults to now. Exit 1 if the task failed.
    """
    source, is_file = _source(dag_id)
    with _throwaway(source, dag_id) as (config, store):
        found = _pick_dag(store, dag_id, None, is_file=is_file)
        run = start_test_run(store, found, logical_date, None)
        _only(store, run, task_id)
        _run_live(config, store, run.id, no_retry_delay=False)
        _report(store, run.id)
        with store.read() as conn:
            states = {ti.state for ti in runs.task_instances(conn, run.id) if ti.task_id == task_id}
    console.print(f"{task_id}: {', '.join(styled(s.value) for s in sorted(states))}")
    if states != {TaskState.SUCCESS}:
        raise SystemExit(1)


def _only(store: Store, run: RunRow, task_id: str) -> None:
    """Every task of the run but ``task_id`` marked success, so only it runs."""
    with store.write() as conn:
        instances = runs.task_instances(conn, run.id)
        if task_id not in {ti.task_id for ti in instances}:
            raise CliError(f"DAG {run.dag_id!r} has no task {task_id!r}")
        others = [ti.id for ti in instances if ti.task_id != task_id]
        manual.mark_alone(conn, others, TaskState.SUCCESS, _ACTOR)
