"""``ti.xcom_pull`` reads what Airflow 3's does, on both stores: ``task_ids=None`` is the
calling task, mapped values flatten into one list, ``map_indexes=`` and ``default=`` pick
instances, ``include_prior_dates=True`` reads the newest run dated at or before this one,
and ``dag_id=`` / ``run_id=`` read another DAG's run."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from conveyor.states import RunState
from conveyor.store import run_results
from run_env import Env

PRODUCER = """
    with DAG("producer", start_date=START, schedule=None):

        @task
        def make(ds=None):
            return ds

        @task
        def each(x):
            return x * 10

        @task
        def counter(ti=None):
            before = ti.xcom_pull(key="count", include_prior_dates=True)
            ti.xcom_push(key="count", value=(before or 0) + 1)
            ti.xcom_push(key="mine", value="own")
            return {
                "self": ti.xcom_pull(key="mine"),
                "this_run_only": ti.xcom_pull(task_ids="make", key="count"),
            }

        @task
        def read(ti=None):
            return {
                "one": ti.xcom_pull(task_ids="make"),
                "prior": ti.xcom_pull(task_ids="make", include_prior_dates=True),
                "flat": ti.xcom_pull(task_ids=["make", "each", "nothing"]),
                "mapped": ti.xcom_pull(task_ids="each"),
                "index": ti.xcom_pull(task_ids="each", map_indexes=1),
                "indexes": ti.xcom_pull(task_ids="each", map_indexes=[0, 5], default="none"),
                "positional_dag": ti.xcom_pull("make", "producer", "return_value"),
                "none_asked": ti.xcom_pull(task_ids=[]),
            }

        [make(), each.expand(x=[1, 2]), counter()] >> read()
"""

CONSUMER = """
    with DAG("consumer", start_date=START, schedule=None):

        @task
        def look(ti=None, dag_run=None):
            return {
                "same_run_id": ti.xcom_pull(dag_id="producer", task_ids="make"),
                "prior": ti.xcom_pull(
                    dag_id="producer", task_ids="make", include_prior_dates=True
                ),
                "named_run": ti.xcom_pull(
                    dag_id="producer", task_ids="make", run_id=dag_run.conf["run"]
                ),
                "missing_run": ti.xcom_pull(
                    dag_id="producer",
                    task_ids="make",
                    run_id="no-such-run",
                    include_prior_dates=True,
                ),
            }

        look()
"""


def _xcom(env: Env, run_pk: int, task_id: str, key: str = "return_value") -> Any:
    with env.store.read() as conn:
        found = run_results.xcoms_of_run(conn, run_pk)
    (value,) = [x.value for x in found if x.task_id == task_id and x.key == key]
    return value


def _run_at(env: Env, dag_id: str, day: int, **conf: Any) -> int:
    run_pk = env.trigger(dag_id, at=datetime(2024, 1, day, tzinfo=UTC), conf=conf or None)
    env.run(run_pk)
    assert env.run_state(run_pk) is RunState.SUCCESS, env.states(run_pk)
    return run_pk


def test_pulls_read_what_airflow_3_reads(env: Env) -> None:
    env.write_dag("producer.py", PRODUCER)
    env.write_dag("consumer.py", CONSUMER)
    env.sync()

    third = _run_at(env, "producer", 3)
    first = _run_at(env, "producer", 1)  # dated earlier, run later: prior runs are by date
    second = _run_at(env, "producer", 2)

    assert _xcom(env, third, "read") == {
        "one": "2024-01-03",
        "prior": "2024-01-03",  # this run's own value is the newest at or before it
        "flat": ["2024-01-03", 10, 20, None],
        "mapped": [10, 20],
        "index": 20,
        "indexes": [10, "none"],
        "positional_dag": "2024-01-03",  # the second argument is dag_id, as in Airflow
        "none_asked": [],
    }
    assert _xcom(env, third, "counter") == {"self": "own", "this_run_only": None}
    # A task reading its own earlier value: the newest run dated at or before this one.
    assert [_xcom(env, pk, "counter", "count") for pk in (third, first, second)] == [1, 1, 2]

    third_id = env.dag_runs("producer")[-1].run_id
    consumer = _run_at(env, "consumer", 2, run=third_id)
    assert _xcom(env, consumer, "look") == {
        "same_run_id": "2024-01-02",  # manual runs at one date share their run id
        "prior": "2024-01-02",
        "named_run": "2024-01-03",
        "missing_run": None,
    }
    late = _run_at(env, "consumer", 5, run=third_id)
    assert _xcom(env, late, "look") == {
        "same_run_id": None,  # the producer has no run of that id
        "prior": "2024-01-03",  # the newest producer run dated at or before the 5th
        "named_run": "2024-01-03",
        "missing_run": None,
    }
