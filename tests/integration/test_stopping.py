"""Stopping running work on the local executor, as Airflow stops it (both backends).

A person marks a running try failed or success, clears it, or marks its run failed; or the
run passes its ``dagrun_timeout``. The store ends the try at once and asks for its process to
stop; the executor sends the try's process group SIGTERM, the operator's ``on_kill`` runs in
the try's process (here it writes a file, then BashOperator's ends the shell's group), and
what is left is killed after ``kill_grace_seconds``. The try ends as the person chose, with
them in its timeline, and its retries do not apply.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select

from conftest import run_scheduler
from conveyor.engine import manual
from conveyor.lifecycle import Actor
from conveyor.states import ExitKind, RunState, TaskState
from conveyor.store import runs
from conveyor.store.tables import task_instance
from run_env import Env

ANN = Actor("user:ann")

#: A shell with a child (``sleep 300 & wait``) on its first try; later tries return at once.
STOPPABLE = """
    class Recorded(BashOperator):
        def on_kill(self):
            Path("@TMP@/on_kill").write_text(str(os.getpid()))
            super().on_kill()

    with DAG("stoppable", start_date=START, schedule=None, @RUN_ARGS@):
        Recorded(
            task_id="sleepy",
            retries=2,
            retry_delay=timedelta(seconds=0),
            bash_command=(
                "if [ ! -e @TMP@/once ]; then touch @TMP@/once; echo $$ > @TMP@/shell.pid; "
                "sleep 300 & echo $! > @TMP@/child.pid; wait; fi; echo done"
            ),
        ) >> EmptyOperator(task_id="after")
