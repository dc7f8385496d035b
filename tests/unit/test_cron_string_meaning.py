"""What a cron string (or a timedelta) as ``schedule=`` means, whichever way the DAG is
written: a data-interval timetable everywhere (docs/airflow.md, "A cron string"), never
Airflow 3's trigger timetable unless the file says ``CronTriggerTimetable``."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import conveyor
from conveyor.airflow_compat import shims
from conveyor.loading.serialize import serialize_dag
from conveyor.model.schedules import RunInfo, Schedule
from conveyor.model.timetables import CronTriggerTimetable
from conveyor.serialized import SerializedDag

START = datetime(2026, 1, 1, tzinfo=UTC)
NOW = datetime(2026, 1, 5, 12, tzinfo=UTC)


def _by_sdk_decorator(schedule: Any) -> conveyor.DAG:
    @shims.sdk_dag(dag_id="d", schedule=schedule, start_date=START, catchup=True)
    def d() -> None:
        conveyor.EmptyOperator(task_id="t")

    return d()  # type: ignore[no-any-return]


WAYS = {
    "conveyor.DAG": lambda s: conveyor.DAG("d", schedule=s, start_date=START, catchup=True),
    "airflow.DAG": lambda s: shims.DAG("d", schedule=s, start_date=START, catchup=True),
    "airflow 2 schedule_interval": lambda s: shims.DAG(
        "d", schedule_interval=s, start_date=START, catchup=True
    ),
    "airflow.sdk.DAG": lambda s: shims.SdkDAG("d", schedule=s, start_date=START, catchup=True),
    "airflow.sdk.dag": _by_sdk_decorator,
}


def _stored(made: conveyor.DAG) -> Schedule:
    """The schedule as the scheduler reads it: serialized, stored as JSON, read back."""
    if not made.task_dict:
        conveyor.EmptyOperator(task_id="t", dag=made)
    return SerializedDag.from_dict(json.loads(json.dumps(serialize_dag(made)))).schedule


def _first(schedule: Schedule) -> RunInfo:
    info = schedule.next_run(last=None, start_date=START, end_date=None, catchup=True, now=NOW)
    assert info is not None
    return info


@pytest.mark.parametrize("way", WAYS)
def test_a_cron_string_is_a_data_interval_timetable(way: str) -> None:
    info = _first(_stored(WAYS[way]("0 1 * * *")))
    # The first run is for the day that ended at 01:00 on the 2nd: its logical date is the
    # interval's start, and it runs once the interval is over.
    assert info.logical_date == info.data_interval.start == datetime(2026, 1, 1, 1, tzinfo=UTC)
    assert info.data_interval.end == info.run_after == datetime(2026, 1, 2, 1, tzinfo=UTC)


@pytest.mark.parametrize("way", WAYS)
def test_a_timedelta_is_a_data_interval_timetable(way: str) -> None:
    info = _first(_stored(WAYS[way](timedelta(hours=6))))
    assert info.data_interval.start == START
    assert info.data_interval.end == info.run_after == START + timedelta(hours=6)


@pytest.mark.parametrize("way", WAYS)
def test_cron_trigger_timetable_gives_airflow_3_s_default(way: str) -> None:
    info = _first(_stored(WAYS[way](CronTriggerTimetable("0 1 * * *", timezone="UTC"))))
    fired = datetime(2026, 1, 1, 1, tzinfo=UTC)
    assert info.logical_date == info.run_after == fired
    assert info.data_interval.start == info.data_interval.end == fired
