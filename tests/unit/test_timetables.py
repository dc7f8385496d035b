"""Airflow's timetables as schedules: the runs and data intervals each gives, catchup on and
off, start and end dates, manual intervals, and the round trip through the stored DAG.

The expected lists follow Airflow 3's documented semantics: a trigger timetable runs at each
fire time for the ``interval`` before it (zero by default); a data-interval timetable runs
once an interval between fire times has ended, for that interval; with catchup off a
trigger timetable runs the latest fire time that has passed, a data-interval one the latest
interval that has ended.
"""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta

import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import given, settings
from hypothesis import strategies as st

from conveyor import DAG, Dataset, EmptyOperator
from conveyor.exceptions import DagDefinitionError
from conveyor.loading.serialize import serialize_dag
from conveyor.model.event_timetables import (
    AssetOrTimeSchedule,
    DatasetOrTimeSchedule,
    EventsTimetable,
)
from conveyor.model.schedules import DataInterval, Schedule, deserialize_schedule
from conveyor.model.timetables import (
    CronDataIntervalTimetable,
    CronTriggerTimetable,
    DeltaDataIntervalTimetable,
    DeltaTriggerTimetable,
    MultipleCronTriggerTimetable,
)
from conveyor.scheduler.due import due_runs
from conveyor.serialized import SerializedDag

H = timedelta(hours=1)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def runs(
    schedule: Schedule,
    *,
    now: datetime,
    catchup: bool,
    start: datetime | None = datetime(2024, 1, 1, tzinfo=UTC),
    end: datetime | None = None,
    last: DataInterval | None = None,
) -> tuple[list[tuple[datetime, datetime]], datetime | None]:
    """The runs due at ``now`` (their intervals) and the next run's time, as the scheduler
    walks a schedule: each run after the one before."""
    made: list[tuple[datetime, datetime]] = []
    while True:
        info = schedule.next_run(
            last=last, start_date=start, end_date=end, catchup=catchup, now=now
        )
        if info is None or info.run_after > now:
            return made, info.run_after if info else None
        assert info.logical_date == info.data_interval.start
        made.append((info.data_interval.start, info.data_interval.end))
        last = info.data_interval


def at(*moments: datetime) -> list[tuple[datetime, datetime]]:
    return [(m, m) for m in moments]


# -- CronTriggerTimetable ----------------------------------------------------------------------


def test_cron_trigger_with_catchup_runs_every_fire_time_since_start_date() -> None:
    daily = CronTriggerTimetable("0 1 * * *", timezone="UTC")
    made, following = runs(daily, now=utc(2024, 1, 3, 12), catchup=True)
    assert made == at(utc(2024, 1, 1, 1), utc(2024, 1, 2, 1), utc(2024, 1, 3, 1))
    assert following == utc(2024, 1, 4, 1)


def test_cron_trigger_without_catchup_runs_the_latest_fire_time_at_once() -> None:
    daily = CronTriggerTimetable("0 1 * * *", timezone="UTC")
    made, following = runs(daily, now=utc(2024, 1, 3, 12), catchup=False)
    assert made == at(utc(2024, 1, 3, 1))
    assert following == utc(2024, 1, 4, 1)


def test_cron_trigger_interval_ends_at_the_fire_time() -> None:
    daily = CronTriggerTimetable("0 1 * * *", timezone="UTC", interval=timedelta(days=1))
    made, _ = runs(daily, now=utc(2024, 1, 2, 12), catchup=True)
    assert made == [
        (utc(2023, 12, 31, 1), utc(2024, 1, 1, 1)),
        (utc(2024, 1, 1, 1), utc(2024, 1, 2, 1)),
    ]


def test_cron_trigger_in_a_time_zone_fires_at_local_time() -> None:
    local = CronTriggerTimetable("0 9 * * *", timezone="Europe/Amsterdam")
    made, _ = runs(local, now=utc(2024, 7, 2, 12), start=utc(2024, 7, 1), catchup=True)
    assert made == at(utc(2024, 7, 1, 7), utc(2024, 7, 2, 7))  # 09:00 CEST


def test_cron_trigger_stops_after_end_date_and_starts_at_start_date() -> None:
    hourly = CronTriggerTimetable("0 * * * *", timezone="UTC")
    made, following = runs(
        hourly,
        now=utc(2024, 1, 2),
        start=utc(2024, 1, 1, 10, 30),
        end=utc(2024, 1, 1, 13),
        catchup=True,
    )
    assert made == at(utc(2024, 1, 1, 11), utc(2024, 1, 1, 12), utc(2024, 1, 1, 13))
    assert following is None


