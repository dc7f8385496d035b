"""A hop before a wide fan-in reads a few instances, even when its try was the only one in
flight: the tries waiting for room show that the fan-in waits, on both stores.

With a parallelism or ``max_active_tasks`` of 1, the run has no other try in flight when one
finishes. The fan-in's upstream then used to be read whole on every hop, so a fan-out of N
cost N reads N times over (a fan-out of 1,000 at 51 tasks/s instead of 195).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import update

from conveyor.engine import frontier
from conveyor.lifecycle import Actor, Outcome
from conveyor.states import ExitKind, TaskState
from conveyor.store import frontier_reads, runs, transitions
from conveyor.store.engine import Store
from conveyor.store.hop import run_lock, steps
from conveyor.store.tables import task_instance
from run_env import manual_run, parsed_folder
from shared_dags import fan_dag

WIDTH = 200
DAG_FILE = fan_dag("fan", WIDTH, max_active_tasks=1)
ACTOR = Actor("test")
NOW = datetime(2024, 3, 1, 12, 0, 0, tzinfo=UTC)


def test_the_only_try_in_flight_finishing_before_a_wide_fan_in_reads_no_more_of_its_upstream(
    tmp_path: Path, store: Store
) -> None:
    assert WIDTH > frontier.WIDE_FAN_IN
    parsed_folder(tmp_path, store, "fan.py", DAG_FILE)
    with store.write() as conn:
        run_pk = manual_run(conn, "fan")
        ids = {t.task_id: t.id for t in runs.task_instances(conn, run_pk)}
        # start succeeded, t0000 is the run's one try in flight, every other branch waits.
        first = ids["t0000"]
        assert transitions.schedule_and_queue(conn, first, 0, "ready", "default", ACTOR)
        assert transitions.start_try(conn, first, 1, hostname="h", pid=1, actor=ACTOR)
        waiting = [ids[f"t{i:04d}"] for i in range(1, WIDTH)]
        conn.execute(
            update(task_instance)
            .where(task_instance.c.id.in_(waiting))
            .values(state=TaskState.SCHEDULED.value)
        )
        conn.execute(
            update(task_instance)
            .where(task_instance.c.id == ids["start"])
            .values(state=TaskState.SUCCESS.value)
        )

    finished = {"t0000": TaskState.SUCCESS}
    with store.write() as conn:
        run = run_lock.lock_run(conn, run_pk)
        structure = runs.serialized_dag(conn, run.version_hash)
        reads = frontier_reads.FrontierReads(conn, run_pk)
        found = steps.finish_and_read_hop(
            conn,
            run,
            reads,
            steps.Finish(first, 1, Outcome(TaskState.SUCCESS, ExitKind.RETURN), ACTOR),
            task_ids=frontier.first_reads(structure, finished),
            waiting_bound=1,
            sample=frontier.reaches_wide_fan_in(structure, finished),
            now=NOW,
        )
        assert found is not None
        assert [ti.task_id for ti in found.waiting] == ["t0001"]  # what the hop queues next
        plan = frontier.plan_after(structure, finished, reads)

    assert plan is not None
    assert not (plan.to_schedule or plan.to_skip or plan.to_upstream_fail)  # end waits
    assert set(reads.rows) <= {"end", "t0000"}  # not the fan-in's 200 upstream instances
