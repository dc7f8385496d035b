"""DAGs of different folders run their own helper modules in one long-lived process.

Two team folders each have a ``utils.py`` (the names multi-team DAG folders are full of);
team_a also has a ``statistics.py``, named like a standard module that no Conveyor process
imports by itself, and its task rebinds a name of the ``airflow.*`` modules. Their runs
alternate, a hundred in all, on one local runner and on one Celery pool process (its pid is
checked to be the same for every try): each try must see its own folder's ``utils``, both
teams the standard ``statistics`` (a DAG's folders come after the process's own entries of
``sys.path``, as Airflow appends them), and team_b Airflow's name as Conveyor made it.
"""

from __future__ import annotations

import os
import shutil
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from celery_workers import require_redis, start_worker
from conftest import make_settings
from conveyor.config import Settings
from conveyor.executors.base import Executor
from conveyor.executors.celery_app import make_app
from conveyor.executors.celery_executor import CeleryExecutor
from conveyor.executors.local import LocalExecutor
from conveyor.loading.processor import DagFileProcessor
from conveyor.scheduler.loop import Scheduler
from conveyor.states import RUN_FINISHED, RunState
from conveyor.store import runs
from conveyor.store.engine import Store
from conveyor.store.tables import dag_run, task_try, xcom

RUNS = 100
BROKER = "redis://127.0.0.1:6379/13"

TEAM_DAG = """
    import os
    import statistics  # at the top: the modules a file imports as it loads are shipped

    import utils
    from conveyor import DAG, task

    with DAG("@TEAM@", schedule=None) as dag:
        @task
        def report():
            import airflow.models
            import statistics as later  # a try's own imports go by the file's rules
            import utils as again

            seen = {
                "utils": utils.WHO,
                "again": again.WHO,
                "statistics": str(statistics.mean([1, 2, 3])),
                "later": str(later.mean([1, 2, 3])),
                "airflow_dag": str(airflow.models.DAG),
                "pid": os.getpid(),
            }
            if "@TEAM@" == "team_a":
                airflow.models.DAG = "team_a's DAG"  # lasts until this try ends, no longer
            return seen

        report()
"""
TEAM_A_STATISTICS = 'def mean(values):\n    return "team_a\'s mean"\n'


def _write_teams(dags: Path) -> None:
    for team in ("team_a", "team_b"):
        folder = dags / team
        folder.mkdir(parents=True)
        (folder / "dag.py").write_text(textwrap.dedent(TEAM_DAG).replace("@TEAM@", team))
        (folder / "utils.py").write_text(f"WHO = {team!r}\n")
    (dags / "team_a" / "statistics.py").write_text(TEAM_A_STATISTICS)


def _alternate(store: Store, count: int) -> tuple[Callable[[], bool], list[int]]:
    """A scheduler's ``until``: one manual run at a time, team_a's then team_b's, each made
    when the one before finished; true once ``count`` runs finished."""
    made: list[int] = []

    def until() -> bool:
        if made:
            with store.read() as conn:
                state = runs.get_run(conn, made[-1]).state
            if state not in RUN_FINISHED:
                return False
            if len(made) == count:
                return True
        with store.write() as conn:
            run_pk = runs.create_manual_run(
                conn, ("team_a", "team_b")[len(made) % 2], created_by="test"
            )
        assert run_pk is not None
        made.append(run_pk)
        return False

    return until, made


def _run_alternating(
    settings: Settings, store: Store, executor: Executor, limit: float, log: Path | None = None
) -> list[int]:
    until, made = _alternate(store, RUNS)
    deadline = time.monotonic() + limit
    met = False

    def check() -> bool:
        nonlocal met
        met = until()
        return met or time.monotonic() > deadline

    Scheduler(settings, store, executor, processor=None).run(until=check)
    said = log.read_text()[-3000:] if log is not None else ""
    assert met, f"{len(made)} runs made, the last not finished in {limit}s\n{said}"
    return made