"""


def alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie waiting for its parent does not)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[0] != "Z"


def pids(tmp: Path) -> list[int]:
    return [int((tmp / name).read_text()) for name in ("shell.pid", "child.pid")]


def ti_of(env: Env, run_pk: int, task_id: str) -> object:
    with env.store.read() as conn:
        return next(ti for ti in runs.task_instances(conn, run_pk) if ti.task_id == task_id)


def stop_and_wait(
    env: Env,
    action: Callable[[object, int], None],
    until: Callable[[int], bool],
    *,
    run_args: str = "",
    limit: float = 30.0,
) -> tuple[int, list[int], float]:
    """Run the DAG; once its shell and child run, do ``action(conn, run_pk)``; run the
    scheduler until ``until(run_pk)``. The run's pk, the shell's and child's pids, and the
    seconds from the action until both processes were gone."""
    env.write_dag("stoppable.py", STOPPABLE.replace("@RUN_ARGS@", run_args))
    env.sync()
    run_pk = env.trigger("stoppable")
    seen: dict[str, float] = {}
    processes: list[int] = []

    def step() -> bool:
        if not seen:
            if not (env.tmp / "child.pid").exists() or ti_of(env, run_pk, "sleepy").state is not (
                TaskState.RUNNING
            ):
                return False
            processes.extend(pids(env.tmp))
            seen["acted"] = time.monotonic()
            with env.store.write() as conn:
                action(conn, run_pk)
        if "gone" not in seen and not any(alive(p) for p in processes):
            seen["gone"] = time.monotonic()
        return "gone" in seen and until(run_pk)

    run_scheduler(env.settings(kill_grace_seconds=2), env.store, step, limit=limit)
    return run_pk, processes, seen["gone"] - seen["acted"]


def finished(env: Env) -> Callable[[int], bool]:
    return lambda run_pk: env.run_state(run_pk) in (RunState.SUCCESS, RunState.FAILED)


def test_marking_a_running_try_failed_stops_its_shell_and_calls_on_kill(env: Env) -> None:
    def mark(conn: object, run_pk: int) -> None:
        result = manual.mark(
            conn,
            "stoppable",
            runs.get_run(conn, run_pk).run_id,
            "sleepy",  # type: ignore[arg-type]
            TaskState.FAILED,
            ANN,
        )
        assert result.stopped == ["sleepy"]

    run_pk, processes, took = stop_and_wait(env, mark, finished(env))
    assert took < 2 + 2, f"the shell and its child were gone {took:.1f}s after the mark"
    assert (env.tmp / "on_kill").exists(), "the operator's on_kill was not called"
    assert int((env.tmp / "on_kill").read_text()) not in processes  # the try's own process
    assert env.states(run_pk) == {"sleepy": TaskState.FAILED, "after": TaskState.UPSTREAM_FAILED}
    assert env.run_state(run_pk) is RunState.FAILED
    tries = env.tries(run_pk, "sleepy")
    assert [t.try_number for t in tries] == [1], "a retry ran after the mark failed"
    assert tries[0].exit_kind == ExitKind.STOPPED and "user:ann" in tries[0].error
    events = env.events(run_pk, "sleepy")
    marked = [e for e in events if e.kind == "marked"]
    assert marked and marked[0].actor == "user:ann" and "was running" in marked[0].message
    stopping = [e for e in events if e.kind == "stopping"]
    assert stopping and "SIGTERM" in stopping[0].message
    with env.store.read() as conn:
        asked = conn.execute(select(task_instance.c.stop_try)).scalars().all()
    assert set(asked) == {None}, "the stop request was not cleared once sent"


def test_marking_a_running_try_success_stops_it_and_the_run_goes_on(env: Env) -> None:
    def mark(conn: object, run_pk: int) -> None:
        manual.mark(
            conn,
            "stoppable",
            runs.get_run(conn, run_pk).run_id,
            "sleepy",  # type: ignore[arg-type]
            TaskState.SUCCESS,
            ANN,
        )

    run_pk, _, took = stop_and_wait(env, mark, finished(env))
    assert took < 4
    assert env.states(run_pk) == {"sleepy": TaskState.SUCCESS, "after": TaskState.SUCCESS}
    assert env.run_state(run_pk) is RunState.SUCCESS
    assert (env.tmp / "on_kill").exists()


def test_clearing_a_running_try_stops_it_and_runs_it_again(env: Env) -> None:
    def clear(conn: object, run_pk: int) -> None:
        result = manual.clear(conn, "stoppable", runs.get_run(conn, run_pk).run_id, "sleepy", ANN)  # type: ignore[arg-type]
        assert result.stopped == ["sleepy"]

    run_pk, _, took = stop_and_wait(env, clear, finished(env))
    assert took < 4
    assert env.run_state(run_pk) is RunState.SUCCESS
    tries = env.tries(run_pk, "sleepy")
    assert [(t.try_number, t.state) for t in tries] == [(1, "up_for_retry"), (2, "success")]
    assert tries[0].exit_kind == ExitKind.STOPPED
    cleared = [e for e in env.events(run_pk, "sleepy") if e.kind == "cleared"]
    assert cleared and cleared[0].actor == "user:ann"


def test_marking_the_run_failed_stops_its_running_try(env: Env) -> None:
    def mark_run(conn: object, run_pk: int) -> None:
        manual.mark_run(
            conn,
            "stoppable",
            runs.get_run(conn, run_pk).run_id,  # type: ignore[arg-type]
            TaskState.FAILED,
            ANN,
        )

    run_pk, _, took = stop_and_wait(env, mark_run, finished(env))
    assert took < 4
    assert env.states(run_pk) == {"sleepy": TaskState.FAILED, "after": TaskState.FAILED}
    assert env.run_state(run_pk) is RunState.FAILED
    assert [t.try_number for t in env.tries(run_pk, "sleepy")] == [1]


def test_the_runs_dagrun_timeout_stops_its_running_try(env: Env) -> None:
    run_pk, _, _ = stop_and_wait(
        env,
        lambda conn, run_pk: None,  # nobody acts: the run's timeout does
        finished(env),
        run_args="dagrun_timeout=timedelta(seconds=3)",
    )
    assert env.run_state(run_pk) is RunState.FAILED
    assert env.states(run_pk) == {"sleepy": TaskState.SKIPPED, "after": TaskState.SKIPPED}
    skipped = [e for e in env.events(run_pk, "sleepy") if e.kind == "skipped"]
    assert skipped and "timeout" in skipped[0].message
    assert (env.tmp / "on_kill").exists()


TIMED_OUT = """
    class Recorded(BashOperator):
        def on_kill(self):
            Path("@TMP@/on_kill").write_text(str(os.getpid()))
            super().on_kill()

    with DAG("timed_out", start_date=START, schedule=None):
        Recorded(
            task_id="slow",
            execution_timeout=timedelta(seconds=1),
            bash_command="echo $$ > @TMP@/shell.pid; sleep 300 & echo $! > @TMP@/child.pid; wait",
        )
"""


def test_a_try_past_its_execution_timeout_has_on_kill_called_and_its_shell_ended(
    env: Env,
) -> None:
    env.write_dag("timed_out.py", TIMED_OUT)
    env.sync()
    run_pk = env.trigger("timed_out")
    env.run(run_pk, kill_grace_seconds=2)
    assert env.states(run_pk) == {"slow": TaskState.FAILED}
    assert env.tries(run_pk, "slow")[0].exit_kind == ExitKind.TIMEOUT
    assert (env.tmp / "on_kill").exists(), "on_kill was not called on the timeout"
    deadline = time.monotonic() + 3
    while any(alive(p) for p in pids(env.tmp)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(alive(p) for p in pids(env.tmp)), "the shell or its child outlived the try"
