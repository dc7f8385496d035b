"""The local executor's long-lived runner processes.

By default tries run one after another in runner processes that keep what they imported; a
try still starts in the folder and environment a fresh process would, a runner that dies
fails only its own try and is replaced, and ``local_reuse_processes = false`` gives every
try a process of its own.
"""

from __future__ import annotations

import pytest

from conveyor.states import RunState, TaskState
from conveyor.store import runs
from conveyor.worker.runner import log_path_for
from run_env import Env, run_one
from store_reads import returned

CHAIN = """
    @task
    def first():
        os.environ["LEFT_BEHIND"] = "by first"
        os.chdir("/")
        return os.getpid()

    @task
    def second(first_pid):
        return {
            "pid": os.getpid(),
            "first_pid": first_pid,
            "env": os.environ.get("LEFT_BEHIND"),
            "cwd": os.getcwd(),
        }

    with DAG("chain", start_date=START):
        second(first())
"""

CRASH_THEN_GO_ON = """
    @task(retries=1, retry_delay=timedelta(seconds=0))
    def dies_once():
        marker = Path("@TMP@") / "died"
        if not marker.exists():
            marker.write_text("x")
            os._exit(3)
        return os.getpid()

    @task
    def after(pid):
        return os.getpid()

    with DAG("crash", start_date=START):
        after(dies_once())
"""

TIMEOUT = """
    @task(execution_timeout=timedelta(seconds=1))
    def hangs():
        import signal  # deaf to its own timer, as a try stuck in C code is: the backstop kills it
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
        time.sleep(60)

    @task(trigger_rule="all_done")
    def next_one():
        return os.getpid()

    with DAG("slow", start_date=START):
        hangs() >> next_one()
"""


KEPT_TIMEOUT = """
    @task
    def first():
        return os.getpid()

    @task(execution_timeout=timedelta(seconds=1))
    def hangs(pid):
        import signal
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
        time.sleep(60)

    @task(trigger_rule="all_done")
    def next_one():
        return os.getpid()

    with DAG("kept_slow", start_date=START):
        hangs(first()) >> next_one()
"""

KEPT_CRASH = """
    @task
    def first():
        return os.getpid()

    @task(retries=1, retry_delay=timedelta(seconds=0))
    def dies_once(pid):
        marker = Path("@TMP@") / "died"
        if not marker.exists():
            marker.write_text("x")
            os._exit(3)
        return os.getpid()

    with DAG("kept_crash", start_date=START):
        dies_once(first())
"""

FROZEN = """
    import gc

    @task
    def frozen():
        return gc.get_freeze_count()

    with DAG("frozen", start_date=START):
        frozen()
"""

LONG_CHAIN = """
    from conveyor import PythonOperator, chain

    def nap():
        time.sleep(0.02)

    with DAG("long", start_date=START):
        chain(*[PythonOperator(task_id=f"s{i:03d}", python_callable=nap) for i in range(300)])
"""


def test_a_runner_runs_the_next_try_as_a_fresh_process_would_start_it(env: Env) -> None:
    env.write_dag("chain.py", CHAIN)
    run_pk = run_one(env, "chain", parallelism=1)
    assert env.run_state(run_pk) is RunState.SUCCESS
    seen = returned(env.store, run_pk, "second")
    assert isinstance(seen, dict)
    assert seen["pid"] == seen["first_pid"], "the second try ran in the same runner"
    assert seen["env"] is None, "an environment variable a try set leaked into the next"
    assert seen["cwd"] != "/", "a folder a try changed to leaked into the next"


@pytest.mark.parametrize("reuse", [True, False], ids=["runner", "process-per-try"])
def test_a_try_starts_with_what_its_process_inherited_out_of_the_collectors_reach(
    env: Env, reuse: bool
) -> None:
    # Frozen in the fork server: a full collection in the child never walks the imports.
    env.write_dag("frozen.py", FROZEN)
    run_pk = run_one(env, "frozen", parallelism=1, local_reuse_processes=reuse)
    frozen = returned(env.store, run_pk, "frozen")
    assert isinstance(frozen, int) and frozen > 10_000, frozen


def test_a_process_per_try_when_reuse_is_off(env: Env) -> None:
    env.write_dag("chain.py", CHAIN)
    run_pk = run_one(env, "chain", parallelism=1, local_reuse_processes=False)
    seen = returned(env.store, run_pk, "second")
    assert isinstance(seen, dict) and seen["pid"] != seen["first_pid"]


def test_a_runner_is_replaced_after_its_last_try(env: Env) -> None:
    env.write_dag("chain.py", CHAIN)
    run_pk = run_one(env, "chain", parallelism=1, local_runner_max_tries=1)
    seen = returned(env.store, run_pk, "second")
    assert isinstance(seen, dict) and seen["pid"] != seen["first_pid"]


