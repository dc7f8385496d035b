"""conveyor.testing.run_dag: the real state machine on an in-memory store, in this process."""

from __future__ import annotations

import itertools
import time
from datetime import datetime, timedelta

import pytest

from conveyor import DAG, BashOperator, EmptyOperator, Fail, Skip, task
from conveyor.airflow_compat.shims import DAG as AirflowDAG
from conveyor.exceptions import TaskTimeout
from conveyor.states import RunState, TaskState
from conveyor.testing import run_dag


def test_xcom_flows_and_context_reaches_tasks() -> None:
    with DAG("flow", params={"factor": 3}) as dag:

        @task
        def numbers() -> list[int]:
            return [1, 2, 3]

        @task
        def scale(values: list[int], params: dict | None = None, ds: str | None = None) -> dict:
            return {"total": sum(values) * params["factor"], "ds": ds}

        scale(numbers())

    result = run_dag(dag, conf={"factor": 10}, logical_date=datetime(2026, 3, 1, 12))
    assert result.state is RunState.SUCCESS
    assert result.xcom("numbers") == [1, 2, 3]
    assert result.xcom("scale") == {"total": 60, "ds": "2026-03-01"}  # conf overrides params


def test_retries_are_real_but_delays_are_skipped() -> None:
    attempts = itertools.count(1)
    with DAG("flaky") as dag:

        @task(retries=3, retry_delay=timedelta(hours=1))
        def flaky() -> str:
            if next(attempts) < 3:
                raise ConnectionError("upstream service unavailable")
            return "ok"

        flaky()

    started = time.monotonic()
    result = run_dag(dag)
    assert time.monotonic() - started < 10  # an hour of retry delay was not slept through
    assert result.task_state("flaky") is TaskState.SUCCESS
    assert result.tasks["flaky"].tries == 3


def test_failure_is_reported_with_the_exception() -> None:
    with DAG("broken") as dag:

        @task(retries=5)
        def explode() -> None:
            print("about to explode")
            raise Fail("bad input: refusing to retry")

        explode() >> EmptyOperator(task_id="after")

    result = run_dag(dag)
    assert result.state is RunState.FAILED
    assert result.tasks["explode"].tries == 1  # Fail skips the remaining retries
    assert result.task_state("after") is TaskState.UPSTREAM_FAILED
    assert "about to explode" in result.tasks["explode"].log
    with pytest.raises(AssertionError, match="Fail: bad input: refusing to retry"):
        result.raise_for_failure()


def test_branch_skip_and_join() -> None:
    with DAG("branchy") as dag:

        @task.branch
        def choose() -> str:
            return "left"

        left = EmptyOperator(task_id="left")
        right = EmptyOperator(task_id="right")
        join = EmptyOperator(task_id="join", trigger_rule="none_failed_min_one_success")

        @task
        def skipper() -> None:
            raise Skip("nothing to do today")

        choose() >> [left, right] >> join
        skipper()

    result = run_dag(dag)
    assert result.state is RunState.SUCCESS
    assert result.task_state("left") is TaskState.SUCCESS
    assert result.task_state("right") is TaskState.SKIPPED
    assert result.task_state("join") is TaskState.SUCCESS
    assert result.task_state("skipper") is TaskState.SKIPPED


def test_timeout_fails_the_try() -> None:
    with DAG("slow") as dag:

        @task(execution_timeout=timedelta(seconds=0.3))
        def sleepy() -> None:
            time.sleep(5)

        sleepy()

    started = time.monotonic()
    result = run_dag(dag)
    assert time.monotonic() - started < 4
    assert result.task_state("sleepy") is TaskState.FAILED
    assert "execution_timeout of 0.3s exceeded" in (result.tasks["sleepy"].error or "")


def test_an_airflow_files_try_past_its_timeout_raises_airflows_class() -> None:
    seen: list[str] = []

    def failed(context: dict) -> None:
        seen.append(type(context["exception"]).__name__)

    with AirflowDAG("slow_airflow", schedule=None) as dag:

        @task(execution_timeout=timedelta(seconds=0.3), on_failure_callback=failed)
        def sleepy() -> str:
            try:
                time.sleep(5)
            except Exception:  # as on Airflow, the timeout is no Exception: this lets it pass
                return "swallowed"
            return "slept"

        sleepy()

    result = run_dag(dag)
    assert result.task_state("sleepy") is TaskState.FAILED
    assert seen == ["AirflowTaskTimeout"]
    assert "execution_timeout of 0.3s exceeded" in (result.tasks["sleepy"].error or "")
    assert DAG.timeout_error is TaskTimeout  # Conveyor's own DAGs keep Conveyor's class


def test_templates_render_in_bash() -> None:
    with DAG("templated", params={"table": "orders"}) as dag:
        BashOperator(task_id="echo", bash_command="echo loading {{ params.table }} for {{ ds }}")

    result = run_dag(dag, logical_date=datetime(2026, 5, 4))
    assert result.xcom("echo") == "loading orders for 2026-05-04"
    assert "loading orders for 2026-05-04" in result.tasks["echo"].log


def test_a_dag_that_names_pools_runs_without_anyone_making_them() -> None:
    with DAG("pooled") as dag:

        @task(pool="warehouse", pool_slots=2)
        def load() -> str:
            return "loaded"

        load()

    result = run_dag(dag)
    assert result.state is RunState.SUCCESS
    assert result.xcom("load") == "loaded"