def _seen(store: Store, made: list[int]) -> list[tuple[str, RunState, Any]]:
    """(DAG, run state, what its task saw) of each run, in the order they were made."""
    with store.read() as conn:
        found = {
            row.id: (row.dag_id, RunState(row.state))
            for row in conn.execute(
                select(dag_run.c.id, dag_run.c.dag_id, dag_run.c.state).where(
                    dag_run.c.id.in_(made)
                )
            )
        }
        values = dict(
            conn.execute(select(xcom.c.run_pk, xcom.c.value).where(xcom.c.run_pk.in_(made))).all()
        )
        errors = conn.execute(select(task_try.c.error).where(task_try.c.error.is_not(None)))
        assert not errors.first(), "a try failed"
    return [(*found[pk], values.get(pk)) for pk in made]


def _expected(team: str) -> dict[str, str]:
    return {
        "utils": team,
        "again": team,
        "statistics": "2",  # team_a's statistics.py never stands in for the standard one
        "later": "2",
        "airflow_dag": str(_canonical_airflow_dag()),
    }


def _canonical_airflow_dag() -> Any:
    """What ``airflow.models.DAG`` is in a DAG file (the compat table's object)."""
    from conveyor.airflow_compat.hook import resolve
    from conveyor.airflow_compat.table import lookup

    target = lookup("airflow.models", "DAG")
    assert target is not None
    return resolve(target, "airflow.models.DAG")


def _check(seen: list[tuple[str, RunState, Any]]) -> None:
    assert len(seen) == RUNS
    pids = set()
    wrong = []
    for number, (dag_id, state, value) in enumerate(seen):
        assert dag_id == ("team_a", "team_b")[number % 2]
        assert state is RunState.SUCCESS and isinstance(value, dict), (number, state, value)
        pids.add(value.pop("pid"))
        if value != _expected(dag_id):
            wrong.append((number, dag_id, value))
    assert len(pids) == 1, f"the tries ran in {len(pids)} processes, not one"
    assert not wrong, f"{len(wrong)} of {RUNS} runs saw another DAG's code: {wrong[:4]}"


def test_two_folders_alternate_on_one_runner_each_with_its_own_helpers(
    tmp_path: Path, store: Store
) -> None:
    dags = tmp_path / "dags"
    _write_teams(dags)
    DagFileProcessor(store, dags, timeout=30, scan_every=1).sync()
    settings = make_settings(tmp_path, dags, store.url, parallelism=1, scheduler_loop_seconds=0.02)
    made = _run_alternating(settings, store, LocalExecutor(settings), limit=240)
    _check(_seen(store, made))


@pytest.mark.postgres
def test_two_folders_alternate_on_one_pool_process_each_with_its_own_helpers(
    tmp_path: Path, pg_database_url: str
) -> None:
    """The worker has no DAG folder: each DAG runs from its code cache bundle."""
    require_redis()
    dags = tmp_path / "dags"
    _write_teams(dags)
    store = Store(pg_database_url)
    settings = make_settings(
        tmp_path,
        tmp_path / "nowhere",
        pg_database_url,
        executor="celery",
        broker_url=BROKER,
        scheduler_loop_seconds=0.02,
    )
    make_app(settings).control.purge()  # messages an earlier run left behind
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("CONVEYOR_", "PYTHON"))}
    environ.update(
        CONVEYOR_HOME=str(tmp_path / "worker-home"),
        CONVEYOR_DATABASE_URL=pg_database_url,
        CONVEYOR_BROKER_URL=BROKER,
        CONVEYOR_HEARTBEAT_SECONDS="0.5",
    )
    log = tmp_path / "worker.log"
    try:
        DagFileProcessor(store, dags, timeout=30, scan_every=1).sync()
        shutil.rmtree(dags)  # the worker reads every file from the store
        with start_worker(
            "default",
            "w_isolation@test",
            environ,
            log,
            db_url=store.url,
            concurrency=1,
            cwd=tmp_path,
        ):
            made = _run_alternating(settings, store, CeleryExecutor(settings), 300, log)
        _check(_seen(store, made))
    finally:
        store.dispose()
