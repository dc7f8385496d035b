"""Triggers as stored: ``serialize()`` made JSON and built again in a triggerer, the types
triggers take (datetimes, timedeltas, tuples) kept, what JSON cannot hold refused where the
try defers; the shipped triggers fire; ``defer`` and ``deferrable=True`` raise the deferral."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from conveyor import DAG, BaseOperator, airflow_compat
from conveyor.engine.deferral import deferral_of, resume_call
from conveyor.exceptions import TaskDeferred
from conveyor.sensors import FileSensor, TimeDeltaSensorAsync
from conveyor.triggers import (
    BaseTrigger,
    DateTimeTrigger,
    FileTrigger,
    TimeDeltaTrigger,
    TriggerEvent,
)
from conveyor.triggers.serialization import (
    TriggerSerializationError,
    build,
    decode,
    encode,
    serialize,
)

MOMENT = datetime(2030, 5, 6, 7, 8, 9, tzinfo=UTC)


class Custom(BaseTrigger):
    def __init__(self, when: datetime, pair: tuple[int, int], wait: timedelta) -> None:
        super().__init__()
        self.when, self.pair, self.wait = when, pair, wait

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (f"{__name__}.Custom", {"when": self.when, "pair": self.pair, "wait": self.wait})

    async def run(self):  # type: ignore[no-untyped-def]
        yield TriggerEvent({"at": self.when})


def first_event(trigger: BaseTrigger) -> TriggerEvent:
    async def first() -> TriggerEvent:
        async for event in trigger.run():
            return event
        raise AssertionError("no event")

    return asyncio.run(asyncio.wait_for(first(), timeout=10))


def test_a_users_trigger_is_stored_as_json_and_built_again_alike() -> None:
    classpath, kwargs = serialize(Custom(MOMENT, (1, 2), timedelta(minutes=3)))
    stored = json.loads(json.dumps(kwargs))  # what the store gives back
    again = build(classpath, stored)
    assert isinstance(again, Custom)
    assert (again.when, again.pair, again.wait) == (MOMENT, (1, 2), timedelta(minutes=3))
    assert first_event(again) == TriggerEvent({"at": MOMENT})


@pytest.mark.parametrize(
    "trigger",
    [
        DateTimeTrigger(MOMENT),
        TimeDeltaTrigger(timedelta(hours=1)),
        FileTrigger("/tmp/x*", recursive=True, poke_interval=0.5),
    ],
)
def test_shipped_triggers_round_trip(trigger: BaseTrigger) -> None:
    classpath, kwargs = serialize(trigger)
    again = build(classpath, json.loads(json.dumps(kwargs)))
    expected = DateTimeTrigger if isinstance(trigger, DateTimeTrigger) else FileTrigger
    assert type(again) is expected
    assert again.serialize() == trigger.serialize()


def test_time_delta_trigger_keeps_its_moment_across_a_rebuild() -> None:
    trigger = TimeDeltaTrigger(timedelta(hours=2))
    _, kwargs = serialize(trigger)
    assert build(*serialize(trigger)).moment == trigger.moment == decode(kwargs)["moment"]


def test_shipped_triggers_fire(tmp_path: Path) -> None:
    past = datetime.now(UTC) - timedelta(seconds=1)
    assert first_event(DateTimeTrigger(past)) == TriggerEvent(past)
    (tmp_path / "here.csv").write_text("x")
    found = first_event(FileTrigger(str(tmp_path / "*.csv"), poke_interval=0.01))
    assert found == TriggerEvent(str(tmp_path / "here.csv"))


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"a": object()}, "object cannot be stored"),
        ({"a": float("nan")}, "not a JSON number"),
        ({"a": datetime(2030, 1, 1)}, "has no time zone"),
        ({"a": {1: 2}}, "dict keys must be strings"),
    ],
)
def test_what_json_cannot_hold_is_refused_naming_the_argument(
    value: dict[str, Any], message: str
) -> None:
    with pytest.raises(TriggerSerializationError, match=message) as caught:
        encode(value, "T argument")
    assert "T argument" in str(caught.value)


def test_a_deferral_names_what_is_wrong_with_it() -> None:
    with DAG("d"):
        task = BaseOperator(task_id="t")
    with pytest.raises(TriggerSerializationError, match="needs a trigger"):
        deferral_of(TaskDeferred(trigger="soon", method_name="execute"), task)
    with pytest.raises(TriggerSerializationError, match="has no such method"):
        deferral_of(TaskDeferred(trigger=DateTimeTrigger(MOMENT), method_name="nope"), task)
    found = deferral_of(
        TaskDeferred(
            trigger=DateTimeTrigger(MOMENT),
            method_name="execute",
            kwargs={"at": MOMENT},
            timeout=timedelta(seconds=30),
        ),
        task,
    )
    assert found.classpath == "conveyor.triggers.temporal.DateTimeTrigger"
    assert found.timeout_at is not None and found.method_kwargs is not None
    method, kwargs = resume_call(task, "execute", {**found.method_kwargs, "event": 1})
    assert method == task.execute and kwargs == {"at": MOMENT, "event": 1}


def test_defer_and_deferrable_sensors_raise_the_deferral(tmp_path: Path) -> None:
    with DAG("d"):
        task = BaseOperator(task_id="t")
        sensor = FileSensor(task_id="f", filepath=str(tmp_path / "never"), deferrable=True)
        delta = TimeDeltaSensorAsync(task_id="w", delta=timedelta(hours=1))
    with pytest.raises(TaskDeferred) as caught:
        task.defer(trigger=DateTimeTrigger(MOMENT), method_name="execute", timeout=5)
    assert caught.value.timeout == timedelta(seconds=5)
    with pytest.raises(TaskDeferred) as caught:
        sensor.execute({})
    assert isinstance(caught.value.trigger, FileTrigger)
    assert caught.value.method_name == "execute_complete"
    end = datetime.now(UTC)
    with pytest.raises(TaskDeferred) as caught:
        delta.execute({"data_interval_end": end})
    assert caught.value.trigger.moment == end + timedelta(hours=1)


def test_airflow_paths_name_the_triggers(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CONVEYOR_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CONVEYOR_AIRFLOW_COMPAT", raising=False)
    monkeypatch.delenv("AIRFLOW_HOME", raising=False)  # activate() sets it
    assert airflow_compat.activate() is True
    try:
        check_airflow_paths()
    finally:
        airflow_compat.uninstall()


def check_airflow_paths() -> None:
    from airflow.exceptions import TaskDeferralTimeout, TaskDeferred  # type: ignore
    from airflow.providers.standard.triggers.file import FileTrigger as StandardFile  # type: ignore
    from airflow.triggers.base import BaseTrigger as AirflowBase  # type: ignore
    from airflow.triggers.temporal import TimeDeltaTrigger as AirflowDelta  # type: ignore

    assert TaskDeferred is conveyor_exceptions().TaskDeferred
    assert issubclass(TaskDeferralTimeout, Exception)
    assert (AirflowBase, AirflowDelta, StandardFile) == (BaseTrigger, TimeDeltaTrigger, FileTrigger)


def conveyor_exceptions() -> Any:
    import conveyor.exceptions

    return conveyor.exceptions