def test_cron_trigger_without_start_date_runs_a_fire_time_that_just_passed() -> None:
    hourly = CronTriggerTimetable("0 * * * *", timezone="UTC")
    # Within a tenth of the hour (at least 5 minutes) after 10:00: 10:00 runs now.
    assert runs(hourly, now=utc(2024, 1, 1, 10, 4), start=None, catchup=True)[0] == at(
        utc(2024, 1, 1, 10)
    )
    # Later than that: it waits for 11:00, unless run_immediately says otherwise.
    assert runs(hourly, now=utc(2024, 1, 1, 10, 30), start=None, catchup=True) == (
        [],
        utc(2024, 1, 1, 11),
    )
    eager = CronTriggerTimetable("0 * * * *", timezone="UTC", run_immediately=True)
    assert runs(eager, now=utc(2024, 1, 1, 10, 30), start=None, catchup=True)[0] == at(
        utc(2024, 1, 1, 10)
    )


def test_a_trigger_manual_run_covers_the_interval_before_it() -> None:
    daily = CronTriggerTimetable("0 1 * * *", timezone="UTC", interval=timedelta(hours=2))
    assert daily.manual_interval(utc(2024, 1, 1, 9)) == DataInterval(
        utc(2024, 1, 1, 7), utc(2024, 1, 1, 9)
    )


# -- DeltaTriggerTimetable ---------------------------------------------------------------------


def test_delta_trigger_runs_every_delta_from_start_date() -> None:
    every_8h = DeltaTriggerTimetable(timedelta(hours=8))
    made, following = runs(every_8h, now=utc(2024, 1, 1, 20), catchup=True)
    assert made == at(utc(2024, 1, 1), utc(2024, 1, 1, 8), utc(2024, 1, 1, 16))
    assert following == utc(2024, 1, 2)


def test_delta_trigger_without_catchup_runs_now_then_every_delta() -> None:
    every_8h = DeltaTriggerTimetable(timedelta(hours=8), interval=H)
    made, following = runs(every_8h, now=utc(2024, 1, 3, 5, 30), catchup=False)
    assert made == [(utc(2024, 1, 3, 4, 30), utc(2024, 1, 3, 5, 30))]
    assert following == utc(2024, 1, 3, 13, 30)


# -- MultipleCronTriggerTimetable --------------------------------------------------------------


def test_multiple_cron_trigger_runs_at_each_expression_once_per_moment() -> None:
    both = MultipleCronTriggerTimetable("0 1 * * *", "0 */12 * * *", timezone="UTC")
    made, following = runs(both, now=utc(2024, 1, 1, 12), catchup=True)
    assert made == at(utc(2024, 1, 1), utc(2024, 1, 1, 1), utc(2024, 1, 1, 12))
    assert following == utc(2024, 1, 2)
    made, following = runs(both, now=utc(2024, 1, 3, 6), catchup=False)
    assert made == at(utc(2024, 1, 3, 1))
    assert following == utc(2024, 1, 3, 12)
    assert both.description == "0 1 * * *, 0 */12 * * *"


# -- CronDataIntervalTimetable -----------------------------------------------------------------


def test_cron_data_interval_runs_each_interval_once_it_ended() -> None:
    daily = CronDataIntervalTimetable("0 1 * * *", "UTC")
    made, following = runs(daily, now=utc(2024, 1, 3, 12), catchup=True)
    assert made == [
        (utc(2024, 1, 1, 1), utc(2024, 1, 2, 1)),
        (utc(2024, 1, 2, 1), utc(2024, 1, 3, 1)),
    ]
    assert following == utc(2024, 1, 4, 1)


def test_cron_data_interval_without_catchup_runs_the_latest_ended_interval() -> None:
    daily = CronDataIntervalTimetable("0 1 * * *", "UTC")
    made, following = runs(daily, now=utc(2024, 1, 5, 12), catchup=False)
    assert made == [(utc(2024, 1, 4, 1), utc(2024, 1, 5, 1))]
    assert following == utc(2024, 1, 6, 1)
    # Right on a fire time: the interval that ends now.
    made, _ = runs(daily, now=utc(2024, 1, 5, 1), catchup=False)
    assert made == [(utc(2024, 1, 4, 1), utc(2024, 1, 5, 1))]


def test_cron_data_interval_manual_run_gets_the_last_complete_interval() -> None:
    daily = CronDataIntervalTimetable("0 0 * * *", "UTC")
    assert daily.manual_interval(utc(2024, 1, 25, 1)) == DataInterval(
        utc(2024, 1, 24), utc(2024, 1, 25)
    )


