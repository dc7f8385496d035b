"""Airflow 3.3's rollup and fan-out mappers, pure: windows, wait policies, the keys a rollup
waits for and a fan-out makes, ``max_downstream_keys``, their stored form, and a
partitioned timetable's readiness with a rollup among its assets."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from airflow_hook_on import assert_paths_give
from conveyor.exceptions import DagDefinitionError
from conveyor.model.datasets import Dataset
from conveyor.model.partition_mappers import (
    MAX_DOWNSTREAM_KEYS,
    ChainMapper,
    FanOutMapper,
    FixedKeyMapper,
    IdentityMapper,
    ProductMapper,
    RollupMapper,
    StartOfDayMapper,
    StartOfHourMapper,
    StartOfMonthMapper,
    StartOfWeekMapper,
    fan_out_cap,
    mapper_from_dict,
)
from conveyor.model.partition_windows import (
    DayWindow,
    HourWindow,
    MinimumCount,
    MonthWindow,
    QuarterWindow,
    SegmentWindow,
    WaitForAll,
    WeekWindow,
    Window,
    YearWindow,
)
from conveyor.model.partitioned_timetables import PartitionedAssetTimetable


def test_windows_name_the_members_of_a_period_forward_or_backward() -> None:
    march = datetime(2024, 3, 1)
    assert len(list(HourWindow().to_upstream(march))) == 60
    day = list(DayWindow().to_upstream(march))
    assert (day[0], day[-1], len(day)) == (march, datetime(2024, 3, 1, 23), 24)
    back = list(WeekWindow(direction=Window.Direction.BACKWARD).to_upstream(march))
    assert (back[0], back[-1]) == (datetime(2024, 2, 24), march)
    assert len(list(MonthWindow().to_upstream(datetime(2024, 2, 1)))) == 29  # a leap year
    trailing = list(MonthWindow(direction="backward").to_upstream(march))
    assert (trailing[0], trailing[-1]) == (datetime(2024, 2, 2), march)
    assert list(QuarterWindow().to_upstream(datetime(2024, 10, 1)))[-1] == datetime(2024, 12, 1)
    year = YearWindow(direction="backward").to_upstream(march)
    assert next(iter(year)) == datetime(2023, 4, 1)
    with pytest.raises(ValueError, match="day 1"):
        list(YearWindow().to_upstream(datetime(2024, 3, 2)))
    assert SegmentWindow(["us", "eu", "us"]).to_upstream("anything") == {"us", "eu"}
    with pytest.raises(DagDefinitionError, match="at least one"):
        SegmentWindow([])
    with pytest.raises(DagDefinitionError, match="forward"):
        DayWindow(direction="sideways")


def test_wait_policies_fire_on_all_or_on_a_count() -> None:
    expected = {"a", "b", "c"}
    assert WaitForAll().satisfied(matched={"a", "b", "c", "x"}, expected=expected)
    assert not WaitForAll().satisfied(matched={"a", "b"}, expected=expected)
    assert MinimumCount(2).satisfied(matched={"a", "b", "x"}, expected=expected)
    assert not MinimumCount(2).satisfied(matched={"a", "x"}, expected=expected)
    assert MinimumCount(-1).satisfied(matched={"a", "b"}, expected=expected)  # one missing
    assert MinimumCount(4).unreachable(3) and not MinimumCount(-4).unreachable(3)
    with pytest.raises(DagDefinitionError, match="non-zero"):
        MinimumCount(0)


def test_a_rollup_waits_for_the_upstream_keys_of_its_window() -> None:
    daily = RollupMapper(upstream_mapper=StartOfDayMapper(), window=DayWindow())
    assert daily.to_downstream("2026-05-13T07:00:00") == "2026-05-13"
    hours = daily.to_upstream("2026-05-13")
    assert len(hours) == 24 and "2026-05-13T00:00:00" in hours and "2026-05-13T23:00:00" in hours
    assert daily.to_partition_date("2026-05-13") == datetime(2026, 5, 13, tzinfo=UTC)
    regions = RollupMapper(
        upstream_mapper=FixedKeyMapper("all"), window=SegmentWindow(["us", "eu"])
    )
    assert regions.to_downstream("us") == "all" and regions.to_upstream("all") == {"us", "eu"}
    with pytest.raises(DagDefinitionError, match="expects decoded values of type 'datetime'"):
        RollupMapper(upstream_mapper=IdentityMapper(), window=DayWindow())


def test_a_fan_out_makes_a_key_of_each_member_of_its_period() -> None:
    days = FanOutMapper(upstream_mapper=StartOfWeekMapper(), window=WeekWindow())
    made = days.to_downstream("2026-05-13T10:00:00")  # a Wednesday: its week's Monday on
    assert made == [f"2026-05-{d}" for d in range(11, 18)]
    assert days.to_partition_date("2026-05-12") == datetime(2026, 5, 12, tzinfo=UTC)
    hours = FanOutMapper(
        upstream_mapper=StartOfDayMapper(), window=DayWindow(), max_downstream_keys=24
    )
    assert hours.to_downstream("2026-05-13T10:00:00")[:2] == ["2026-05-13T00", "2026-05-13T01"]
    assert (fan_out_cap(hours), fan_out_cap(days)) == (24, MAX_DOWNSTREAM_KEYS)
    with pytest.raises(DagDefinitionError, match="pass downstream_mapper explicitly"):
        FanOutMapper(upstream_mapper=StartOfHourMapper(), window=HourWindow())
    chained = ChainMapper(days, IdentityMapper())  # a chain carries a fan-out's keys on
    assert chained.to_downstream("2026-05-13T10:00:00") == made
    with pytest.raises(TypeError, match="single key"):
        ProductMapper(IdentityMapper(), days).to_downstream("us|2026-05-13T10:00:00")
    with pytest.raises(DagDefinitionError, match="positive integer"):
        StartOfDayMapper(max_downstream_keys=0)


def test_rollups_and_fan_outs_are_stored_and_read_back_whole() -> None:
    for mapper in (
        RollupMapper(
            upstream_mapper=StartOfMonthMapper(timezone="Asia/Tokyo"),
            window=MonthWindow(direction="backward"),
            wait_policy=MinimumCount(-2),
            max_downstream_keys=3,
        ),
        FanOutMapper(upstream_mapper=StartOfDayMapper(), window=DayWindow()),
        RollupMapper(upstream_mapper=FixedKeyMapper("all"), window=SegmentWindow(["a", "b"])),
    ):
        again = mapper_from_dict(mapper.serialize())
        assert again == mapper and again.max_downstream_keys == mapper.max_downstream_keys


def test_a_partitioned_timetable_counts_a_rollups_asset_once_its_policy_is_satisfied() -> None:
    hourly, prices = Dataset("s3://lake/hourly"), Dataset("s3://lake/prices")
    timetable = PartitionedAssetTimetable(
        assets=hourly & prices,
        partition_mapper_config={
            hourly: RollupMapper(
                upstream_mapper=StartOfDayMapper(), window=DayWindow(), wait_policy=MinimumCount(-1)
            ),
            prices: StartOfDayMapper(),
        },
    )
    pending = [(hourly.uri, "2026-05-13"), (prices.uri, "2026-05-13")]
    some = {f"2026-05-13T{h:02d}:00:00" for h in range(22)}
    assert timetable.ready_keys(pending, {("2026-05-13", hourly.uri): some}) == []
    more = some | {"2026-05-13T22:00:00"}  # 23 of 24: one may be missing
    assert timetable.ready_keys(pending, {("2026-05-13", hourly.uri): more}) == ["2026-05-13"]
    assert timetable.ready_keys(pending[:1], {("2026-05-13", hourly.uri): more}) == []
    never = PartitionedAssetTimetable(
        assets=hourly,
        default_partition_mapper=RollupMapper(
            upstream_mapper=StartOfDayMapper(), window=DayWindow(), wait_policy=MinimumCount(25)
        ),
    )
    all_day = {f"2026-05-13T{h:02d}:00:00" for h in range(24)}
    assert never.ready_keys(pending[:1], {("2026-05-13", hourly.uri): all_day}) == []
    assert "can never be satisfied given the window's cardinality 24" in str(
        never.never_done(hourly.uri, "2026-05-13")
    )
    assert "cannot be read" in str(never.never_done(hourly.uri, "us"))
    assert timetable.never_done(prices.uri, "2026-05-13") is None  # no rollup
    assert deserialized(timetable) == timetable
    assert deserialized(timetable).fingerprint() == timetable.fingerprint()
    assert never.fingerprint() != PartitionedAssetTimetable(assets=hourly).fingerprint()


def deserialized(timetable: PartitionedAssetTimetable) -> PartitionedAssetTimetable:
    return PartitionedAssetTimetable.from_dict(timetable.serialize())


@pytest.mark.usefixtures("airflow_hook")
def test_airflow_spells_the_rollup_names_where_airflow_3_3_has_them() -> None:
    assert_paths_give(
        {
            "airflow.sdk": {
                "RollupMapper": RollupMapper,
                "FanOutMapper": FanOutMapper,
                "DayWindow": DayWindow,
                "SegmentWindow": SegmentWindow,
                "Window": Window,
                "WaitForAll": WaitForAll,
                "MinimumCount": MinimumCount,
            },
            "airflow.partition_mappers": {"RollupMapper": RollupMapper, "WeekWindow": WeekWindow},
            "airflow.partition_mappers.base": {"RollupMapper": RollupMapper},
            "airflow.partition_mappers.temporal": {"FanOutMapper": FanOutMapper},
            "airflow.partition_mappers.window": {"MonthWindow": MonthWindow},
            "airflow.partition_mappers.wait_policy": {"MinimumCount": MinimumCount},
        }
    )
