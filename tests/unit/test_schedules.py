"""Schedules decide which runs exist; a mistake here silently skips or duplicates user data.

These tests pin the interval semantics (a run covers [start, end) and starts after end),
the catchup and end_date rules, DST behaviour and the error messages DAG authors see.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conveyor.exceptions import DagDefinitionError
from conveyor.model import schedules
from conveyor.model.schedules import (
    CronSchedule,
    DataInterval,
    DeltaSchedule,
    NoSchedule,
    OnceSchedule,
    RunInfo,
    Schedule,
    deserialize_schedule,
    schedule_from_arg,
)

AMS = ZoneInfo("Europe/Amsterdam")
NY = ZoneInfo("America/New_York")
FAR_FUTURE = datetime(2200, 1, 1, tzinfo=UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def first(schedule: Schedule, start: datetime) -> RunInfo:
    """The first run after start_date, with nothing ruled out by catchup or the clock."""
    info = schedule.next_run(
        last=None, start_date=start, end_date=None, catchup=True, now=FAR_FUTURE
    )
    assert info is not None
    return info


def intervals(
    schedule: Schedule,
    start: datetime,
    count: int,
) -> list[DataInterval]:
    """The first `count` intervals, as a catching-up scheduler would create them."""
    result: list[DataInterval] = []
    last = None
    for _ in range(count):
        info = schedule.next_run(
            last=last, start_date=start, end_date=None, catchup=True, now=FAR_FUTURE
        )
        assert info is not None
        result.append(info.data_interval)
        last = info.data_interval
    return result


def create_runs(
    schedule: Schedule,
    *,
    start: datetime,
    now: datetime,
    catchup: bool,
    end_date: datetime | None = None,
) -> list[RunInfo]:
    """What the scheduler does: create runs until the next one is not due yet."""
    runs: list[RunInfo] = []
    last = None
    while True:
        info = schedule.next_run(
            last=last, start_date=start, end_date=end_date, catchup=catchup, now=now
        )
        if info is None or info.run_after > now:
            return runs
        runs.append(info)
        last = info.data_interval
        assert len(runs) < 1000, "runaway schedule"


# -- presets -------------------------------------------------------------------------------

# 2024-01-10 is a Wednesday; the first fire time of each preset after 13:17 that day.
START = utc(2024, 1, 10, 13, 17)


@pytest.mark.parametrize(
    ("preset", "expression", "interval"),
    [
        ("@hourly", "0 * * * *", (utc(2024, 1, 10, 14), utc(2024, 1, 10, 15))),
        ("@daily", "0 0 * * *", (utc(2024, 1, 11), utc(2024, 1, 12))),
        ("@midnight", "0 0 * * *", (utc(2024, 1, 11), utc(2024, 1, 12))),
        ("@weekly", "0 0 * * 0", (utc(2024, 1, 14), utc(2024, 1, 21))),
        ("@monthly", "0 0 1 * *", (utc(2024, 2, 1), utc(2024, 3, 1))),
        ("@yearly", "0 0 1 1 *", (utc(2025, 1, 1), utc(2026, 1, 1))),
        ("@annually", "0 0 1 1 *", (utc(2025, 1, 1), utc(2026, 1, 1))),
    ],
)
def test_cron_presets(preset: str, expression: str, interval: tuple[datetime, datetime]) -> None:
    schedule = schedule_from_arg(preset)
    assert isinstance(schedule, CronSchedule)
    assert schedule.expression == expression
    assert schedule.description == preset  # shown to users as they wrote it
    info = first(schedule, START)
    assert info.data_interval == DataInterval(*interval)
    assert info.logical_date == interval[0]
    assert info.run_after == interval[1]


def test_once_preset_runs_once_at_start_date() -> None:
    schedule = schedule_from_arg("@once")
    assert isinstance(schedule, OnceSchedule)
    assert schedule.description == "@once"
    info = schedule.next_run(
        last=None, start_date=START, end_date=None, catchup=False, now=utc(2030, 1, 1)
    )
    # Still created when start_date is long past, and only once.
    assert info == RunInfo(START, DataInterval(START, START), START)
    after = schedule.next_run(
        last=info.data_interval, start_date=START, end_date=None, catchup=False, now=FAR_FUTURE
    )
    assert after is None


def test_once_needs_a_start_date_within_end_date() -> None:
    once = OnceSchedule()
    assert once.next_run(last=None, start_date=None, end_date=None, catchup=True, now=START) is None
    assert (
        once.next_run(
            last=None, start_date=START, end_date=START - timedelta(1), catchup=True, now=START
        )
        is None
    )


def test_preset_case_is_ignored_but_description_kept() -> None:
    schedule = schedule_from_arg("@Daily")
    assert isinstance(schedule, CronSchedule)
    assert schedule.expression == "0 0 * * *"
    assert schedule.description == "@Daily"


# -- cron ----------------------------------------------------------------------------------


def test_cron_in_utc_starts_at_first_fire_time_at_or_after_start_date() -> None:
    schedule = schedule_from_arg("*/5 * * * *")
    assert schedule.description == "*/5 * * * *"
    # Exactly on a fire time: that fire time opens the first interval.
    on_time = first(schedule, utc(2024, 5, 1, 10, 5))
    assert on_time.data_interval == DataInterval(utc(2024, 5, 1, 10, 5), utc(2024, 5, 1, 10, 10))
    # A few seconds later: the next one does.
    late = first(schedule, datetime(2024, 5, 1, 10, 5, 30, 1, tzinfo=UTC))
    assert late.data_interval == DataInterval(utc(2024, 5, 1, 10, 10), utc(2024, 5, 1, 10, 15))


def test_cron_next_interval_follows_last() -> None:
    schedule = schedule_from_arg("0 6 * * *")
    last = DataInterval(utc(2024, 5, 1, 6), utc(2024, 5, 2, 6))
    info = schedule.next_run(
        last=last, start_date=utc(2024, 1, 1), end_date=None, catchup=True, now=FAR_FUTURE
    )
    assert info == RunInfo(
        utc(2024, 5, 2, 6), DataInterval(utc(2024, 5, 2, 6), utc(2024, 5, 3, 6)), utc(2024, 5, 3, 6)
    )


def test_cron_in_non_utc_zone_fires_at_local_wall_clock() -> None:
    schedule = schedule_from_arg("0 9 * * *", "America/New_York")
    assert schedule.timezone == NY
    # Naive start_date is read in the schedule's zone; results come back in UTC.
    winter = first(schedule, datetime(2024, 1, 10))
    assert winter.data_interval == DataInterval(utc(2024, 1, 10, 14), utc(2024, 1, 11, 14))
    assert winter.logical_date.tzinfo is UTC
    summer = first(schedule, datetime(2024, 7, 10))
    assert summer.data_interval == DataInterval(utc(2024, 7, 10, 13), utc(2024, 7, 11, 13))


def test_naive_now_is_read_in_schedule_zone() -> None:
    schedule = CronSchedule("@daily", "Europe/Amsterdam")
    start = datetime(2024, 6, 1, tzinfo=AMS)
    # 00:30 local on June 3rd is 22:30 UTC on June 2nd: the June 2nd interval is complete.
    info = schedule.next_run(
        last=None, start_date=start, end_date=None, catchup=False, now=datetime(2024, 6, 3, 0, 30)
    )
    assert info is not None
    assert info.logical_date == datetime(2024, 6, 2, tzinfo=AMS)
    assert info.run_after == utc(2024, 6, 2, 22)


def test_tzinfo_objects_are_normalised_to_zone_names() -> None:
    assert CronSchedule("@daily", UTC).timezone == ZoneInfo("UTC")
    assert CronSchedule("@daily", AMS).serialize()["timezone"] == "Europe/Amsterdam"
    # A whole-hour fixed offset becomes the matching Etc zone (whose sign is inverted).
    plus_two = CronSchedule("0 12 * * *", timezone(timedelta(hours=2)))
    assert first(plus_two, utc(2024, 1, 1)).logical_date == utc(2024, 1, 1, 10)


# -- catchup -------------------------------------------------------------------------------

NOW = utc(2024, 6, 15, 12)
FIVE_DAYS_AGO = utc(2024, 6, 10)


def test_daily_with_catchup_creates_every_missed_run() -> None:
    runs = create_runs(schedule_from_arg("@daily"), start=FIVE_DAYS_AGO, now=NOW, catchup=True)
    assert [run.logical_date for run in runs] == [utc(2024, 6, day) for day in range(10, 15)]
    assert all(run.run_after <= NOW for run in runs)


def test_daily_without_catchup_creates_only_the_latest_complete_run() -> None:
    runs = create_runs(schedule_from_arg("@daily"), start=FIVE_DAYS_AGO, now=NOW, catchup=False)
    assert len(runs) == 1
    assert runs[0].data_interval == DataInterval(utc(2024, 6, 14), utc(2024, 6, 15))


def test_without_catchup_skips_ahead_from_an_old_last_run() -> None:
    schedule = schedule_from_arg("@hourly")
    last = DataInterval(utc(2024, 6, 1, 3), utc(2024, 6, 1, 4))
    info = schedule.next_run(
        last=last, start_date=utc(2024, 1, 1), end_date=None, catchup=False, now=NOW
    )
    assert info is not None
    assert info.data_interval == DataInterval(utc(2024, 6, 15, 11), utc(2024, 6, 15, 12))
    # With catchup the very next hour comes, however old.
    caught = schedule.next_run(
        last=last, start_date=utc(2024, 1, 1), end_date=None, catchup=True, now=NOW
    )
    assert caught is not None
    assert caught.logical_date == utc(2024, 6, 1, 4)


def test_without_catchup_never_goes_back_before_the_interval_after_last() -> None:
    schedule = schedule_from_arg("@daily")
    last = DataInterval(utc(2024, 6, 14), utc(2024, 6, 15))
    info = schedule.next_run(
        last=last, start_date=FIVE_DAYS_AGO, end_date=None, catchup=False, now=NOW
    )
    assert info is not None
    assert info.logical_date == utc(2024, 6, 15)
    assert info.run_after > NOW  # not due yet: the caller waits


def test_without_catchup_and_nothing_complete_returns_first_future_run() -> None:
    schedule = schedule_from_arg("@daily")
    # start_date in the future, and start_date today: neither has a complete interval yet.
    for start in (utc(2024, 7, 1, 8), utc(2024, 6, 15)):
        info = schedule.next_run(last=None, start_date=start, end_date=None, catchup=False, now=NOW)
        assert info is not None
        assert info.run_after > NOW
        assert info == first(schedule, start)


def test_boundary_now_equal_to_interval_end_counts_as_complete() -> None:
    runs = create_runs(
        schedule_from_arg("@daily"), start=FIVE_DAYS_AGO, now=utc(2024, 6, 15), catchup=False
    )
    assert [run.logical_date for run in runs] == [utc(2024, 6, 14)]


def test_no_start_date_means_no_scheduled_runs() -> None:
    assert (
        schedule_from_arg("@daily").next_run(
            last=None, start_date=None, end_date=None, catchup=True, now=NOW
        )
        is None
    )


# -- end_date ------------------------------------------------------------------------------


def test_end_date_stops_runs() -> None:
    schedule = schedule_from_arg("@daily")
    runs = create_runs(
        schedule, start=utc(2024, 6, 1), now=NOW, catchup=True, end_date=utc(2024, 6, 3, 12)
    )
    # The interval starting on June 3rd still begins before end_date, so it runs.
    assert [run.logical_date for run in runs] == [utc(2024, 6, 1), utc(2024, 6, 2), utc(2024, 6, 3)]
    on_fire_time = create_runs(
        schedule, start=utc(2024, 6, 1), now=NOW, catchup=True, end_date=utc(2024, 6, 3)
    )
    assert len(on_fire_time) == 3


def test_end_date_without_catchup_still_runs_the_final_interval() -> None:
    schedule = schedule_from_arg("@daily")
    runs = create_runs(
        schedule, start=utc(2024, 6, 1), now=NOW, catchup=False, end_date=utc(2024, 6, 3, 12)
    )
    assert [run.logical_date for run in runs] == [utc(2024, 6, 3)]


def test_end_date_before_start_date_gives_nothing() -> None:
    info = schedule_from_arg("@daily").next_run(
        last=None, start_date=utc(2024, 6, 1), end_date=utc(2024, 5, 1), catchup=False, now=NOW
    )
    assert info is None


# -- timedelta -----------------------------------------------------------------------------


def test_timedelta_intervals_are_counted_from_start_date() -> None:
    schedule = schedule_from_arg(timedelta(hours=6))
    assert isinstance(schedule, DeltaSchedule)
    assert schedule.description == "every 6:00:00"
    start = utc(2024, 1, 1, 3)
    got = intervals(schedule, start, 3)
    assert got == [
        DataInterval(utc(2024, 1, 1, 3), utc(2024, 1, 1, 9)),
        DataInterval(utc(2024, 1, 1, 9), utc(2024, 1, 1, 15)),
        DataInterval(utc(2024, 1, 1, 15), utc(2024, 1, 1, 21)),
    ]


def test_timedelta_without_catchup_skips_to_latest_complete_grid_interval() -> None:
    schedule = DeltaSchedule(timedelta(hours=6))
    assert schedule.description == "every 6:00:00"
    info = schedule.next_run(
        last=None,
        start_date=utc(2024, 1, 1, 3),
        end_date=None,
        catchup=False,
        now=utc(2024, 1, 3, 10),
    )
    assert info is not None
    # Aligned on start_date + k*6h, not on now - 6h.
    assert info.data_interval == DataInterval(utc(2024, 1, 3, 3), utc(2024, 1, 3, 9))
    counted = create_runs(schedule, start=utc(2024, 1, 1, 3), now=utc(2024, 1, 3, 10), catchup=True)
    assert len(counted) == 9


def test_timedelta_description_matches_str() -> None:
    assert DeltaSchedule(timedelta(minutes=30)).description == "every 0:30:00"


# -- manual only ---------------------------------------------------------------------------


def test_manual_only_never_schedules() -> None:
    schedule = schedule_from_arg(None)
    assert isinstance(schedule, NoSchedule)
    assert schedule.description == "None"
    info = schedule.next_run(
        last=None, start_date=utc(2020, 1, 1), end_date=None, catchup=True, now=NOW
    )
    assert info is None


def test_manual_interval_is_the_instant_in_utc() -> None:
    schedule = schedule_from_arg(None, "Europe/Amsterdam")
    interval = schedule.manual_interval(datetime(2024, 6, 1, 12))  # naive: Amsterdam time
    assert interval == DataInterval(utc(2024, 6, 1, 10), utc(2024, 6, 1, 10))
    assert interval.start.tzinfo is UTC


def test_a_manual_run_of_an_interval_schedule_covers_the_last_whole_interval() -> None:
    """A cron string or a timedelta means data intervals here: a manual run's interval is
    the last whole one by its logical date, as Airflow's data-interval timetables infer it
    (Airflow 2's meaning of ``schedule_interval="@daily"``)."""
    daily = schedule_from_arg("@daily")
    assert daily.manual_interval(utc(2024, 6, 1, 7, 3)) == DataInterval(
        utc(2024, 5, 31), utc(2024, 6, 1)
    )
    # On a fire time: the interval that ends there.
    assert daily.manual_interval(utc(2024, 6, 1)) == DataInterval(utc(2024, 5, 31), utc(2024, 6, 1))
    # In the schedule's zone: Amsterdam's midnights, in UTC.
    local = schedule_from_arg("0 0 * * *", "Europe/Amsterdam")
    assert local.manual_interval(utc(2024, 6, 1, 12)) == DataInterval(
        utc(2024, 5, 30, 22), utc(2024, 5, 31, 22)
    )
    hourly = schedule_from_arg(timedelta(hours=6))
    assert hourly.manual_interval(utc(2024, 6, 1, 7, 3)) == DataInterval(
        utc(2024, 6, 1, 1, 3), utc(2024, 6, 1, 7, 3)
    )


def test_schedule_objects_pass_through() -> None:
    schedule = CronSchedule("0 1 * * *", "Europe/Amsterdam")
    assert schedule_from_arg(schedule, "UTC") is schedule


# -- DST -----------------------------------------------------------------------------------


def test_daily_midnight_in_amsterdam_spring_forward_is_23_hours() -> None:
    schedule = CronSchedule("@daily", "Europe/Amsterdam")
    info = first(schedule, datetime(2024, 3, 31, tzinfo=AMS))
    assert info.data_interval == DataInterval(utc(2024, 3, 30, 23), utc(2024, 3, 31, 22))
    assert info.run_after - info.logical_date == timedelta(hours=23)


def test_daily_midnight_in_amsterdam_fall_back_is_25_hours() -> None:
    schedule = CronSchedule("@daily", "Europe/Amsterdam")
    info = first(schedule, datetime(2024, 10, 27, tzinfo=AMS))
    assert info.data_interval == DataInterval(utc(2024, 10, 26, 22), utc(2024, 10, 27, 23))
    assert info.run_after - info.logical_date == timedelta(hours=25)


def test_time_in_the_spring_forward_gap_neither_crashes_nor_duplicates() -> None:
    schedule = CronSchedule("30 2 * * *", "Europe/Amsterdam")
    got = intervals(schedule, datetime(2024, 3, 29, tzinfo=AMS), 5)
    starts = [interval.start for interval in got]
    assert starts == sorted(set(starts))  # strictly increasing, no duplicates
    assert all(interval.end > interval.start for interval in got)
    # 02:30 does not exist on March 31st; croniter fires at the first minute that does.
    assert starts[2].astimezone(AMS) == datetime(2024, 3, 31, 3, 0, tzinfo=AMS)
    assert [interval.start.astimezone(AMS).day for interval in got] == [29, 30, 31, 1, 2]


def test_time_in_the_repeated_fall_back_hour_fires_once() -> None:
    schedule = CronSchedule("30 2 * * *", "Europe/Amsterdam")
    got = intervals(schedule, datetime(2024, 10, 26, tzinfo=AMS), 3)
    # 02:30 happens twice on October 27th; a daily job still runs once that day.
    assert [interval.start.astimezone(AMS).day for interval in got] == [26, 27, 28]
    assert got[1].end - got[1].start == timedelta(hours=25)


def test_hourly_cron_runs_both_repeated_hours_on_fall_back() -> None:
    schedule = CronSchedule("@hourly", "Europe/Amsterdam")
    got = intervals(schedule, datetime(2024, 10, 27, tzinfo=AMS), 30)
    on_the_day = [i for i in got if i.start.astimezone(AMS).date().isoformat() == "2024-10-27"]
    assert len(on_the_day) == 25  # the 25-hour day has 25 hourly runs
    assert all(i.end - i.start == timedelta(hours=1) for i in got)


# -- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "61 * * * *",
            "invalid cron expression '61 * * * *': [61 * * * *] is not acceptable, out of range;"
            " expected 5 fields: minute hour day-of-month month day-of-week",
        ),
        (
            "* * *",
            "invalid cron expression '* * *': expected 5 fields "
            "(minute hour day-of-month month day-of-week), got 3",
        ),
        (
            "0 0 * * * 5",
            "invalid cron expression '0 0 * * * 5': expected 5 fields "
            "(minute hour day-of-month month day-of-week), got 6",
        ),
        (
            "0 0 31 2 *",
            "invalid cron expression '0 0 31 2 *': it never fires "
            "(no date matches its day and month fields)",
        ),
        (
            "@fortnightly",
            "invalid schedule preset '@fortnightly': expected one of @once, @hourly, @daily, "
            "@midnight, @weekly, @monthly, @yearly, @annually",
        ),
        (
            timedelta(0),
            "invalid schedule timedelta 0:00:00: expected a positive duration "
            "such as timedelta(hours=1)",
        ),
        (
            timedelta(hours=-1),
            "invalid schedule timedelta -1 day, 23:00:00: expected a positive duration "
            "such as timedelta(hours=1)",
        ),
        (
            42,
            "invalid schedule 42: expected a cron expression, a preset (@once, @hourly, @daily, "
            "@midnight, @weekly, @monthly, @yearly, @annually), a timedelta, None, a Schedule "
            "or a timetable",
        ),
    ],
)
def test_invalid_schedules_raise_with_exact_message(value: object, message: str) -> None:
    with pytest.raises(DagDefinitionError) as info:
        schedule_from_arg(value)  # type: ignore[arg-type]
    assert str(info.value) == message


