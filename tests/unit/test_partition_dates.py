"""Airflow 3.3's ``partition_date``, pure: the moment a run's partition starts, as the
partitioned timetables and the partition mappers read it from a key, and
``PartitionedAtRuntime``, whose keys tell none."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from conveyor import DAG, EmptyOperator
from conveyor.model.datasets import Dataset
from conveyor.model.partition_keys import parse_key
from conveyor.model.partition_mappers import (
    ChainMapper,
    IdentityMapper,
    ProductMapper,
    StartOfDayMapper,
    StartOfHourMapper,
    StartOfMonthMapper,
    StartOfQuarterMapper,
    StartOfWeekMapper,
    StartOfYearMapper,
)
from conveyor.model.partitioned_timetables import (
    CronPartitionTimetable,
    InvalidPartitionKey,
    PartitionedAssetTimetable,
    PartitionedAtRuntime,
    run_partition_date,
)
from conveyor.model.schedules import NoSchedule, deserialize_schedule

KEY = "2026-05-13T10:42:15"


@pytest.mark.parametrize(
    ("mapper", "start"),
    [
        (StartOfHourMapper(), datetime(2026, 5, 13, 10, tzinfo=UTC)),
        (StartOfDayMapper(), datetime(2026, 5, 13, tzinfo=UTC)),
        (StartOfWeekMapper(), datetime(2026, 5, 11, tzinfo=UTC)),
        (StartOfMonthMapper(), datetime(2026, 5, 1, tzinfo=UTC)),
        (StartOfQuarterMapper(), datetime(2026, 4, 1, tzinfo=UTC)),
        (StartOfYearMapper(), datetime(2026, 1, 1, tzinfo=UTC)),
        (
            StartOfDayMapper(timezone="Asia/Tokyo"),
            datetime(2026, 5, 13, tzinfo=ZoneInfo("Asia/Tokyo")),
        ),
    ],
)
def test_a_temporal_mapper_reads_the_start_of_its_period_back_from_the_key_it_wrote(
    mapper: StartOfDayMapper, start: datetime
) -> None:
    assert mapper.to_partition_date(mapper.to_downstream(KEY)) == start
    assert IdentityMapper().to_partition_date(KEY) is None


def test_composite_mappers_take_the_date_of_the_part_that_has_one() -> None:
    product = ProductMapper(IdentityMapper(), StartOfDayMapper())
    assert product.to_partition_date("us|2026-05-13") == datetime(2026, 5, 13, tzinfo=UTC)
    assert product.to_partition_date("us") is None  # a segment missing: no date
    two = ProductMapper(StartOfDayMapper(), StartOfDayMapper())
    assert two.to_partition_date("2026-05-13|2026-05-14") is None  # which one: neither
    chain = ChainMapper(StartOfHourMapper(), IdentityMapper(), StartOfYearMapper())
    assert chain.to_partition_date("2026") == datetime(2026, 1, 1, tzinfo=UTC)


def test_a_key_is_read_by_its_whole_format_or_refused() -> None:
    assert parse_key("2026-Q3", "%Y-Q{quarter}") == {"Y": 2026, "quarter": 3}
    assert parse_key("2026-05-11 (W20)", "%Y-%m-%d (W%V)") == {"Y": 2026, "m": 5, "d": 11, "V": 20}
    for bad in ("2026-Q5", "x2026-Q3", "2026-Q3x"):
        with pytest.raises(ValueError, match="does not match"):
            parse_key(bad, "%Y-Q{quarter}")
    with pytest.raises(ValueError, match="twice"):
        parse_key("2026-2026", "%Y-%Y")
    week = StartOfWeekMapper(output_format="%Y-W%V")
    with pytest.raises(ValueError, match="needs %Y, %m and %d"):
        week.to_partition_date("2026-W20")


def test_a_cron_partition_runs_date_is_its_fire_time_and_a_key_reads_back_to_it() -> None:
    hourly = CronPartitionTimetable("0 * * * *", timezone="Europe/Paris", run_offset=-1)
    fire = datetime(2026, 5, 13, 8, tzinfo=UTC)
    assert hourly.partition_date(fire) == datetime(2026, 5, 13, 7, tzinfo=UTC)
    key = hourly.partition_key(fire)
    assert key == "2026-05-13T09:00:00"  # Paris's wall clock
    assert hourly.resolve_partition_date(key) == datetime(2026, 5, 13, 7, tzinfo=UTC)
    assert hourly.resolve_partition_date(None) is None
    with pytest.raises(InvalidPartitionKey, match="key_format"):
        hourly.resolve_partition_date("us")


def test_an_asset_timetables_date_is_the_one_its_mappers_agree_on() -> None:
    hourly, regions = Dataset("s3://lake/hourly"), Dataset("s3://lake/regions")
    timetable = PartitionedAssetTimetable(
        assets=hourly & regions, partition_mapper_config={hourly: StartOfDayMapper()}
    )
    day = datetime(2026, 5, 13, tzinfo=UTC)
    assert timetable.resolve_partition_date("2026-05-13") == day
    with pytest.raises(InvalidPartitionKey, match="invalid for this timetable's mappers"):
        timetable.resolve_partition_date("eu")
    both = [hourly.uri, regions.uri]
    assert run_partition_date(timetable, "2026-05-13", both, [None]) == day
    carried = datetime(2026, 5, 13, 9, tzinfo=UTC)  # the producer's, through the identity
    assert run_partition_date(timetable, "eu", [regions.uri], [carried, None]) == carried
    assert run_partition_date(timetable, "eu", both, [carried]) is None  # a mapper fails
    tokyo = PartitionedAssetTimetable(
        assets=hourly & regions,
        partition_mapper_config={
            hourly: StartOfDayMapper(),
            regions: StartOfDayMapper(timezone="Asia/Tokyo"),
        },
    )
    assert run_partition_date(tokyo, "2026-05-13", both, []) is None  # they disagree
    assert StartOfDayMapper().carries_partition_date() is False
    assert IdentityMapper().carries_partition_date() is True


def test_partitioned_at_runtime_makes_no_runs_and_its_keys_tell_no_date() -> None:
    runtime = PartitionedAtRuntime()
    assert isinstance(runtime, NoSchedule) and runtime.partitioned_at_runtime
    assert runtime.description == "Never, partition key(s) set at runtime"
    assert runtime.resolve_partition_date("us") is None
    assert deserialize_schedule(runtime.serialize()) == runtime
    assert not NoSchedule().partitioned_at_runtime


def test_a_partition_date_windows_bounds_are_read_on_the_timetables_clock() -> None:
    paris = CronPartitionTimetable("0 * * * *", timezone="Europe/Paris")
    noon = datetime(2026, 5, 13, 12)
    assert paris.localize_partition_datetime(noon) == datetime(2026, 5, 13, 10, tzinfo=UTC)
    stated = noon.replace(tzinfo=UTC)  # its wall clock is read in Paris all the same
    assert paris.localize_partition_datetime(stated) == datetime(2026, 5, 13, 10, tzinfo=UTC)
    assets = PartitionedAssetTimetable(assets=Dataset("s3://lake/hourly"))
    assert assets.localize_partition_datetime(noon) == stated  # a naive bound is UTC


@pytest.mark.parametrize("fmt", ["yaml", "python"])
def test_exporting_a_dag_partitioned_at_runtime_says_it_cannot(fmt: str) -> None:
    from conveyor.loading.yaml.errors import ExportError
    from conveyor.loading.yaml.export import export_dag

    with DAG("runtime", schedule=PartitionedAtRuntime()) as dag:
        EmptyOperator(task_id="t")
    with pytest.raises(ExportError, match="cannot express the timetable PartitionedAtRuntime"):
        export_dag(dag, fmt)  # type: ignore[arg-type]


def test_a_listener_is_told_the_producing_runs_partition_date_with_an_event() -> None:
    from conveyor.airflow_compat import listeners
    from conveyor.engine.run_listeners import _assets_changed
    from conveyor.store.datasets import RecordedEvent

    class Told:
        def __init__(self) -> None:
            self.events: list[object] = []

        @listeners.hookimpl
        def on_asset_event_emitted(self, asset_event: listeners.AssetEvent) -> None:
            self.events.append((asset_event.partition_key, asset_event.partition_date))

    told = Told()
    manager = listeners.get_listener_manager()
    manager.add_listener(told)
    try:
        day = datetime(2026, 5, 13, tzinfo=UTC)
        _assets_changed([RecordedEvent("s3://lake/x", {}, "d", "t", "r", -1, None, "k", day)])
    finally:
        manager.remove_listener(told)
    assert told.events == [("k", day)]