def test_a_runner_that_dies_fails_its_try_and_a_new_one_runs_the_retry(env: Env) -> None:
    env.write_dag("crash.py", CRASH_THEN_GO_ON)
    run_pk = run_one(env, "crash", parallelism=1)
    assert env.run_state(run_pk) is RunState.SUCCESS
    first, second = env.tries(run_pk, "dies_once")
    assert first.exit_kind == "crash"
    assert "exited with status 3" in (first.error or "")
    assert second.pid != first.pid


def test_a_try_past_its_timeout_kills_its_runner_and_the_run_goes_on(env: Env) -> None:
    env.write_dag("slow.py", TIMEOUT)
    run_pk = run_one(env, "slow", parallelism=1, limit=40, kill_grace_seconds=0.5)
    states = env.states(run_pk)
    assert states["hangs"] is TaskState.FAILED
    assert states["next_one"] is TaskState.SUCCESS
    (hung,) = env.tries(run_pk, "hangs")
    assert hung.exit_kind == "timeout"
    assert (returned(env.store, run_pk, "next_one")) != hung.pid


def _kept(env: Env, run_pk: int, task_id: str) -> bool:
    """Whether the try's queued entry says its runner took it at once (steps.queue_and_start)."""
    return any(
        e.kind == "queued" and "taken at once" in (e.message or "")
        for e in env.events(run_pk, task_id)
    )


def test_a_runner_starts_the_next_try_of_a_chain_in_the_transaction_that_recorded_the_last(
    env: Env,
) -> None:
    env.write_dag("chain.py", CHAIN)
    run_pk = run_one(env, "chain", parallelism=4)
    assert env.run_state(run_pk) is RunState.SUCCESS
    assert not _kept(env, run_pk, "first")  # handed out by the executor
    assert _kept(env, run_pk, "second")
    ((first,), (second,)) = env.tries(run_pk, "first"), env.tries(run_pk, "second")
    assert first.pid == second.pid
    assert second.start_date >= first.end_date


def test_a_kept_try_whose_log_cannot_be_made_fails_saying_so(env: Env) -> None:
    """The kept try's log file is made while the transaction that starts it runs: a failure
    to make it still fails that try, with the reason, and the try before keeps its log."""
    env.write_dag("chain.py", CHAIN)
    env.sync()
    run_pk = env.trigger("chain")
    with env.store.read() as conn:
        run_id = runs.get_run(conn, run_pk).run_id
    settings = env.settings()
    blocked = log_path_for(settings, "chain", run_id, "second", 1).parent
    blocked.parent.mkdir(parents=True)
    blocked.write_text("a file where the task's log folder goes")
    env.run(run_pk, parallelism=1)
    assert _kept(env, run_pk, "second")
    assert env.states(run_pk)["second"] is TaskState.FAILED
    (second,) = env.tries(run_pk, "second")
    assert second.exit_kind == "bookkeeping"
    assert str(blocked) in (second.error or "") and "could not start its log" in second.error
    first_log = log_path_for(settings, "chain", run_id, "first", 1).read_text()
    assert "[conveyor] chain.first run" in first_log


def test_a_kept_try_past_its_timeout_is_killed_as_a_handed_out_one_is(env: Env) -> None:
    env.write_dag("kept_slow.py", KEPT_TIMEOUT)
    run_pk = run_one(env, "kept_slow", parallelism=1, limit=40, kill_grace_seconds=0.5)
    assert _kept(env, run_pk, "hangs")
    states = env.states(run_pk)
    assert states["hangs"] is TaskState.FAILED
    assert states["next_one"] is TaskState.SUCCESS
    (hung,) = env.tries(run_pk, "hangs")
    assert hung.exit_kind == "timeout"


def test_a_runner_that_dies_in_a_kept_try_fails_it_and_the_retry_runs(env: Env) -> None:
    env.write_dag("kept_crash.py", KEPT_CRASH)
    # The runner's exit must be what finds the crash: with the tests' 3 s zombie threshold a
    # loaded machine let the heartbeat sweep find the dead try first ("heartbeat", not "crash").
    run_pk = run_one(env, "kept_crash", parallelism=1, zombie_after_seconds=60)
    assert env.run_state(run_pk) is RunState.SUCCESS
    assert _kept(env, run_pk, "dies_once")
    first, second = env.tries(run_pk, "dies_once")
    assert first.exit_kind == "crash"
    assert "exited with status 3" in (first.error or "")
    assert second.pid != first.pid


def test_a_stopping_executor_lets_a_runner_finish_its_try_but_keep_no_more(env: Env) -> None:
    """A runner in a long chain goes on by itself; asked to stop, it ends with its try, so
    the scheduler stops within a try's time and kills nothing."""
    env.write_dag("long.py", LONG_CHAIN)
    env.sync()
    run_pk = env.trigger("long")
    env.run_for(2.0, parallelism=1)
    states = env.states(run_pk)
    done = [tid for tid, state in states.items() if state is TaskState.SUCCESS]
    assert 5 < len(done) < 300
    # The last try recorded may have queued the next one, for the next start to send.
    finished_or_waiting = {TaskState.SUCCESS, TaskState.NONE, TaskState.SCHEDULED, TaskState.QUEUED}
    assert set(states.values()) <= finished_or_waiting