def test_unknown_time_zone_is_rejected() -> None:
    with pytest.raises(DagDefinitionError) as info:
        schedule_from_arg("@daily", "Mars/Olympus")
    assert str(info.value) == (
        "unknown time zone 'Mars/Olympus': expected an IANA name such as 'Europe/Amsterdam'"
    )


def test_once_is_not_a_cron_expression() -> None:
    with pytest.raises(DagDefinitionError, match="'@once' is not a cron expression"):
        CronSchedule("@once")


# -- serialization -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schedule", "data"),
    [
        (
            CronSchedule("*/5 * * * *", "Europe/Berlin"),
            {"type": "cron", "expression": "*/5 * * * *", "timezone": "Europe/Berlin"},
        ),
        (CronSchedule("@weekly"), {"type": "cron", "expression": "@weekly", "timezone": "UTC"}),
        (
            DeltaSchedule(timedelta(minutes=30), "Asia/Tokyo"),
            {"type": "timedelta", "seconds": 1800, "timezone": "Asia/Tokyo"},
        ),
        (
            DeltaSchedule(timedelta(seconds=1.5)),
            {"type": "timedelta", "seconds": 1.5, "timezone": "UTC"},
        ),
        (OnceSchedule("Europe/Amsterdam"), {"type": "once", "timezone": "Europe/Amsterdam"}),
        (NoSchedule(), {"type": "none", "timezone": "UTC"}),
    ],
)
def test_serialize_round_trip(schedule: Schedule, data: dict[str, object]) -> None:
    assert schedule.serialize() == data
    back = deserialize_schedule(json.loads(json.dumps(schedule.serialize())))
    assert type(back) is type(schedule)
    assert back == schedule
    assert back.description == schedule.description
    assert back.timezone == schedule.timezone
    start = datetime(2024, 3, 30, 17, 45, tzinfo=AMS)
    for catchup in (True, False):
        kwargs = {"last": None, "start_date": start, "end_date": None, "catchup": catchup}
        assert back.next_run(**kwargs, now=NOW) == schedule.next_run(**kwargs, now=NOW)


