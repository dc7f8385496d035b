"""Sensors through the real scheduler: poke mode loops in its try; reschedule mode frees its
slot between pokes (up_for_reschedule) without using up retries; the timeout counts from the
first poke across reschedules; soft_fail ends as skipped."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from http_servers import Answer, Recorder, Seen, serve

from conveyor.states import RunState, TaskState
from run_env import Env

SLOT = """
    from conveyor.sensors import FileSensor

    with DAG("slot", start_date=START):
        FileSensor(
            task_id="wait", filepath="@TMP@/ready.flag", mode="@MODE@",
            poke_interval=0.2, timeout=@TIMEOUT@, priority_weight=10,
        ) >> EmptyOperator(task_id="after")

        @task
        def make_flag():
            time.sleep(0.5)
            Path("@TMP@/ready.flag").write_text("go")

        make_flag()
"""


def test_reschedule_mode_frees_the_only_slot_so_another_task_can_run(env: Env) -> None:
    env.write_dag("slot.py", SLOT.replace("@MODE@", "reschedule").replace("@TIMEOUT@", "20"))
    env.sync()
    run_pk = env.trigger("slot")
    env.run(run_pk, parallelism=1)  # one try at a time: a poking sensor would block make_flag

    assert env.run_state(run_pk) is RunState.SUCCESS
    assert env.states(run_pk)["wait"] is TaskState.SUCCESS
    tries = env.tries(run_pk, "wait")
    assert len(tries) >= 2
    assert {t.state for t in tries[:-1]} == {"up_for_reschedule"}
    assert all(t.exit_kind == "reschedule" for t in tries[:-1])
    assert tries[-1].state == "success"
    kinds = [e.kind for e in env.events(run_pk, "wait")]
    assert "up_for_reschedule" in kinds
    # make_flag started after the sensor's first poke ended, while it waited without a slot
    flag_start = env.tries(run_pk, "make_flag")[0].start_date
    assert tries[0].end_date <= flag_start < tries[-1].start_date


def test_timeout_counts_from_the_first_poke_and_soft_fail_skips(env: Env) -> None:
    env.write_dag(
        "never.py",
        """
        from conveyor.sensors import FileSensor

        with DAG("never", start_date=START):
            FileSensor(
                task_id="soft", filepath="@TMP@/missing", mode="reschedule",
                poke_interval=0.2, timeout=0.8, soft_fail=True,
            )
            FileSensor(
                task_id="hard", filepath="@TMP@/missing", mode="reschedule",
                poke_interval=0.2, timeout=0.8, retries=0,
            )
        """,
    )
    env.sync()
    run_pk = env.trigger("never")
    env.run(run_pk)
    states = env.states(run_pk)
    assert states == {"soft": TaskState.SKIPPED, "hard": TaskState.FAILED}
    for task_id in ("soft", "hard"):
        tries = env.tries(run_pk, task_id)
        assert len(tries) >= 2, tries  # several pokes; with retries=0, none used up a retry
        first, last = tries[0].start_date, tries[-1].end_date
        assert (last - first).total_seconds() >= 0.8
    assert "timed out" in (env.tries(run_pk, "hard")[-1].error or "")


@pytest.fixture
def flaky() -> Iterator[Recorder]:
    """An endpoint, ``/health``, answering 503 to the first two requests, then 200."""
    left = [2]

    def answer(_: Seen) -> Answer:
        if left[0] > 0:
            left[0] -= 1
            return 503, b"", {}
        return 200, b'{"status": "ready"}', {}

    yield from serve(Recorder(routes={("GET", "/health"): answer}))


def test_poke_mode_sensors_wait_for_http_sql_another_dag_and_a_time(
    env: Env, flaky: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONVEYOR_CONN_API", flaky.url)
    monkeypatch.setenv("CONVEYOR_CONN_META", env.store.url)
    env.write_dag(
        "pair.py",
        """
        from conveyor.sensors import (
            DateTimeSensor, ExternalTaskSensor, HttpSensor, SqlSensor,
        )

        with DAG("producer", start_date=START):
            @task
            def make():
                time.sleep(1)
                return "made"
            make()

        with DAG("consumer", start_date=START):
            common = {"poke_interval": 0.2, "timeout": 20}
            upstream = ExternalTaskSensor(
                task_id="upstream", external_dag_id="producer", external_task_id="make",
                **common,
            )
            api = HttpSensor(
                task_id="api", conn_id="api", endpoint="/health",
                response_check="ready", **common,
            )
            rows = SqlSensor(
                task_id="rows", conn_id="meta",
                sql="SELECT COUNT(*) FROM dag_run WHERE dag_id = :d AND state = 'success'",
                parameters={"d": "producer"}, **common,
            )
            later = DateTimeSensor(
                task_id="later", target_time="{{ params.at }}", **common,
            )
            [upstream, api, rows, later] >> EmptyOperator(task_id="done")
        """,
    )
    env.sync()
    when = datetime(2026, 3, 2, tzinfo=UTC)
    at = datetime.now(UTC).replace(microsecond=0).isoformat()
    consumer = env.trigger("consumer", at=when, conf={"at": at})
    producer = env.trigger("producer", at=when)
    env.run(consumer, producer, limit=30)

    assert env.run_state(consumer) is RunState.SUCCESS, env.states(consumer)
    assert len(flaky.requests("GET", "/health")) >= 3  # two 503s, then the answer
    # Poke mode: one try each, however many pokes it took.
    for task_id in ("upstream", "api", "rows", "later"):
        assert len(env.tries(consumer, task_id)) == 1
    sensor_end = env.tries(consumer, "upstream")[0].end_date
    assert sensor_end >= env.tries(producer, "make")[0].end_date