# -- DeltaDataIntervalTimetable ----------------------------------------------------------------


def test_delta_data_interval_counts_from_start_date_with_catchup() -> None:
    every_6h = DeltaDataIntervalTimetable(timedelta(hours=6))
    made, following = runs(
        every_6h, now=utc(2024, 1, 1, 13), start=utc(2024, 1, 1, 1), catchup=True
    )
    assert made == [
        (utc(2024, 1, 1, 1), utc(2024, 1, 1, 7)),
        (utc(2024, 1, 1, 7), utc(2024, 1, 1, 13)),
    ]
    assert following == utc(2024, 1, 1, 19)


def test_delta_data_interval_without_catchup_lines_up_with_the_epoch() -> None:
    every_6h = DeltaDataIntervalTimetable(timedelta(hours=6))
    made, following = runs(
        every_6h, now=utc(2024, 1, 3, 13), start=utc(2024, 1, 1, 1), catchup=False
    )
    assert made == [(utc(2024, 1, 3, 6), utc(2024, 1, 3, 12))]
    assert following == utc(2024, 1, 3, 18)
    assert every_6h.manual_interval(utc(2024, 1, 3, 13)) == DataInterval(
        utc(2024, 1, 3, 7), utc(2024, 1, 3, 13)
    )


def test_delta_timetables_take_calendar_months() -> None:
    monthly = DeltaDataIntervalTimetable(relativedelta(months=1))
    made, following = runs(monthly, now=utc(2024, 4, 15), start=utc(2024, 1, 31), catchup=True)
    # Each month from the one before, as dateutil counts: Jan 31, Feb 29, Mar 29.
    assert made == [(utc(2024, 1, 31), utc(2024, 2, 29)), (utc(2024, 2, 29), utc(2024, 3, 29))]
    assert following == utc(2024, 4, 29)
    # Without catchup: the latest month that ended, on the same steps from start_date.
    made, _ = runs(monthly, now=utc(2024, 6, 15), start=utc(2024, 1, 31), catchup=False)
    assert made == [(utc(2024, 4, 29), utc(2024, 5, 29))]
    trigger = CronTriggerTimetable("0 0 1 * *", timezone="UTC", interval=relativedelta(months=1))
    assert runs(trigger, now=utc(2024, 3, 2), start=utc(2024, 2, 15), catchup=True)[0] == [
        (utc(2024, 2, 1), utc(2024, 3, 1))
    ]
    with pytest.raises(DagDefinitionError, match="years, months, days, hours"):
        DeltaTriggerTimetable(relativedelta(day=1))


# -- EventsTimetable ---------------------------------------------------------------------------

EVENTS = [utc(2024, 3, 9, 15), utc(2024, 1, 6, 15), utc(2024, 2, 3, 20), utc(2024, 1, 6, 15)]


def test_events_run_at_each_event_in_order_once() -> None:
    matches = EventsTimetable(EVENTS)
    made, following = runs(matches, now=utc(2024, 2, 10), catchup=True)
    assert made == at(utc(2024, 1, 6, 15), utc(2024, 2, 3, 20))
    assert following == utc(2024, 3, 9, 15)
    assert runs(matches, now=utc(2024, 4, 1), catchup=True)[1] is None
    assert matches.description == "3 events"
    assert (
        matches.details
        == "3 events between 2024-01-06T15:00:00+00:00 and 2024-03-09T15:00:00+00:00"
    )


def test_events_without_catchup_skip_events_already_past() -> None:
    matches = EventsTimetable(EVENTS, description="Home matches")
    made, following = runs(matches, now=utc(2024, 2, 10), catchup=False)
    assert made == []
    assert following == utc(2024, 3, 9, 15)
    assert matches.description == "Home matches"


def test_events_manual_runs_restricted_to_events_take_the_latest_event() -> None:
    free = EventsTimetable(EVENTS)
    assert free.manual_interval(utc(2024, 2, 10)) == DataInterval(
        utc(2024, 2, 10), utc(2024, 2, 10)
    )
    bound = EventsTimetable(EVENTS, restrict_to_events=True)
    assert bound.manual_interval(utc(2024, 2, 10)) == DataInterval(
        utc(2024, 2, 3, 20), utc(2024, 2, 3, 20)
    )
    assert bound.manual_interval(utc(2023, 1, 1)) == DataInterval(
        utc(2024, 1, 6, 15), utc(2024, 1, 6, 15)
    )


# -- AssetOrTimeSchedule -----------------------------------------------------------------------