def test_deserialize_rejects_unknown_type() -> None:
    with pytest.raises(DagDefinitionError, match="cannot read schedule"):
        deserialize_schedule({"type": "sometimes"})


# -- properties ----------------------------------------------------------------------------

CRONISH = [
    "@hourly",
    "@daily",
    "@weekly",
    "@monthly",
    "@yearly",
    "*/20 * * * *",
    "30 2 * * *",
    "15 1-3 * * 1-5",
]
ZONES = ["UTC", "Europe/Amsterdam", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu"]


@settings(max_examples=60, deadline=None, database=None)
@given(
    expression=st.sampled_from(CRONISH),
    zone=st.sampled_from(ZONES),
    start=st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1)),
)
def test_successive_intervals_are_contiguous_and_increasing(
    expression: str, zone: str, start: datetime
) -> None:
    schedule = schedule_from_arg(expression, zone)
    got = intervals(schedule, start, 6)
    aware_start = start.replace(tzinfo=ZoneInfo(zone))
    assert got[0].start >= aware_start
    for interval in got:
        assert interval.start < interval.end
    for previous, following in pairwise(got):
        assert following.start == previous.end


def test_a_cron_schedule_that_kept_its_steps_answers_as_a_new_one() -> None:
    """Steps are kept between calls (and forgotten past a bound); the answers must be the
    ones a schedule that never ran would give, around a DST change included."""
    used = CronSchedule("30 1 * * *", timezone="Europe/Berlin")
    start = datetime(2024, 3, 20, tzinfo=UTC)
    moments = [start + timedelta(hours=7 * i) for i in range(400)]  # past the bound kept
    for _ in range(2):
        for moment in moments:
            schedules._rules.clear()  # a rule parsed anew, with no steps kept
            fresh = CronSchedule("30 1 * * *", timezone="Europe/Berlin")
            assert used.previous_logical_date(moment, start) == fresh.previous_logical_date(
                moment, start
            )
            assert used._next_after(moment, start) == fresh._next_after(moment, start)


