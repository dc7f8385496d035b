"""A DAG's due time: which scheduled runs are due now, and when the scheduler looks next.

The scheduler reads only DAGs whose stored due time has come, so a due time too late skips a
run and one too early costs a loop; these pin it for each kind of schedule, and the caches
that keep a loop from rebuilding schedules.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from conveyor import DAG, EmptyOperator
from conveyor.loading.serialize import serialize_dag
from conveyor.model.datasets import Dataset
from conveyor.model.schedules import DataInterval, deserialize_schedule
from conveyor.scheduler.due import due_runs
from conveyor.serialized import SerializedDag
from conveyor.store import runs


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def structure(schedule: Any, **kwargs: Any) -> SerializedDag:
    kwargs.setdefault("start_date", datetime(2024, 1, 1))
    with DAG("due", schedule=schedule, **kwargs) as d:
        EmptyOperator(task_id="t")
    return SerializedDag.from_dict(json.loads(json.dumps(serialize_dag(d))))


def test_hourly_without_catchup_makes_the_latest_run_then_waits_for_the_next_hour() -> None:
    now = utc(2024, 3, 1, 10, 20)
    due, next_due = due_runs(structure("@hourly", catchup=False), None, now, limit=16)
    assert [r.logical_date for r in due] == [utc(2024, 3, 1, 9)]
    assert next_due == utc(2024, 3, 1, 11)  # the 10:00 interval ends then


def test_after_the_last_run_the_next_due_time_is_the_end_of_the_next_interval() -> None:
    last = DataInterval(utc(2024, 3, 1, 9), utc(2024, 3, 1, 10))
    due, next_due = due_runs(structure("@hourly"), last, utc(2024, 3, 1, 10, 59), limit=16)
    assert due == []
    assert next_due == utc(2024, 3, 1, 11)


def test_exactly_at_the_due_time_the_run_is_due() -> None:
    last = DataInterval(utc(2024, 3, 1, 9), utc(2024, 3, 1, 10))
    due, next_due = due_runs(structure("@hourly"), last, utc(2024, 3, 1, 11), limit=16)
    assert [r.logical_date for r in due] == [utc(2024, 3, 1, 10)]
    assert next_due == utc(2024, 3, 1, 12)


def test_catchup_beyond_one_loop_is_due_again_at_once() -> None:
    now = utc(2024, 1, 2)
    due, next_due = due_runs(structure("@hourly", catchup=True), None, now, limit=5)
    assert len(due) == 5
    assert next_due == now  # more are due: the next loop looks again


def test_a_future_start_date_is_the_first_due_time() -> None:
    s = structure(timedelta(hours=6), start_date=datetime(2030, 5, 1))
    due, next_due = due_runs(s, None, utc(2024, 1, 1), limit=16)
    assert due == []
    assert next_due == utc(2030, 5, 1, 6)


def test_schedules_without_time_based_runs_are_never_due() -> None:
    now = utc(2024, 6, 1)
    for schedule in (None, [Dataset("s3://bucket/orders")]):
        assert due_runs(structure(schedule), None, now, limit=16) == ([], None)


def test_once_is_due_at_its_start_and_never_after() -> None:
    s = structure("@once", start_date=datetime(2024, 2, 1))
    due, next_due = due_runs(s, None, utc(2024, 1, 1), limit=16)
    assert (due, next_due) == ([], utc(2024, 2, 1))
    due, next_due = due_runs(s, None, utc(2024, 2, 1), limit=16)
    assert len(due) == 1 and next_due is None
    assert due_runs(s, due[0].data_interval, utc(2024, 3, 1), limit=16) == ([], None)


def test_a_passed_end_date_ends_the_due_times() -> None:
    s = structure("@daily", end_date=datetime(2024, 1, 3))
    last = DataInterval(utc(2024, 1, 3), utc(2024, 1, 4))
    assert due_runs(s, last, utc(2024, 6, 1), limit=16) == ([], None)


def test_a_schedule_is_built_once_for_every_version_that_has_it() -> None:
    data = {"type": "cron", "expression": "*/5 * * * *", "timezone": "Europe/Amsterdam"}
    assert deserialize_schedule(dict(data)) is deserialize_schedule(dict(reversed(data.items())))
    assert deserialize_schedule({**data, "expression": "*/10 * * * *"}).description == (
        "*/10 * * * *"
    )


class _Rows:
    """A connection stand-in that hands out one serialized DAG per query (not SQLite's: the
    store's statements go through ``execute``, not the driver)."""

    dialect = SimpleNamespace(name="postgresql")

    def __init__(self) -> None:
        self.queries = 0

    def execute(self, *_: Any) -> _Rows:
        self.queries += 1
        return self

    def scalar_one(self) -> dict[str, Any]:
        return serialize_dag(DAG("cached", schedule=None, start_date=datetime(2024, 1, 1)))


def test_the_serialized_dag_cache_drops_the_least_recently_used(monkeypatch: Any) -> None:
    monkeypatch.setattr(runs, "SERIALIZED_CACHE_SIZE", 3)
    monkeypatch.setattr(runs, "_cache", type(runs._cache)())
    conn: Any = _Rows()
    for version in ("a", "b", "c"):
        runs.serialized_dag(conn, version)
    runs.serialized_dag(conn, "a")  # used again: "b" is now the oldest
    runs.serialized_dag(conn, "d")
    assert list(runs._cache) == ["c", "a", "d"]
    assert conn.queries == 4
    runs.serialized_dag(conn, "a")
    assert conn.queries == 4  # still cached, not cleared
