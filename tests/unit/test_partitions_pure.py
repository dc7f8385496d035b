"""Airflow 3.2's asset partitions, pure: the partition mappers, the two partitioned
timetables (their keys and their stored form), and the names Airflow DAG files import."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from airflow_hook_on import assert_paths_give
from conveyor.exceptions import DagDefinitionError
from conveyor.model.assets import OutletEvents
from conveyor.model.datasets import AssetAlias, Dataset
from conveyor.model.partition_mappers import (
    AllowedKeyMapper,
    ChainMapper,
    FixedKeyMapper,
    IdentityMapper,
    PartitionMapper,
    ProductMapper,
    StartOfDayMapper,
    StartOfHourMapper,
    StartOfMonthMapper,
    StartOfQuarterMapper,
    StartOfWeekMapper,
    StartOfYearMapper,
    mapper_from_dict,
)
from conveyor.model.partitioned_timetables import (
    CronPartitionTimetable,
    PartitionedAssetTimetable,
    PartitionedAtRuntime,
    keys_ready,
)
from conveyor.model.schedules import deserialize_schedule

KEY = "2026-05-13T10:42:15"


@pytest.mark.parametrize(
    ("mapper", "expected"),
    [
        (IdentityMapper(), KEY),
        (StartOfHourMapper(), "2026-05-13T10"),
        (StartOfDayMapper(), "2026-05-13"),
        (StartOfWeekMapper(), "2026-05-11 (W20)"),
        (StartOfMonthMapper(), "2026-05"),
        (StartOfQuarterMapper(), "2026-Q2"),
        (StartOfYearMapper(), "2026"),
        (StartOfDayMapper(output_format="%d/%m/%Y"), "13/05/2026"),
        (FixedKeyMapper("all"), "all"),
        (ChainMapper(StartOfDayMapper(), AllowedKeyMapper(["2026-05-13"])), "2026-05-13"),
    ],
)
def test_each_mapper_maps_a_key_and_comes_back_the_same_from_its_stored_form(
    mapper: PartitionMapper, expected: str
) -> None:
    assert mapper.to_downstream(KEY) == expected
    again = mapper_from_dict(mapper.serialize())
    assert again == mapper and again.to_downstream(KEY) == expected


def test_a_time_key_with_an_offset_is_read_in_the_mappers_zone() -> None:
    # 23:30 in New York on the 13th is the 14th in UTC: the day is the mapper zone's.
    in_utc = StartOfDayMapper(input_format="%Y-%m-%dT%H:%M:%S%z")
    in_new_york = StartOfDayMapper(input_format="%Y-%m-%dT%H:%M:%S%z", timezone="America/New_York")
    assert in_utc.to_downstream("2026-05-13T23:30:00-0400") == "2026-05-14"
    assert in_new_york.to_downstream("2026-05-13T23:30:00-0400") == "2026-05-13"


def test_a_product_maps_each_part_and_refuses_a_key_of_another_shape() -> None:
    product = ProductMapper(IdentityMapper(), StartOfDayMapper())
    assert product.to_downstream("us|2026-03-10T09:30:00") == "us|2026-03-10"
    with pytest.raises(ValueError, match="Expected 2 segments"):
        product.to_downstream("us|eu|2026-03-10T09:30:00")
    with pytest.raises(ValueError, match="not in allowed keys"):
        AllowedKeyMapper(["us"]).to_downstream("eu")
    with pytest.raises(ValueError):
        StartOfDayMapper().to_downstream("yesterday")


def test_the_cron_partition_key_is_the_fire_time_moved_by_the_offset_on_the_wall_clock() -> None:
    fire = datetime(2026, 3, 10, 5, 0, tzinfo=UTC)  # 06:00 in Amsterdam
    daily = CronPartitionTimetable("0 6 * * *", timezone="Europe/Amsterdam")
    assert daily.partition_key(fire) == "2026-03-10T06:00:00"
    before = CronPartitionTimetable("0 6 * * *", timezone="Europe/Amsterdam", run_offset=-1)
    assert before.partition_key(fire) == "2026-03-09T06:00:00"
    after = CronPartitionTimetable("0 6 * * *", timezone="Europe/Amsterdam", run_offset=2)
    assert after.partition_key(fire) == "2026-03-12T06:00:00"
    dated = CronPartitionTimetable("@daily", timezone="UTC", key_format="%Y%m%d")
    assert dated.partition_key(datetime(2026, 3, 10, tzinfo=UTC)) == "20260310"
    again = deserialize_schedule(before.serialize())
    assert isinstance(again, CronPartitionTimetable) and again.partitioned
    assert again.partition_key(fire) == "2026-03-09T06:00:00"
    with pytest.raises(DagDefinitionError, match="integer"):
        CronPartitionTimetable("@daily", timezone="UTC", run_offset=1.5)  # type: ignore[arg-type]


def test_a_partitioned_asset_timetable_keeps_a_mapper_per_asset_and_groups_keys() -> None:
    hourly, daily = Dataset("s3://lake/hourly"), Dataset("s3://lake/daily")
    timetable = PartitionedAssetTimetable(
        assets=hourly & daily, partition_mapper_config={hourly: StartOfDayMapper()}
    )
    again = deserialize_schedule(timetable.serialize())
    assert isinstance(again, PartitionedAssetTimetable) and again.partitioned
    assert again.mapper_for("s3://lake/hourly") == StartOfDayMapper()
    assert again.mapper_for("s3://lake/daily") == IdentityMapper()
    assert again.description.startswith("on dataset updates: ")  # found as a consumer
    pending = [
        ("s3://lake/hourly", "2026-03-10"),
        ("s3://lake/hourly", "2026-03-11"),
        ("s3://lake/daily", "2026-03-11"),
    ]
    assert keys_ready(again.condition, pending) == ["2026-03-11"]
    assert keys_ready((hourly | daily), pending) == ["2026-03-10", "2026-03-11"]


def test_a_mapper_of_your_own_is_refused_with_what_conveyor_maps_with() -> None:
    class PrefixStrip(IdentityMapper):
        pass

    with pytest.raises(DagDefinitionError, match="of your own"):
        PartitionedAssetTimetable(assets=Dataset("a"), default_partition_mapper=PrefixStrip())


@pytest.mark.usefixtures("airflow_hook")
def test_airflow_spells_the_partition_names_where_airflow_3_3_has_them() -> None:
    assert_paths_give(
        {
            "airflow.sdk": {
                "CronPartitionTimetable": CronPartitionTimetable,
                "PartitionedAssetTimetable": PartitionedAssetTimetable,
                "PartitionedAtRuntime": PartitionedAtRuntime,
                "IdentityMapper": IdentityMapper,
                "StartOfDayMapper": StartOfDayMapper,
                "ProductMapper": ProductMapper,
                "AllowedKeyMapper": AllowedKeyMapper,
                "ChainMapper": ChainMapper,
                "FixedKeyMapper": FixedKeyMapper,
            },
            "airflow.timetables.trigger": {"CronPartitionTimetable": CronPartitionTimetable},
            "airflow.timetables.simple": {
                "PartitionedAssetTimetable": PartitionedAssetTimetable,
                "PartitionedAtRuntime": PartitionedAtRuntime,
            },
            "airflow.partition_mappers.base": {"PartitionMapper": PartitionMapper},
            "airflow.partition_mappers.temporal": {"StartOfQuarterMapper": StartOfQuarterMapper},
            "airflow.partition_mappers.identity": {"IdentityMapper": IdentityMapper},
        }
    )


def test_add_partitions_names_the_keys_of_an_outlets_events_and_refuses_an_alias() -> None:
    orders = Dataset("s3://lake/orders")
    events = OutletEvents()
    events[orders].add_partitions("eu")
    events[orders].add_partitions(["us", "eu"])
    events[orders].extra = {"rows": 3}
    emitted = events.emitted([orders])
    assert emitted.partitions == {"s3://lake/orders": ["eu", "us"]}
    assert emitted.extras == {"s3://lake/orders": {"rows": 3}}
    with pytest.raises(TypeError, match="alias"):
        events[AssetAlias("daily")].add_partitions("eu")
    with pytest.raises(ValueError, match="empty"):
        events[orders].add_partitions(" ")
    with pytest.raises(ValueError, match="at most 250"):
        events[orders].add_partitions("k" * 251)