def test_schedules_of_one_cron_rule_parse_it_once_and_share_its_steps(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A folder of 1,000 DAGs on "@daily" costs one parse, and their runs on the same tick
    one walk; a time zone of its own is a rule of its own, and a bad expression is never
    kept (it raises each time it is used)."""
    schedules._rules.clear()
    parses, walks = [], []
    real_croniter, real_walk = schedules.croniter, CronSchedule._walk
    monkeypatch.setattr(schedules, "croniter", lambda *a: parses.append(a) or real_croniter(*a))
    monkeypatch.setattr(
        CronSchedule, "_walk", lambda self, *a, **k: walks.append(a) or real_walk(self, *a, **k)
    )
    tick = datetime(2024, 5, 2, 12, tzinfo=UTC)
    start = datetime(2024, 1, 1, tzinfo=UTC)

    daily = [CronSchedule("@daily") for _ in range(100)]
    parsed_once = len(parses)
    answers = {s.previous_logical_date(tick, start) for s in daily}

    assert parsed_once <= 2  # the expression's check, and the rule kept
    assert answers == {datetime(2024, 5, 2, tzinfo=UTC)}
    assert len(walks) <= 2  # one schedule walked; the other 99 read its steps
    tokyo = CronSchedule("@daily", timezone="Asia/Tokyo")
    assert len(parses) > parsed_once
    assert tokyo.previous_logical_date(tick, start) == datetime(2024, 5, 1, 15, tzinfo=UTC)
    for _ in range(2):
        with pytest.raises(DagDefinitionError, match="never fires"):
            CronSchedule("0 0 31 2 *")
