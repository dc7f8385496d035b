"""Deadline alerts' definitions and arithmetic (``model/deadlines.py``): each reference's
time plus the interval, Airflow's spellings and defaults, and what Conveyor refuses."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from conveyor.exceptions import DagDefinitionError
from conveyor.model.dag import DAG
from conveyor.model.deadlines import (
    AsyncCallback,
    DeadlineAlert,
    DeadlineReference,
    Facts,
    SyncCallback,
    VariableInterval,
    deadline_reference,
    deadline_time,
    needs_durations,
)

NOW = datetime(2025, 5, 4, 12, 0, tzinfo=UTC)
QUEUED = datetime(2025, 5, 4, 11, 0, tzinfo=UTC)
LOGICAL = datetime(2025, 5, 4, 0, 0, tzinfo=UTC)


def notify(**_: object) -> None:
    """A callback for the alerts below."""


async def notify_later(**_: object) -> None:
    await asyncio.sleep(0)


def _stored(reference: object, interval: timedelta) -> dict[str, object]:
    alert = DeadlineAlert(reference, interval, SyncCallback(notify))  # type: ignore[arg-type]
    return alert.serialize()


def _at(reference: object, interval: timedelta, **facts: object) -> datetime | None:
    given: dict[str, object] = {"now": NOW, "queued_at": QUEUED, "logical_date": LOGICAL}
    given.update(facts)
    return deadline_time(_stored(reference, interval), Facts(**given))  # type: ignore[arg-type]


def test_queued_at_and_logical_date_count_from_the_run() -> None:
    ten = timedelta(minutes=10)
    assert _at(DeadlineReference.DAGRUN_QUEUED_AT, ten) == QUEUED + ten
    assert _at(DeadlineReference.DAGRUN_LOGICAL_DATE, ten) == LOGICAL + ten
    # A negative interval is before the reference, as in Airflow.
    assert _at(DeadlineReference.DAGRUN_QUEUED_AT, -ten) == QUEUED - ten
    # A run without a logical date has no logical-date deadline.
    assert _at(DeadlineReference.DAGRUN_LOGICAL_DATE, ten, logical_date=None) is None


def test_a_fixed_datetime_is_the_same_for_every_run_and_naive_means_utc() -> None:
    fixed = DeadlineReference.FIXED_DATETIME(datetime(2025, 6, 1, 9, 30))
    assert _at(fixed, timedelta(hours=1)) == datetime(2025, 6, 1, 10, 30, tzinfo=UTC)
    assert _at(fixed, timedelta(hours=1), queued_at=NOW) == datetime(2025, 6, 1, 10, 30, tzinfo=UTC)


def test_average_runtime_is_now_plus_the_mean_of_the_latest_runs() -> None:
    average = DeadlineReference.AVERAGE_RUNTIME(max_runs=3, min_runs=2)
    # The newest three of the four durations: (60 + 120 + 180) / 3 = 120 s.
    durations = [60.0, 120.0, 180.0, 10_000.0]
    assert _at(average, timedelta(minutes=5), durations=durations) == NOW + timedelta(
        seconds=120 + 300
    )
    # Fewer finished runs than min_runs: no deadline for this run.
    assert _at(average, timedelta(minutes=5), durations=[60.0]) is None
    assert needs_durations([_stored(average, timedelta(0))]) == 3


def test_average_runtime_defaults_as_in_airflow() -> None:
    default = DeadlineReference.AVERAGE_RUNTIME()
    assert default.serialize_reference() == {
        "reference_type": "AverageRuntimeDeadline",
        "max_runs": 10,
        "min_runs": 10,
    }
    only_max = DeadlineReference.AVERAGE_RUNTIME(max_runs=4)
    assert only_max.serialize_reference()["min_runs"] == 4
    with pytest.raises(ValueError, match="min_runs must be at least 1"):
        DeadlineReference.AVERAGE_RUNTIME(max_runs=4, min_runs=0)
    assert _at(default, timedelta(0), durations=[30.0] * 9) is None
    assert _at(default, timedelta(0), durations=[30.0] * 10) == NOW + timedelta(seconds=30)


def test_deadline_takes_one_alert_or_a_list_and_is_stored_with_the_version() -> None:
    one = DeadlineAlert(
        DeadlineReference.DAGRUN_QUEUED_AT,
        timedelta(minutes=15),
        AsyncCallback(notify_later, kwargs={"text": "late"}),
        name="fifteen minutes",
    )
    two = DeadlineAlert(
        DeadlineReference.DAGRUN_LOGICAL_DATE, timedelta(hours=2), SyncCallback(notify)
    )
    assert DAG("single", deadline=one).deadline == [one]
    assert DAG("several", deadline=[one, two]).deadline == [one, two]
    assert DAG("none").deadline == []
    assert one.serialize() == {
        "reference": {"reference_type": "DagRunQueuedAtDeadline"},
        "interval": 900.0,
        "callback": {
            "kind": "async",
            "path": f"{__name__}.notify_later",
            "kwargs": {"text": "late"},
        },
        "name": "fifteen minutes",
    }
    with pytest.raises(DagDefinitionError, match="deadline= takes a DeadlineAlert"):
        DAG("wrong", deadline=["not an alert"])  # type: ignore[list-item]


def test_callbacks_check_what_airflow_checks() -> None:
    with pytest.raises(AttributeError, match="is not awaitable"):
        AsyncCallback(notify)
    with pytest.raises(ValueError, match="context is a reserved kwarg"):
        SyncCallback(notify, kwargs={"context": {}})
    with pytest.raises(ImportError, match="valid dot path"):
        SyncCallback("not a path")
    by_path = SyncCallback("my_company.alerts.page_oncall", executor="celery")
    assert by_path.path == "my_company.alerts.page_oncall" and by_path.callable is None
    with pytest.raises(ValueError, match="not currently supported"):
        DeadlineAlert(DeadlineReference.DAGRUN_QUEUED_AT, timedelta(1), notify)  # type: ignore[arg-type]


def test_what_conveyor_does_not_take_is_refused_where_the_file_says_it() -> None:
    with pytest.raises(DagDefinitionError, match=r"VariableInterval.*give a timedelta"):
        VariableInterval("deadline_seconds")
    with pytest.raises(DagDefinitionError, match="deadline references of your own"):

        @deadline_reference
        class Mine:
            pass

    with pytest.raises(DagDefinitionError, match="interval must be a timedelta"):
        DeadlineAlert(DeadlineReference.DAGRUN_QUEUED_AT, 60, SyncCallback(notify))  # type: ignore[arg-type]
