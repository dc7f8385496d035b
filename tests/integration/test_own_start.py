"""A start whose answer was lost: the worker that asked again finds the try running as its
own (same host, same process, same try) and runs it, where before it read the lost race as
"started elsewhere" and left the try running with no one to run it until it was declared
lost. Both stores."""

from __future__ import annotations

from pathlib import Path

from conveyor.engine.report import Returned
from conveyor.engine.tries import TryEnd, own_start, start_try, try_ended
from conveyor.lifecycle import Actor
from conveyor.store import runs, transitions
from conveyor.store.engine import Store
from run_env import manual_run, parsed_folder

DAG_FILE = """
    from conveyor import DAG, EmptyOperator

    with DAG("once") as dag:
        EmptyOperator(task_id="only")
"""
ACTOR = Actor("test")


def test_a_start_asked_again_is_found_as_this_process_s_own(tmp_path: Path, store: Store) -> None:
    parsed_folder(tmp_path, store, "once.py", DAG_FILE)
    with store.write() as conn:
        run_pk = manual_run(conn, "once")
        (ti,) = runs.task_instances(conn, run_pk)
        assert transitions.schedule_and_queue(conn, ti.id, 0, "ready", "default", ACTOR)
        first = start_try(
            conn, ti.id, 1, hostname="h1", pid=41, actor=ACTOR, log_path=lambda _: None
        )
    assert first is not None
    started, run = first

    with store.write() as conn:
        # Asked again, the start itself finds nothing to do: the try is running already.
        assert (
            start_try(conn, ti.id, 1, hostname="h1", pid=41, actor=ACTOR, log_path=lambda _: None)
            is None
        )
        again = own_start(conn, ti.id, 1, hostname="h1", pid=41)
        # Another process, another host or another try is not this start's.
        assert own_start(conn, ti.id, 1, hostname="h1", pid=42) is None
        assert own_start(conn, ti.id, 1, hostname="h2", pid=41) is None
        assert own_start(conn, ti.id, 2, hostname="h1", pid=41) is None
    assert again is not None
    assert again[0] == started
    assert again[1].id == run.id == run_pk

    end = TryEnd(ti.id, 1, run_pk, "only", Returned(), ti.max_tries)
    with store.write() as conn:
        try_ended(conn, end, ACTOR, parallelism=None)
        # Ended, it is no one's to run.
        assert own_start(conn, ti.id, 1, hostname="h1", pid=41) is None
