"""A try keeps its number across the dispatches that continue it, on both stores: a
reschedule-mode sensor's pokes run as one try (its context, its one log, its record, its
timeline) while a real failure still starts the next try; a stale message of an earlier
dispatch of the same try starts nothing and records nothing, as the fence every move checks
(``task_instance.try_number``) still numbers each dispatch (``store/try_numbers.py``)."""

from __future__ import annotations

from pathlib import Path

from conveyor.lifecycle import Actor, Outcome
from conveyor.states import ExitKind, RunState, TaskState
from conveyor.store import runs, timeline, transitions
from conveyor.store.hop import run_lock, steps
from conveyor.store.reads import tasks as task_reads
from run_env import Env

#: Four pokes: not yet, a failure (a retry), then in the next try not yet, then done. Each
#: poke records the try its context shows and prints it to its log.
POKES = """
    from conveyor.sensors import PythonSensor

    def poke(**context):
        ti = context["ti"]
        seen = Path("@TMP@/pokes")
        with seen.open("a") as f:
            f.write(f"{ti.try_number} {ti.max_tries} {context['try_number']}\\n")
        pokes = len(seen.read_text().splitlines())
        print(f"poke {pokes} in try {ti.try_number}")
        if pokes == 2:
            raise RuntimeError("the second poke fails")
        return pokes == 4

    with DAG("pokes", start_date=START):
        PythonSensor(
            task_id="wait", python_callable=poke, mode="reschedule", poke_interval=0.05,
            timeout=60, retries=1, retry_delay=timedelta(seconds=0),
        )
"""


def test_pokes_keep_their_try_and_a_failure_starts_the_next(env: Env) -> None:
    env.write_dag("pokes.py", POKES)
    env.sync()
    run_pk = env.trigger("pokes")
    env.run(run_pk, limit=60)

    assert env.run_state(run_pk) is RunState.SUCCESS
    # What the task saw at each poke: ti.try_number, ti.max_tries (Airflow's: the retries)
    # and the context's try_number.
    seen = (env.tmp / "pokes").read_text().splitlines()
    assert seen == ["1 1 1", "1 1 1", "2 1 2", "2 1 2"]
    with env.store.read() as conn:
        ti = task_reads.instance(conn, run_pk, "wait")
        assert ti is not None
        tries = sorted(task_reads.tries(conn, [ti.id]), key=lambda t: t.try_number)
        dispatches = env.tries(run_pk, "wait")
        events = timeline.events(conn, ti.id)
    assert (ti.try_number, ti.max_tries) == (2, 2)
    # Four dispatches, each its own fence; two tries, each from its first poke's start.
    assert [d.resumptions for d in dispatches] == [0, 1, 1, 2]
    assert [(t.try_number, t.state) for t in tries] == [(1, "up_for_retry"), (2, "success")]
    assert tries[0].start_date == dispatches[0].start_date
    assert tries[1].start_date == dispatches[2].start_date
    assert "the second poke fails" in (tries[0].error or "")
    # One log a try, each poke's output appended to it.
    assert tries[0].log_path != tries[1].log_path
    assert {d.log_path for d in dispatches} == {tries[0].log_path, tries[1].log_path}
    first, second = (Path(t.log_path or "").read_text() for t in tries)
    assert "poke 1 in try 1" in first and "poke 2 in try 1" in first
    assert "poke 3 in try 2" in second and "poke 4 in try 2" in second
    assert "in try 2" not in first
    # The timeline's entries belong to the two tries.
    assert {e.try_number for e in events} == {1, 2}
    assert [e.try_number for e in events if e.kind == "up_for_reschedule"] == [1, 2]


def test_a_stale_message_of_the_same_try_starts_nothing(env: Env) -> None:
    """A poke's dispatch and the next share their try but not their fence: the first one's
    message delivered again, or its process finishing late, moves nothing."""
    env.write_dag("pokes.py", POKES)
    env.sync()
    actor = Actor("test")
    with env.store.write() as conn:
        run_pk = runs.create_manual_run(conn, "pokes", created_by="test")
        assert run_pk is not None
        transitions.move_run(conn, run_pk, expected=[RunState.QUEUED], to=RunState.RUNNING)
        ti = task_reads.instance(conn, run_pk, "wait")
        assert ti is not None
        assert transitions.schedule(conn, ti.id, TaskState.NONE, 0, "test", actor)
        assert transitions.queue(conn, ti.id, 1, "default", actor)
    with env.store.write() as conn:
        first = steps.start_and_read(
            conn, ti.id, 1, hostname="h", pid=1, actor=actor, log_path=lambda _: None
        )
    assert first is not None
    poked = Outcome(TaskState.UP_FOR_RESCHEDULE, ExitKind.RESCHEDULE)
    with env.store.write() as conn:
        locked = run_lock.lock_run(conn, run_pk)
        assert transitions.finish(conn, locked, ti.id, 1, poked, actor)
        assert transitions.schedule(conn, ti.id, TaskState.UP_FOR_RESCHEDULE, 1, "poke", actor)
        assert transitions.queue(conn, ti.id, 2, "default", actor)
    with env.store.write() as conn:  # the first poke's message, delivered again
        stale = steps.start_and_read(
            conn, ti.id, 1, hostname="h", pid=2, actor=actor, log_path=lambda _: None
        )
    assert stale is None
    with env.store.write() as conn:
        second = steps.start_and_read(
            conn, ti.id, 2, hostname="h", pid=3, actor=actor, log_path=lambda _: None
        )
    assert second is not None
    started, _run = second
    assert (started.try_number, started.shown_try, started.shown_max_tries) == (2, 1, 2)
    done = Outcome(TaskState.SUCCESS, ExitKind.RETURN)
    with env.store.write() as conn:  # the first poke's process, finishing late
        locked = run_lock.lock_run(conn, run_pk)
        late = transitions.finish(conn, locked, ti.id, 1, done, actor)
    assert not late and late.found is TaskState.RUNNING and late.found_try == 2
    with env.store.read() as conn:
        row = task_reads.instance(conn, run_pk, "wait")
        dispatches = env.tries(run_pk, "wait")
    assert row is not None and (row.state, row.try_number) == ("running", 1)
    assert [(d.try_number, d.resumptions, d.pid) for d in dispatches] == [(1, 0, 1), (2, 1, 3)]