def test_asset_or_time_runs_on_its_timetable_and_is_a_dataset_schedule() -> None:
    both = AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("0 1 * * *", timezone="UTC"),
        assets=[Dataset("s3://shop/orders")],
    )
    assert both.uris == ["s3://shop/orders"]
    assert both.description == "on dataset updates: s3://shop/orders; or 0 1 * * *"
    made, following = runs(both, now=utc(2024, 1, 2, 12), catchup=True)
    assert made == at(utc(2024, 1, 1, 1), utc(2024, 1, 2, 1))
    assert following == utc(2024, 1, 3, 1)
    with pytest.raises(DagDefinitionError, match="time-based"):
        AssetOrTimeSchedule(timetable=both, assets=[Dataset("s3://x")])
    # Airflow 2.9's spelling, one dataset given alone.
    older = DatasetOrTimeSchedule(
        timetable=CronTriggerTimetable("0 1 * * *", timezone="UTC"),
        datasets=Dataset("s3://shop/orders"),
    )
    assert older.serialize() == both.serialize()


# -- through the stored DAG --------------------------------------------------------------------

ALL: list[Schedule] = [
    CronTriggerTimetable("@daily", timezone="Europe/Amsterdam", interval=H, run_immediately=H),
    DeltaTriggerTimetable(timedelta(minutes=90), interval=timedelta(seconds=1.5)),
    MultipleCronTriggerTimetable("0 1 * * *", "0 2 * * 1", timezone="UTC", run_immediately=True),
    CronDataIntervalTimetable("*/15 * * * *", "Asia/Tokyo"),
    DeltaDataIntervalTimetable(timedelta(days=2)),
    DeltaTriggerTimetable(relativedelta(months=1, days=2), interval=relativedelta(years=1)),
    EventsTimetable(EVENTS, restrict_to_events=True, description="matches"),
    AssetOrTimeSchedule(
        timetable=CronDataIntervalTimetable("0 0 * * *", "UTC"), assets=[Dataset("s3://a")]
    ),
]


@pytest.mark.parametrize("schedule", ALL, ids=lambda s: type(s).__name__)
def test_each_timetable_survives_the_stored_dag_and_keeps_its_runs(schedule: Schedule) -> None:
    with DAG("tt", schedule=schedule, start_date=datetime(2024, 1, 1), catchup=True) as d:
        EmptyOperator(task_id="t")
    stored = SerializedDag.from_dict(json.loads(json.dumps(serialize_dag(d))))
    assert stored.schedule == schedule
    assert stored.raw["schedule_description"] == schedule.description
    now = utc(2024, 1, 4)
    assert runs(stored.schedule, now=now, catchup=True) == runs(schedule, now=now, catchup=True)


def test_airflow_presets_are_their_cron_expressions() -> None:
    assert CronTriggerTimetable("@quarterly", timezone="UTC").description == "0 0 1 */3 *"
    assert CronDataIntervalTimetable("@daily", "UTC").description == "0 0 * * *"


def test_a_bad_argument_is_refused_with_what_to_write() -> None:
    with pytest.raises(DagDefinitionError, match="positive timedelta"):
        DeltaTriggerTimetable(timedelta(0))
    with pytest.raises(DagDefinitionError, match="invalid cron expression"):
        CronTriggerTimetable("0 0 * *", timezone="UTC")
    with pytest.raises(DagDefinitionError, match="at least one cron"):
        MultipleCronTriggerTimetable(timezone="UTC")


# -- the scheduler keeps what a timetable decided ------------------------------------------------


def _stored(schedule: Schedule, catchup: bool) -> SerializedDag:
    with DAG("tt", schedule=schedule, start_date=datetime(2024, 1, 1), catchup=catchup) as d:
        EmptyOperator(task_id="t")
    return SerializedDag.from_dict(json.loads(json.dumps(serialize_dag(d))))


def test_a_run_decided_before_it_came_due_is_made_however_late_the_loop_comes() -> None:
    # 10:00's run was decided at 09:xx; the loop comes round at 10:00:02.
    every_hour = _stored(DeltaTriggerTimetable(H), catchup=False)
    last = DataInterval(utc(2024, 1, 1, 9), utc(2024, 1, 1, 9))
    late = utc(2024, 1, 1, 10, 0, 2)
    due, following = due_runs(every_hour, last, late, limit=16, pending=utc(2024, 1, 1, 10))
    assert [info.run_after for info in due] == [utc(2024, 1, 1, 10)]
    assert following == utc(2024, 1, 1, 11)
    # Asked as of now instead, the run would drift to the loop's time.
    due, _ = due_runs(every_hour, last, late, limit=16)
    assert [info.run_after for info in due] == [late]


