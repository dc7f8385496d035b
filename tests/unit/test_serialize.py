"""The serialized DAG is what the scheduler and the web read, and its hash names a DAG version.

A hash that changes for an unchanged DAG makes a new version on every parse; one that does
not change when the DAG or its source does makes runs execute stale code. Both are pinned
here, with the round trip of the fields the scheduler reads and the retry delay it computes.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from conveyor import DAG, BashOperator, EmptyOperator, PythonOperator, TriggerRule, task
from conveyor.loading.serialize import serialize_dag
from conveyor.model.task import retry_delay_for
from conveyor.serialized import SerializedDag
from conveyor.version_hashes import canonical_json, source_hash, version_hash

SOURCE = "# the file's text\n"


def build(extra_task: bool = False, retries: int = 2) -> DAG:
    with DAG(
        "etl",
        schedule="0 3 * * *",
        start_date=datetime(2024, 1, 1),
        params={"limit": 5},
        tags=["nightly"],
        description="nightly load",
    ) as d:
        extract = BashOperator(
            task_id="extract",
            bash_command="extract {{ ds }}",
            retries=retries,
            retry_delay=timedelta(seconds=30),
            retry_exponential_backoff=True,
            max_retry_delay=timedelta(minutes=5),
            execution_timeout=timedelta(minutes=10),
            queue="io",
            priority_weight=5,
        )
        load = PythonOperator(
            task_id="load",
            python_callable=print,
            op_kwargs={"when": datetime(2024, 1, 1, tzinfo=UTC)},
        )
        report = EmptyOperator(task_id="report", trigger_rule=TriggerRule.ALL_DONE)
        extract >> [load, report]
        load >> report
        if extra_task:
            EmptyOperator(task_id="extra") << load
    return d


def vhash(d: DAG, source: str = SOURCE) -> str:
    return version_hash(serialize_dag(d), source_hash(source))


def test_serialized_dag_is_plain_json() -> None:
    data = serialize_dag(build())
    assert json.loads(json.dumps(data)) == data
    assert [t["task_id"] for t in data["tasks"]] == ["extract", "load", "report"]
    load = data["tasks"][1]
    assert load["fields"]["op_kwargs"] == {"when": "2024-01-01T00:00:00+00:00"}
    assert load["callable"] == "print"
    assert data["start_date"] == "2024-01-01T00:00:00+00:00"


def test_serialization_is_stable_for_the_same_definition() -> None:
    first, second = build(), build()
    assert canonical_json(serialize_dag(first)) == canonical_json(serialize_dag(second))
    assert vhash(first) == vhash(second)
    assert vhash(first) == vhash(first)


def test_version_changes_with_a_task_its_arguments_or_the_source() -> None:
    base = vhash(build())
    assert vhash(build(extra_task=True)) != base
    assert vhash(build(retries=3)) != base
    assert vhash(build(), source=SOURCE + "# a comment\n") != base


def test_xcom_arguments_serialize_deterministically() -> None:
    @task
    def produce() -> int:
        return 1

    @task
    def consume(value: int) -> None: ...

    def make() -> dict[str, Any]:
        with DAG("flow") as d:
            consume(produce())
        return serialize_dag(d)

    data = make()
    assert canonical_json(data) == canonical_json(make())
    assert data["tasks"][1]["fields"]["op_args"] == ["XComArg('produce', key='return_value')"]


def test_values_json_cannot_hold_serialize_the_same_on_every_parse() -> None:
    # Each parse of a file makes new function objects at new addresses, and set order
    # follows the hash seed; neither may leak into the version hash.
    def make() -> DAG:
        def transform(row: Any) -> Any:
            return row

        with DAG("d") as d:
            PythonOperator(
                task_id="t",
                python_callable=transform,
                op_kwargs={"fn": transform, "keys": {f"k{i}" for i in range(12)}},
            )
        return d

    first, second = make(), make()  # both alive, so the two functions have two addresses
    assert first.tasks[0].op_kwargs["fn"] is not second.tasks[0].op_kwargs["fn"]
    assert vhash(first) == vhash(second)
    fields = serialize_dag(first)["tasks"][0]["fields"]["op_kwargs"]
    assert fields["fn"].startswith("<function test_values_json_cannot_hold")
    assert fields["fn"].endswith(".<locals>.make.<locals>.transform>")
    assert fields["keys"] == sorted(f"k{i}" for i in range(12))


def test_round_trip_keeps_what_the_scheduler_reads() -> None:
    sd = SerializedDag.from_dict(json.loads(json.dumps(serialize_dag(build()))))
    assert sd.dag_id == "etl"
    assert sd.start_date == datetime(2024, 1, 1, tzinfo=UTC)
    assert sd.params == {"limit": 5}
    assert list(sd.tasks) == ["extract", "load", "report"]
    extract = sd.tasks["extract"]
    assert extract.operator_name == "BashOperator"
    assert extract.retries == 2
    assert extract.retry_delay == timedelta(seconds=30)
    assert extract.retry_exponential_backoff is True
    assert extract.max_retry_delay == timedelta(minutes=5)
    assert extract.execution_timeout == timedelta(minutes=10)
    assert extract.trigger_rule is TriggerRule.ALL_SUCCESS
    # Airflow's default weight rule, "downstream": its own 5, and load's and report's 1 each.
    assert (extract.queue, extract.priority_weight) == ("io", 7)
    assert extract.upstream == ()
    assert extract.downstream == ("load", "report")
    report = sd.tasks["report"]
    assert report.trigger_rule is TriggerRule.ALL_DONE
    assert report.upstream == ("extract", "load")
    assert report.downstream == ()
    assert report.execution_timeout is None
    assert report.retry_delay == timedelta(minutes=5)  # the operator default
    assert sd.leaves == ["report"]
    assert sd.schedule.serialize() == build().schedule.serialize()


@pytest.mark.parametrize(
    ("try_number", "expected"),
    [(1, 10), (2, 20), (3, 40), (4, 60), (50, 60), (10_000, 60)],
)
def test_exponential_backoff_doubles_and_is_capped(try_number: int, expected: int) -> None:
    base, cap = timedelta(seconds=10), timedelta(seconds=60)
    assert retry_delay_for(base, True, cap, try_number) == timedelta(seconds=expected)


def test_backoff_without_cap_keeps_doubling() -> None:
    assert retry_delay_for(timedelta(seconds=1), True, None, 11) == timedelta(seconds=1024)


def test_fixed_delay_without_backoff_still_respects_the_cap() -> None:
    base = timedelta(seconds=30)
    assert retry_delay_for(base, False, None, 5) == base
    assert retry_delay_for(base, False, timedelta(seconds=10), 1) == timedelta(seconds=10)


def test_serialized_task_computes_its_retry_delay() -> None:
    sd = SerializedDag.from_dict(json.loads(json.dumps(serialize_dag(build()))))
    extract = sd.tasks["extract"]
    assert extract.retry_delay_for(1) == timedelta(seconds=30)
    assert extract.retry_delay_for(2) == timedelta(seconds=60)
    assert extract.retry_delay_for(5) == timedelta(minutes=5)  # 8 min, capped at 5
    assert sd.tasks["load"].retry_delay_for(3) == timedelta(minutes=5)  # no backoff
