"""``conveyor tasks mark|clear`` and ``runs mark`` on a queued or running try (both stores):
the try ends as the person chose, at once, its stop is asked of its executor in the store,
and the try's own late report cannot overwrite the decision."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cli_helpers import Cli, make_cli
from sqlalchemy import update

from conveyor.lifecycle import Actor, Outcome
from conveyor.states import ExitKind, TaskState
from conveyor.store import runs, stops, transitions
from conveyor.store.hop import run_lock
from conveyor.store.tables import task_instance, task_try

S = TaskState
WORKER = Actor("worker@test:1")

DAG = """
    from conveyor import DAG, EmptyOperator

    with DAG("pair"):
        EmptyOperator(task_id="a", retries=3) >> EmptyOperator(task_id="b")
"""


@pytest.fixture
def cli(tmp_path: Path, store_url: str, store: object, monkeypatch: pytest.MonkeyPatch) -> Cli:
    made = make_cli(tmp_path, store_url, store, monkeypatch)  # type: ignore[arg-type]
    made.write_dag("pair.py", DAG)
    return made


def _ti(cli: Cli, ti_id: int) -> Any:
    with cli.store.read() as conn:
        return conn.execute(task_instance.select().where(task_instance.c.id == ti_id)).one()


def _running(cli: Cli, run_id: str, task_id: str) -> int:
    """Task ``task_id`` of the run, its try 1 started as a worker starts it; its id."""
    with cli.store.write() as conn:
        run = runs.find_run(conn, "pair", run_id)
        (ti,) = [t for t in runs.task_instances(conn, run.id) if t.task_id == task_id]
        conn.execute(
            update(task_instance)
            .where(task_instance.c.id == ti.id)
            .values(state=S.QUEUED.value, try_number=1)
        )
        started = transitions.start_try(conn, ti.id, 1, hostname="h", pid=4242, actor=WORKER)
        assert started is not None
        return ti.id


def test_marking_a_running_try_failed_ends_it_asks_its_stop_and_wins_over_its_report(
    cli: Cli,
) -> None:
    run_id = cli.trigger("pair")
    ti_id = _running(cli, run_id, "a")
    result = cli("tasks", "mark", "pair", run_id, "a", "--state", "failed")
    assert result.exit_code == 0, result.output
    assert "marked failed: a" in result.output and "stopping" in result.output
    assert cli.states("pair", run_id)["a"] is S.FAILED  # no retry, though it has 3
    with cli.store.read() as conn:
        (asked,) = stops.asked(conn, [], "h", [4242])
        closed = conn.execute(task_try.select().where(task_try.c.ti_id == ti_id)).one()
    assert (asked.ti_id, asked.try_number, asked.pid) == (ti_id, 1, 4242)
    assert closed.exit_kind == ExitKind.STOPPED and "cli:" in closed.error
    # The worker's own report comes late: the try is no longer its to end.
    with cli.store.write() as conn:
        run = run_lock.lock_run(conn, runs.find_run(conn, "pair", run_id).id)
        outcome = Outcome(S.SUCCESS, ExitKind.RETURN)
        assert not transitions.finish(conn, run, ti_id, 1, outcome, WORKER)
    assert cli.states("pair", run_id)["a"] is S.FAILED
    # The executor sends the stop once; the request is then gone.
    with cli.store.write() as conn:
        assert stops.sent(conn, asked, WORKER, pid=4242, grace=5)
        assert not stops.sent(conn, asked, WORKER, pid=4242, grace=5)
    with cli.store.read() as conn:
        assert stops.asked(conn, [ti_id]) == []


def test_clearing_a_running_try_sends_it_up_for_retry_once_its_process_is_gone(
    cli: Cli,
) -> None:
    run_id = cli.trigger("pair")
    ti_id = _running(cli, run_id, "a")
    result = cli("tasks", "clear", "pair", run_id, "a", "-y")
    assert result.exit_code == 0, result.output
    assert "cleared: a" in result.output and "stopping" in result.output
    ti = _ti(cli, ti_id)
    assert ti.state == S.UP_FOR_RETRY and ti.retry_at is not None
    assert ti.max_tries == 1 + 3 + 1, "a clear grants the task's retries anew"
    with cli.store.read() as conn:
        assert [s.ti_id for s in stops.asked(conn, [ti_id])] == [ti_id]
    with cli.store.write() as conn:
        stops.process_gone(conn, ti_id, 1)
    after = _ti(cli, ti_id).retry_at
    assert after is not None and after < ti.retry_at, "the next try waited past the stop"


def test_marking_a_run_failed_ends_its_running_and_queued_tries(cli: Cli) -> None:
    run_id = cli.trigger("pair")
    _running(cli, run_id, "a")
    result = cli("runs", "mark", "pair", run_id, "--state", "failed")
    assert result.exit_code == 0, result.output
    assert "stopping" in result.output
    assert cli.states("pair", run_id) == {"a": S.FAILED, "b": S.FAILED}