def test_after_a_pause_the_promised_run_comes_then_the_latest() -> None:
    daily = _stored(CronTriggerTimetable("0 1 * * *", timezone="UTC"), catchup=False)
    last = DataInterval(utc(2024, 1, 1, 1), utc(2024, 1, 1, 1))
    due, following = due_runs(
        daily, last, utc(2024, 1, 5, 12), limit=16, pending=utc(2024, 1, 2, 1)
    )
    assert [info.run_after for info in due] == [utc(2024, 1, 2, 1), utc(2024, 1, 5, 1)]
    assert following == utc(2024, 1, 6, 1)


# -- properties --------------------------------------------------------------------------------

CRONS = ["0 * * * *", "*/20 * * * *", "30 2 * * *", "0 9 * * 1-5", "0 0 */5 * *"]
moments = st.datetimes(min_value=datetime(2023, 1, 1), max_value=datetime(2025, 1, 1)).map(
    lambda d: d.replace(second=0, microsecond=0, tzinfo=UTC)
)


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(CRONS), moments)
def test_cron_data_intervals_are_back_to_back_from_start_date(cron: str, start: datetime) -> None:
    schedule = CronDataIntervalTimetable(cron, "Europe/Amsterdam")
    now = start + timedelta(days=12)
    made, following = runs(schedule, now=now, start=start, catchup=True)
    assert made, "twelve days hold an interval of every expression here"
    for (s1, e1), (s2, _e2) in itertools.pairwise(made):
        assert s1 < e1 == s2
    assert made[0][0] >= start and made[-1][1] <= now
    assert following is not None and following > now


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(CRONS), moments, st.integers(0, 3))
def test_cron_trigger_runs_are_the_fire_times_with_the_interval_before(
    cron: str, start: datetime, hours: int
) -> None:
    plain = CronDataIntervalTimetable(cron, "UTC")
    trigger = CronTriggerTimetable(cron, timezone="UTC", interval=timedelta(hours=hours))
    now = start + timedelta(days=12)
    intervals = runs(plain, now=now, start=start, catchup=True)[0]
    fired = runs(trigger, now=now, start=start, catchup=True)[0]
    # The fire times since start_date: each data interval's start and the last one's end.
    assert [e for _, e in fired] == [s for s, _ in intervals] + [intervals[-1][1]]
    assert all(e - s == timedelta(hours=hours) for s, e in fired)


def test_schedule_from_a_dag_file_keyword_any() -> None:
    # The DAG accepts a timetable where a schedule goes, and keeps it as it is.
    daily = CronTriggerTimetable("0 1 * * *", timezone="UTC")
    d = DAG("kw", schedule=daily, start_date=datetime(2024, 1, 1))
    assert d.schedule is daily
    assert deserialize_schedule(daily.serialize()) == daily


@pytest.mark.parametrize("fmt", ["yaml", "python"])
def test_exporting_a_dag_on_a_timetable_says_it_cannot(fmt: str) -> None:
    from conveyor.loading.yaml.errors import ExportError
    from conveyor.loading.yaml.export import export_dag

    with DAG("tt", schedule=CronTriggerTimetable("0 1 * * *", timezone="UTC")) as d:
        EmptyOperator(task_id="t")
    with pytest.raises(ExportError, match="cannot express the timetable"):
        export_dag(d, fmt)  # type: ignore[arg-type]


def test_clock_changes_follow_airflows_rule() -> None:
    # 02:30 does not exist in Amsterdam on 2024-03-31: Airflow fires at 03:30 CEST.
    nightly = CronTriggerTimetable("30 2 * * *", timezone="Europe/Amsterdam")
    made, _ = runs(nightly, now=utc(2024, 4, 1, 12), start=utc(2024, 3, 30), catchup=True)
    assert made == at(utc(2024, 3, 30, 1, 30), utc(2024, 3, 31, 1, 30), utc(2024, 4, 1, 0, 30))
    # 02:30 happens twice on 2024-10-27: a cron naming its hour fires in the second (CET).
    made, _ = runs(nightly, now=utc(2024, 10, 28, 12), start=utc(2024, 10, 26), catchup=True)
    assert made == at(utc(2024, 10, 26, 0, 30), utc(2024, 10, 27, 1, 30), utc(2024, 10, 28, 1, 30))
    # One that fires every hour fires in both.
    hourly = CronTriggerTimetable("30 * * * *", timezone="Europe/Amsterdam")
    made, _ = runs(hourly, now=utc(2024, 10, 27, 2), start=utc(2024, 10, 26, 23, 45), catchup=True)
    assert made == at(utc(2024, 10, 27, 0, 30), utc(2024, 10, 27, 1, 30))
