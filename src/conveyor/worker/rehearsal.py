"""A rehearsal of the hop on a throwaway store, so that runners start with it compiled.

On SQLite every try's record holds the store's one write lock, and the first hop a process
makes compiles each of its statements there: about 10 ms under the lock in each new runner
process, against about 1 ms for a warm one. When a fan-out brings up eight runners, their
first hops held every other writer up for most of the run's first tenth of a second.

The fork server runs :func:`rehearse_hop` once, when it starts (see
``conveyor.executors.fork_server_warmup``): a small fan-out, run to its end through the real
``TryRunner`` on an in-memory store, with the runner keeping tries as a long-lived runner
does. The statements it compiles (``store.hop.prepared`` keeps them per process, by statement
object) are inherited by every process the fork server forks, and a new runner's first
hop costs what its later ones do.
"""

from __future__ import annotations

import logging
import tempfile
from collections import deque
from datetime import datetime

from conveyor.config import load_config
from conveyor.engine.kept import MayKeep
from conveyor.engine.progress import QueuedTry, lock_and_advance
from conveyor.engine.runs import start_run
from conveyor.engine.tries import worker_actor
from conveyor.loading.serialize import serialize_dag
from conveyor.model.context import DagContext
from conveyor.model.dag import DAG
from conveyor.operators import PythonOperator
from conveyor.states import RunState
from conveyor.store import runs, schema, trigger
from conveyor.store.dags import ParsedFile, save_parsed_file
from conveyor.store.engine import Store
from conveyor.worker.runner import TryRunner

log = logging.getLogger(__name__)

REHEARSAL_DAG_ID = "conveyor_rehearsal"


def rehearse_hop() -> RunState | None:
    """Rehearse the hop; return how the rehearsal's run ended. Never raises: a rehearsal
    that fails leaves runners to compile as they go, as they did without it."""
    try:
        return _rehearse()
    except Exception:
        log.debug(
            "the hop's rehearsal failed; runners compile its statements as they go", exc_info=True
        )
        return None


def _rehearsal_dag() -> DAG:
    """One task, two after it (one returns a value: an XCom), and one after both."""
    with DAG(
        REHEARSAL_DAG_ID, schedule=None, start_date=datetime(2024, 1, 1), auto_register=False
    ) as dag:
        first = PythonOperator(task_id="first", python_callable=_nothing)
        last = PythonOperator(task_id="last", python_callable=_nothing)
        first >> PythonOperator(task_id="left", python_callable=_nothing) >> last
        first >> PythonOperator(task_id="right", python_callable=_something) >> last
    # No file's DAG: kept out of what the loader reads (auto_register=False above too).
    DagContext.created.remove(dag)
    return dag


def _nothing() -> None:
    return None


def _something() -> int:
    return 1


def _rehearse() -> RunState:
    with tempfile.TemporaryDirectory(prefix="conveyor-rehearsal-") as home:
        return run_rehearsal("sqlite://", home)


def run_rehearsal(url: str, home: str) -> RunState:
    """The rehearsal's DAG, run once to its end on the store at ``url`` (a fresh one), with
    its logs under ``home``; how its run ended."""
    dag = _rehearsal_dag()
    settings = load_config({}, home=home, database_url=url).settings
    store = Store(url)
    try:
        schema.migrate(store)
        with store.write() as conn:
            parsed = ParsedFile(f"<{REHEARSAL_DAG_ID}>", "", [serialize_dag(dag)], None, 0.0)
            save_parsed_file(conn, parsed, paused_at_creation=None)  # a throwaway store
            run_pk = trigger.trigger_run(conn, dag.dag_id, created_by="rehearsal").id
            assert run_pk is not None
            start_run(conn, run_pk)
            backlog = deque(lock_and_advance(conn, run_pk, worker_actor("rehearsal")).queued)
        runner = TryRunner(settings, store, resolve_dag=lambda *_: dag, output="python")
        _run_all(runner, backlog)
        with store.read() as conn:
            return runs.get_run(conn, run_pk).state
    finally:
        store.dispose()


def _run_all(runner: TryRunner, backlog: deque[QueuedTry]) -> None:
    """Each try, keeping what its record makes ready, as a long-lived runner does."""
    while backlog:
        work = backlog.popleft()
        result = runner.run(work.ti_id, work.try_number, keep=MayKeep())
        while result.started:
            backlog.extend(result.queued)
            if result.kept is None:
                break
            result = runner.run_kept(result.kept, keep=MayKeep())
