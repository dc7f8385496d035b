"""Whole DAG runs through the real scheduler, DAG file processor and local executor.

Each test writes small DAG files, runs a scheduler until the runs it cares about finish, and
then reads the store: task states, the try records (host, pid, duration, exit kind, error),
the timeline events and the log files. Every test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import itertools
import socket
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from conftest import run_scheduler
from conveyor import lifecycle
from conveyor.clock import utcnow
from conveyor.engine import manual
from conveyor.states import RunState, TaskState
from conveyor.store import runs, transitions
from conveyor.store.engine import Store
from conveyor.store.tables import dag, import_error, xcom
from run_env import Env, run_one


def max_overlap(intervals: list[tuple[datetime, datetime]]) -> int:
    """The most intervals open at one moment (an end at t closes before a start at t)."""
    points = [(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals]
    best = now = 0
    for _, step in sorted(points):
        now += step
        best = max(best, now)
    return best


# -- a chain, XCom, try records and the timeline ----------------------------------------------


def test_chain_passes_return_values_and_records_every_step(env: Env) -> None:
    env.write_dag(
        "chain.py",
        """
        with DAG("chain", start_date=START):
            @task
            def extract():
                return [1, 2, 3]

            @task
            def double(rows):
                return [r * 2 for r in rows]

            @task
            def total(rows):
                return sum(rows)

            total(double(extract()))
        """,
    )
    run_pk = run_one(env, "chain")

    assert env.run_state(run_pk) is RunState.SUCCESS
    with env.store.read() as conn:
        value = conn.execute(
            select(xcom.c.value).where(xcom.c.run_pk == run_pk, xcom.c.task_id == "total")
        ).scalar_one()
    assert value == 12
    for task_id in ("extract", "double", "total"):
        [only] = env.tries(run_pk, task_id)
        assert only.state == "success" and only.exit_kind == "return"
        assert only.hostname == socket.gethostname() and only.pid > 0
        assert only.duration is not None and only.duration >= 0
        assert env.kinds(run_pk, task_id) == ["scheduled", "queued", "started", "success"]
    # The fast path: the worker that finished extract scheduled double in the same commit.
    scheduled = next(e for e in env.events(run_pk, "double") if e.kind == "scheduled")
    assert scheduled.actor.startswith("worker@"), scheduled


def test_a_cleared_task_that_now_returns_nothing_leaves_no_old_value(env: Env) -> None:
    env.write_dag(
        "rerun.py",
        """
        with DAG("rerun", start_date=START):
            @task
            def source(ti=None):
                return 5 if ti.max_tries == 0 else None  # clearing grants the tries again

            @task
            def sink(value):
                return {"got": value}

            sink(source())
        """,
    )
    run_pk = run_one(env, "rerun")

    def sink_value() -> Any:
        with env.store.read() as conn:
            return conn.execute(
                select(xcom.c.value).where(xcom.c.run_pk == run_pk, xcom.c.task_id == "sink")
            ).scalar_one()

    assert sink_value() == {"got": 5}
    with env.store.write() as conn:
        manual.clear(
            conn,
            "rerun",
            runs.get_run(conn, run_pk).run_id,
            "source",
            lifecycle.Actor("user:test"),
            downstream=True,
        )
    env.run(run_pk)
    assert env.run_state(run_pk) is RunState.SUCCESS
    assert sink_value() == {"got": None}


# -- retries ----------------------------------------------------------------------------------


def test_retries_back_off_then_succeed_or_fail_for_good(env: Env) -> None:
    env.write_dag(
        "retries.py",
        """
        COUNTER = Path("@TMP@/attempts")

        with DAG("retries", start_date=START):
            @task(retries=3, retry_delay=0.2, retry_exponential_backoff=True)
            def flaky():
                n = int(COUNTER.read_text()) + 1 if COUNTER.exists() else 1
                COUNTER.write_text(str(n))
                if n < 3:
                    raise RuntimeError(f"attempt {n} fails")
                return n

            @task(retries=1, retry_delay=0.1)
            def always_fails():
                raise RuntimeError("never works")

            @task
            def after_failure():
                return "unreachable"

            @task(retries=3, retry_delay=0.1)
            def gives_up():
                raise Fail("no point retrying")

            flaky()
            always_fails() >> after_failure()
            gives_up()
        """,
    )
    run_pk = run_one(env, "retries")

    states = env.states(run_pk)
    assert states == {
        "flaky": TaskState.SUCCESS,
        "always_fails": TaskState.FAILED,
        "after_failure": TaskState.UPSTREAM_FAILED,
        "gives_up": TaskState.FAILED,
    }
    assert env.run_state(run_pk) is RunState.FAILED

    flaky = env.tries(run_pk, "flaky")
    assert [t.state for t in flaky] == ["up_for_retry", "up_for_retry", "success"]
    assert "attempt 1 fails" in flaky[0].error
    # Exponential backoff: 0.2 s after try 1, 0.4 s after try 2 (a little slack for clocks).
    for before, after, delay in ((flaky[0], flaky[1], 0.2), (flaky[1], flaky[2], 0.4)):
        assert (after.start_date - before.end_date).total_seconds() >= delay - 0.05
    assert env.kinds(run_pk, "flaky").count("up_for_retry") == 2

    assert [t.state for t in env.tries(run_pk, "always_fails")] == ["up_for_retry", "failed"]
    [gave_up] = env.tries(run_pk, "gives_up")
    assert gave_up.state == "failed" and "no point retrying" in gave_up.error


# -- processes that time out or die -----------------------------------------------------------


def test_execution_timeout_kills_the_try(env: Env) -> None:
    env.write_dag(
        "slow.py",
        """
        with DAG("slow", start_date=START):
            @task(execution_timeout=1)
            def sleeper():
                time.sleep(30)

            sleeper()
        """,
    )
    env.sync()
    run_pk = env.trigger("slow")
    elapsed = env.run(run_pk, limit=15)

    assert elapsed < 8, f"a 1 s timeout took {elapsed:.1f}s to act on"
    assert env.states(run_pk) == {"sleeper": TaskState.FAILED}
    [only] = env.tries(run_pk, "sleeper")
    assert only.exit_kind == "timeout"
    assert "execution_timeout of 1s exceeded" in only.error
    # The deadline counts from the try's process launch, so the recorded run time (from
    # queued -> running) is a little under the limit.
    assert only.duration < 6


def test_a_crashing_process_fails_with_its_status_and_log_tail(env: Env) -> None:
    env.write_dag(
        "crash.py",
        """
        with DAG("crash", start_date=START):
            @task
            def exits():
                print("about to exit hard", flush=True)
                os._exit(3)

            @task
            def killed():
                print("about to be killed", flush=True)
                os.kill(os.getpid(), 9)

            exits()
            killed()
        """,
    )
    run_pk = run_one(env, "crash")

    assert env.states(run_pk) == {"exits": TaskState.FAILED, "killed": TaskState.FAILED}
    [exited] = env.tries(run_pk, "exits")
    assert exited.exit_kind == "crash"
    assert "exited with status 3" in exited.error
    assert "about to exit hard" in exited.error
    [killed] = env.tries(run_pk, "killed")
    assert killed.exit_kind == "signal"
    assert "SIGKILL" in killed.error
    assert "about to be killed" in killed.error


# -- branches, trigger rules and skips --------------------------------------------------------


def test_branches_and_trigger_rules(env: Env) -> None:
    env.write_dag(
        "rules.py",
        """
        with DAG("rules", start_date=START):
            @task.branch
            def pick():
                return "left"

            left = EmptyOperator(task_id="left")
            right = EmptyOperator(task_id="right")
            join = EmptyOperator(task_id="join", trigger_rule="none_failed_min_one_success")
            pick() >> [left, right] >> join

            @task
            def boom():
                raise RuntimeError("boom")

            failure = boom()
            failure >> EmptyOperator(task_id="cleanup", trigger_rule="all_done")
            failure >> EmptyOperator(task_id="alert", trigger_rule="one_failed")
            failure >> EmptyOperator(task_id="normal")
        """,
    )
    run_pk = run_one(env, "rules")

    assert env.states(run_pk) == {
        "pick": TaskState.SUCCESS,
        "left": TaskState.SUCCESS,
        "right": TaskState.SKIPPED,
        "join": TaskState.SUCCESS,
        "boom": TaskState.FAILED,
        "cleanup": TaskState.SUCCESS,
        "alert": TaskState.SUCCESS,
        "normal": TaskState.UPSTREAM_FAILED,
    }
    assert env.run_state(run_pk) is RunState.FAILED  # the leaf "normal" never ran


def test_skip_and_bash_exit_99_skip_downstream(env: Env) -> None:
    env.write_dag(
        "skips.py",
        """
        with DAG("skips", start_date=START):
            @task
            def nothing_to_do():
                raise Skip("no new files")

            nothing_to_do() >> EmptyOperator(task_id="after_skip")
            BashOperator(task_id="bash_skip", bash_command="exit 99") >> EmptyOperator(
                task_id="after_bash"
            )
        """,
    )
    run_pk = run_one(env, "skips")

    assert set(env.states(run_pk).values()) == {TaskState.SKIPPED}
    assert env.run_state(run_pk) is RunState.SUCCESS
    [skip_try] = env.tries(run_pk, "nothing_to_do")
    assert skip_try.exit_kind == "skip" and "no new files" in skip_try.error
    assert env.tries(run_pk, "after_bash") == []  # skipped without a try


# -- templating and logs ----------------------------------------------------------------------


def test_bash_templates_render_into_the_log(env: Env) -> None:
    env.write_dag(
        "templated.py",
        """
        with DAG("templated", start_date=START, params={"colour": "teal"}):
            BashOperator(
                task_id="say",
                bash_command="echo ds={{ ds }} colour={{ params.colour }} run={{ run_id }}",
            )
        """,
    )
    env.sync()
    at = datetime(2024, 3, 5, 12, 0, tzinfo=UTC)
    run_pk = env.trigger("templated", at=at)
    env.run(run_pk)

    assert env.run_state(run_pk) is RunState.SUCCESS
    [only] = env.tries(run_pk, "say")
    run_id = env.dag_runs("templated")[0].run_id
    text = Path(only.log_path).read_text()
    assert f"ds=2024-03-05 colour=teal run={run_id}" in text


# -- schedules and concurrency limits ---------------------------------------------------------


def test_catchup_creates_each_missed_interval_one_run_at_a_time(env: Env) -> None:
    midnight = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    start = midnight - timedelta(days=3)
    env.write_dag(
        "daily.py",
        f"""
        with DAG(
            "daily",
            schedule="@daily",
            start_date=datetime.fromisoformat("{start.isoformat()}"),
            catchup=True,
            max_active_runs=1,
        ):
            @task
            def work():
                time.sleep(0.3)

            work()
        """,
    )

    def three_done() -> bool:
        found = env.dag_runs("daily")
        return len(found) >= 3 and all(r.state in ("success", "failed") for r in found)

    run_scheduler(env.settings(), env.store, three_done, what="three daily runs finished")

    found = env.dag_runs("daily")
    assert len(found) == 3
    described = [(r.run_id, r.state, r.start_date, r.end_date) for r in found]
    assert {r.run_type for r in found} == {"scheduled"}, described
    assert {r.state for r in found} == {"success"}, described
    assert found[0].data_interval_start == start
    assert found[-1].data_interval_end == midnight
    # A run's start_date is the scheduler loop's clock, read a few milliseconds before it
    # saw the previous run end: allow one loop of slack there, none for the tries themselves.
    slack = timedelta(seconds=0.1)
    for earlier, later in itertools.pairwise(found):
        assert earlier.data_interval_end == later.data_interval_start
        assert earlier.end_date <= later.start_date + slack, f"runs overlap: {described}"
        [before] = env.tries(earlier.id, "work")
        [after] = env.tries(later.id, "work")
        assert before.end_date <= after.start_date, "max_active_runs=1 let two runs overlap"


def test_max_active_tasks_caps_a_fan_out(env: Env) -> None:
    env.write_dag(
        "fan.py",
        """
        with DAG("fan", start_date=START, max_active_tasks=2):
            @task
            def nap():
                time.sleep(0.4)

            root = EmptyOperator(task_id="root")
            for _ in range(6):
                root >> nap()
        """,
    )
    run_pk = run_one(env, "fan")

    assert env.run_state(run_pk) is RunState.SUCCESS
    naps = [t for tid in env.states(run_pk) if tid != "root" for t in env.tries(run_pk, tid)]
    assert len(naps) == 6
    assert max_overlap([(t.start_date, t.end_date) for t in naps]) == 2


def test_a_slot_freed_by_a_finished_run_goes_to_a_waiting_run_before_the_next_loop(
    env: Env,
) -> None:
    """Runs of one short task, one slot: each run's end hands the slot to the next run's
    waiting try at once, instead of leaving it idle until the next scheduler loop."""
    env.write_dag(
        "short.py",
        """
        with DAG("short", start_date=START):
            @task
            def one():
                return 1

            one()
        """,
    )
    env.sync()
    first = datetime(2024, 1, 1, tzinfo=UTC)
    run_pks = [env.trigger("short", at=first + timedelta(days=day)) for day in range(4)]
    loop = 4.0  # far longer than a try: a slot that waited for a loop would show
    env.run(*run_pks, limit=60, parallelism=1, scheduler_loop_seconds=loop)

    tries = sorted((env.tries(pk, "one")[0] for pk in run_pks), key=lambda t: t.start_date)
    gaps = [(b.start_date - a.end_date).total_seconds() for a, b in itertools.pairwise(tries)]
    # The first loop plans every run; after that no slot may wait for the next loop.
    assert max(gaps) < loop / 2, gaps


def test_depends_on_past_waits_for_the_previous_run(env: Env) -> None:
    env.write_dag(
        "past.py",
        """
        with DAG("past", start_date=START, params={"fail": False}):
            @task(depends_on_past=True)
            def gate(params):
                if params["fail"]:
                    raise Fail("told to fail")

            gate()
        """,
    )
    env.sync()
    now = utcnow()
    first = env.trigger("past", conf={"fail": True}, at=now - timedelta(hours=1))
    second = env.trigger("past", at=now)
    env.run(first)
    env.run_for(1.5)  # time enough for several loops and fast paths

    assert env.states(first) == {"gate": TaskState.FAILED}
    assert env.states(second) == {"gate": TaskState.NONE}
    assert env.run_state(second) is RunState.RUNNING

    with env.store.write() as conn:
        failed = runs.task_instances(conn, first)[0]
        actor = lifecycle.Actor("user:test")
        assert transitions.set_by_hand(conn, failed.id, TaskState.SUCCESS, actor, retries=0)
    env.run(second)
    assert env.states(second) == {"gate": TaskState.SUCCESS}


# -- DAG files: import errors, hangs and new files --------------------------------------------


def test_broken_and_hanging_files_do_not_stop_a_good_dag(env: Env) -> None:
    env.write_dag(
        "a_hangs.py",
        """
        # a conveyor dag file that never finishes importing
        while True:
            pass
        """,
        header=False,
    )
    env.write_dag(
        "broken.py",
        """
        from conveyor import DAG
        value = 1
        raise ValueError("broken on purpose")
        """,
        header=False,
    )
    env.write_dag(
        "good.py",
        """
        with DAG("good", schedule="@once", start_date=START):
            EmptyOperator(task_id="only")
        """,
    )

    def good_done_and_errors_known() -> bool:
        found = env.dag_runs("good")
        with env.store.read() as conn:
            errors = conn.execute(select(func.count()).select_from(import_error)).scalar()
        return errors == 2 and len(found) == 1 and found[0].state in ("success", "failed")

    # With the hang in one of the two parse slots, good.py waits for broken.py's parse, then
    # a few loops: about 0.4 s, up to about 1 s on a busy 2-core machine. A parse timeout well
    # above that keeps the check below about waiting for the hang, not about machine speed.
    run_scheduler(
        env.settings(parse_timeout_seconds=3),
        env.store,
        good_done_and_errors_known,
        what="the good DAG's run finished and both import errors recorded",
    )

    with env.store.read() as conn:
        errors = {Path(r.fileloc).name: r for r in conn.execute(select(import_error))}
    broken = errors["broken.py"]
    assert broken.fileloc == str(env.dags / "broken.py")
    assert broken.line == 3
    assert "ValueError: broken on purpose" in broken.message
    assert "parse_timeout_seconds" in errors["a_hangs.py"].message
    [good] = env.dag_runs("good")
    assert good.state == "success"
    # The hanging file was parsed first, yet the good DAG's run did not wait for its timeout.
    hang_given_up = errors["a_hangs.py"].created_at
    assert good.queued_at < hang_given_up, f"queued at {good.queued_at}, hang at {hang_given_up}"


def test_a_new_dag_file_is_picked_up_while_the_scheduler_runs(env: Env) -> None:
    written_at: list[float] = []
    seen_at: list[float] = []
    began = time.monotonic()

    def watch() -> bool:
        if not written_at and time.monotonic() - began > 0.5:
            env.write_dag(
                "late.py",
                """
                with DAG("late", schedule="@once", start_date=START):
                    EmptyOperator(task_id="only")
                """,
            )
            written_at.append(time.monotonic())
        if written_at and not seen_at and _dag_exists(env.store, "late"):
            seen_at.append(time.monotonic())
        found = env.dag_runs("late")
        return bool(found) and found[0].state == "success"

    run_scheduler(env.settings(), env.store, watch, what="the late DAG's run succeeded")

    waited = seen_at[0] - written_at[0]
    assert waited < 2.5, f"a new DAG file took {waited:.2f}s to show up"


def _dag_exists(store: Store, dag_id: str) -> bool:
    with store.read() as conn:
        return conn.execute(select(dag.c.dag_id).where(dag.c.dag_id == dag_id)).first() is not None
