"""Asset watchers as a DAG file defines them: ``AssetWatcher`` and ``MessageQueueTrigger``
in Airflow's spelling, checked where the file loads, and the serialized DAG's list of them
(absent for a DAG without watchers, whose version hash so stays)."""

from __future__ import annotations

from datetime import datetime

import pytest

from conveyor import DAG, EmptyOperator
from conveyor.exceptions import DagDefinitionError
from conveyor.loading.serialize import serialize_dag
from conveyor.model.assets import Asset, AssetWatcher
from conveyor.model.datasets import AssetAny
from conveyor.triggers import MessageQueueTrigger

URL = "redis://127.0.0.1:6379/15"


def stream_trigger(stream: str) -> MessageQueueTrigger:
    return MessageQueueTrigger(scheme="redis+stream", stream=stream, url=URL)


def test_the_schedules_watchers_are_serialized_nested_conditions_included() -> None:
    orders = Asset("orders", watchers=[AssetWatcher("a", stream_trigger("s1"))])
    refunds = Asset("refunds", watchers=[AssetWatcher("b", stream_trigger("s2"))])
    with DAG("d", start_date=datetime(2024, 1, 1), schedule=AssetAny(orders, refunds)) as dag:
        EmptyOperator(task_id="t")
    found = serialize_dag(dag)["asset_watchers"]
    assert [(w["uri"], w["name"], w["kwargs"]["stream"]) for w in found] == [
        ("orders", "a", "s1"),
        ("refunds", "b", "s2"),
    ]
    assert {w["classpath"] for w in found} == {"conveyor.triggers.redis_stream.RedisStreamTrigger"}


def test_a_dag_without_watchers_serializes_as_before() -> None:
    with DAG("d", start_date=datetime(2024, 1, 1), schedule=[Asset("orders")]) as dag:
        EmptyOperator(task_id="t")
    assert "asset_watchers" not in serialize_dag(dag)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"scheme": "redis+pubsub", "channels": ["c"]}, "'redis+pubsub' is not one of them"),
        ({"scheme": "kafka", "topics": ["t"]}, "Conveyor reads redis+stream, sqs"),
        ({"scheme": "sqs"}, "sqs_queue"),
        ({"scheme": "sqs", "sqs_queue": "q", "delete_message_on_reception": False}, "deleted"),
        ({"queue": "redis+pubsub://localhost/0?channels=c"}, "Airflow deprecated queue="),
        ({"scheme": "redis+stream"}, "stream"),
    ],
)
def test_a_queue_conveyor_cannot_acknowledge_is_refused_at_load(
    arguments: dict[str, object], message: str
) -> None:
    with pytest.raises(DagDefinitionError, match=message.replace("+", r"\+")):
        MessageQueueTrigger(**arguments)  # type: ignore[arg-type]


def test_watchers_are_checked_where_the_asset_is_made() -> None:
    with pytest.raises(DagDefinitionError, match="two watchers are named 'a'"):
        Asset(
            "orders",
            watchers=[
                AssetWatcher("a", stream_trigger("s")),
                AssetWatcher("a", stream_trigger("t")),
            ],
        )
    with pytest.raises(DagDefinitionError, match="must be a trigger"):
        AssetWatcher("a", trigger="redis://somewhere")
    with pytest.raises(DagDefinitionError, match="must be AssetWatcher objects"):
        Asset("orders", watchers=[stream_trigger("s")])
