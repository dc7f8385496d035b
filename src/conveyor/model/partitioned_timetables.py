"""Airflow 3.2's partitioned timetables: runs for partitions of data, named by keys.

``CronPartitionTimetable("0 0 * * *", timezone="UTC")`` runs as a ``CronTriggerTimetable``
does, and each scheduled run is for the partition its fire time names
(``2026-03-10T00:00:00`` with the default ``key_format``; ``run_offset=-1``: the fire time
before). The run's ``partition_key`` travels with the asset events its tasks emit.

``PartitionedAssetTimetable(assets=...)`` runs once per partition key: the events of its
assets are grouped by the key their asset's mapper makes of the event's key
(``partition_mapper_config``, else ``default_partition_mapper``: the identity), and a run is
made for a key once the assets' condition holds over that key's events. Events without a
key make no run of it (Airflow logs them and moves on).

Each run keeps a ``partition_date`` beside its key (Airflow 3.3): the cron timetable's fire
time, or the date the assets' mappers read from the key (a temporal mapper's period start);
an identity mapper carries the producing run's date. ``PartitionedAtRuntime()`` makes no
runs; its runs' keys are given when they are triggered, and its tasks name their events'.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Set
from datetime import datetime, timedelta, tzinfo
from typing import Any

from conveyor.exceptions import DagDefinitionError
from conveyor.model.datasets import AssetAlias, Condition, as_condition, condition_from_dict
from conveyor.model.partition_mappers import (
    IdentityMapper,
    PartitionMapper,
    RollupMapper,
    as_mapper,
    mapper_from_dict,
)
from conveyor.model.schedules import DatasetSchedule, NoSchedule, register_kind
from conveyor.model.timetables import CronTriggerTimetable

DEFAULT_KEY_FORMAT = "%Y-%m-%dT%H:%M:%S"
_ONE_US = timedelta(microseconds=1)


class CronPartitionTimetable(CronTriggerTimetable):
    """A cron timetable whose scheduled runs each carry a partition key: the fire time
    ``run_offset`` fire times later (earlier when negative), written with ``key_format`` on
    the timetable's wall clock."""

    partitioned = True

    def __init__(
        self,
        cron: str,
        *,
        timezone: str | tzinfo | None = None,
        run_offset: int | None = None,
        run_immediately: bool | timedelta = False,
        key_format: str = DEFAULT_KEY_FORMAT,
    ) -> None:
        super().__init__(cron, timezone, run_immediately=run_immediately)
        if run_offset is not None and (
            isinstance(run_offset, bool) or not isinstance(run_offset, int)
        ):
            raise DagDefinitionError("Run offset other than integer not supported yet.")
        if not isinstance(key_format, str) or not key_format:
            raise DagDefinitionError(f"CronPartitionTimetable: key_format {key_format!r}")
        self.run_offset = run_offset or 0
        self.key_format = key_format
        self.description = f"{self.expression} (partitioned)"

    def partition_date(self, run_after: datetime) -> datetime:
        """The partition of the scheduled run made at ``run_after``: the fire time
        ``run_offset`` fire times away."""
        moment = run_after
        for _ in range(abs(self.run_offset)):
            moment = self._cron.after(moment) if self.run_offset > 0 else self._cron.before(moment)
        return moment

    def partition_key(self, run_after: datetime) -> str:
        """The key of the scheduled run made at ``run_after``."""
        return self.partition_date(run_after).astimezone(self.timezone).strftime(self.key_format)

    def localize_partition_datetime(self, moment: datetime) -> datetime:
        """The bound's wall clock read in the timetable's zone, whatever zone it names."""
        return moment.replace(tzinfo=self.timezone)

    def partitions_between(self, earliest: datetime, latest: datetime) -> Iterable[datetime]:
        """The fire times whose partitions a backfill from ``earliest`` to ``latest`` makes
        (both inclusive, their wall clocks read in the timetable's zone), in order: the
        partitions' own cadence, so an hour's window of an hourly timetable is one."""
        current = self._cron.after(self.localize_partition_datetime(earliest) - _ONE_US)
        last = self.localize_partition_datetime(latest)
        while current <= last:
            yield current
            current = self._cron.after(current)

    def decode_partition_date(self, partition_key: str) -> datetime:
        """A key read back with ``key_format`` on the timetable's wall clock."""
        try:
            naive = datetime.strptime(partition_key, self.key_format)
        except ValueError as exc:
            raise InvalidPartitionKey(
                f"Partition key {partition_key!r} does not match the timetable's "
                f"key_format {self.key_format!r}: {exc}"
            ) from exc
        if naive.tzinfo is not None:
            return naive
        return naive.replace(tzinfo=self.timezone)

    def serialize(self) -> dict[str, Any]:
        return {
            **super().serialize(),
            "type": "cron_partition",
            "run_offset": self.run_offset,
            "key_format": self.key_format,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CronPartitionTimetable:
        base = CronTriggerTimetable.from_dict(data)
        return cls(
            data["expression"],
            timezone=data["timezone"],
            run_offset=data.get("run_offset"),
            run_immediately=base.run_immediately,
            key_format=data.get("key_format", DEFAULT_KEY_FORMAT),
        )


class PartitionedAssetTimetable(DatasetSchedule):
    """Runs once per partition key whose events make the assets' condition hold."""

    partitioned = True

    def __init__(
        self,
        *,
        assets: Any,
        partition_mapper_config: dict[Any, PartitionMapper] | None = None,
        default_partition_mapper: PartitionMapper | None = None,
        timezone: str | tzinfo | None = None,
    ) -> None:
        super().__init__(assets, timezone)
        self.default_partition_mapper = as_mapper(
            default_partition_mapper or IdentityMapper(), "default_partition_mapper"
        )
        #: schedule key (a dataset's URI) -> the mapper of its events' keys.
        self.mappers: dict[str, PartitionMapper] = {}
        for asset, mapper in (partition_mapper_config or {}).items():
            condition = as_condition(asset, "partition_mapper_config")
            if isinstance(condition, AssetAlias):
                raise DagDefinitionError(
                    "partition_mapper_config: an asset alias cannot be partitioned"
                )
            for key in condition.schedule_keys():
                self.mappers[key] = as_mapper(mapper, "partition_mapper_config")
        self.description = (self.description + " (partitioned)")[:200]  # the column's width

    def mapper_for(self, key: str) -> PartitionMapper:
        """The mapper of the events queued under a schedule key."""
        return self.mappers.get(key, self.default_partition_mapper)

    def fingerprint(self) -> str:
        """The mappers of its assets, as a digest: a partition queued under other mappers
        (the DAG's file changed them) is dropped, not made a run of, as Airflow drops it."""
        mappers = {key: self.mapper_for(key).serialize() for key in self.condition.schedule_keys()}
        return hashlib.sha256(json.dumps(mappers, sort_keys=True).encode()).hexdigest()

    def ready_keys(
        self,
        pending: Iterable[tuple[str, str]],
        arrived: Mapping[tuple[str, str], Set[str]],
    ) -> list[str]:
        """The partition keys whose updates make the condition hold, in key order.
        ``pending``: (schedule key, partition key) of each queued update; ``arrived``: the
        upstream keys logged under (partition key, schedule key), which a rollup's
        update counts only once its wait policy is satisfied by them."""
        counted = [
            (schedule_key, key)
            for schedule_key, key in pending
            if self.rollup_done(schedule_key, key, arrived.get((key, schedule_key), set()))
        ]
        return keys_ready(self.condition, counted)

    def rollup_done(self, schedule_key: str, partition_key: str, arrived: Set[str]) -> bool:
        """Whether an asset's updates of a partition count: always, unless its mapper is a
        rollup whose window's keys have not arrived as its wait policy asks (or never can:
        :meth:`never_done`)."""
        mapper = self.mapper_for(schedule_key)
        if not isinstance(mapper, RollupMapper):
            return True
        if self.never_done(schedule_key, partition_key) is not None:
            return False
        expected = mapper.to_upstream(partition_key)
        return mapper.wait_policy.satisfied(matched=arrived, expected=expected)

    def never_done(self, schedule_key: str, partition_key: str) -> str | None:
        """Why a rollup's partition can never be made, whatever keys arrive: its window
        cannot be read from the key, or its policy asks more keys than the window has."""
        mapper = self.mapper_for(schedule_key)
        if not isinstance(mapper, RollupMapper):
            return None
        try:
            expected = mapper.to_upstream(partition_key)
        except (ValueError, TypeError) as exc:
            return f"its window's keys cannot be read from {partition_key!r}: {exc}"
        if mapper.wait_policy.unreachable(len(expected)):
            return (
                f"wait policy {mapper.wait_policy!r} can never be satisfied given the "
                f"window's cardinality {len(expected)}"
            )
        return None

    def decode_partition_date(self, partition_key: str) -> datetime | None:
        """The date the mappers of the schedule's assets agree the key starts at; None
        when none of them reads a date or they disagree."""
        try:
            return agreed_date(
                [self.mapper_for(key) for key in self.condition.schedule_keys()], partition_key
            )
        except ValueError as exc:
            raise InvalidPartitionKey(
                f"Partition key {partition_key!r} is invalid for this timetable's mappers: {exc}"
            ) from exc

    def serialize(self) -> dict[str, Any]:
        return {
            "type": "partitioned_assets",
            "condition": self.condition.as_dict(),
            "timezone": self.timezone.key,
            "mappers": {key: mapper.serialize() for key, mapper in self.mappers.items()},
            "default_mapper": self.default_partition_mapper.serialize(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PartitionedAssetTimetable:
        made = cls(
            assets=condition_from_dict(data["condition"]),
            default_partition_mapper=mapper_from_dict(data["default_mapper"]),
            timezone=data.get("timezone"),
        )
        made.mappers = {key: mapper_from_dict(m) for key, m in data["mappers"].items()}
        return made


class PartitionedAtRuntime(NoSchedule):
    """Airflow 3.3's ``PartitionedAtRuntime``: no scheduled runs; a run's key is the one it
    is triggered with, and its tasks name their events' keys as they run
    (``outlet_events[asset].add_partitions(...)``). A key tells no date here."""

    description = "Never, partition key(s) set at runtime"
    kind = "partitioned_at_runtime"
    partitioned_at_runtime = True

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PartitionedAtRuntime:
        return cls(data.get("timezone"))


class InvalidPartitionKey(ValueError):
    """A partition key a partitioned schedule cannot read a date from."""


def agreed_date(mappers: Iterable[PartitionMapper], partition_key: str) -> datetime | None:
    """The one date the mappers read from a key (None: none reads one, or they disagree);
    ValueError when one cannot read the key."""
    dates = {
        date for mapper in mappers if (date := mapper.to_partition_date(partition_key)) is not None
    }
    return dates.pop() if len(dates) == 1 else None


def run_partition_date(
    schedule: PartitionedAssetTimetable,
    partition_key: str,
    schedule_keys: Iterable[str],
    carried: Iterable[datetime | None],
) -> datetime | None:
    """The ``partition_date`` of a run made for ``partition_key`` from the updates queued
    under ``schedule_keys``: the date their mappers agree on; when no mapper reads one,
    the producing runs' date the updates carried (an identity mapper's), if they agree.
    A mapper that fails or mappers that disagree leave it unset, as the scheduler must
    not stop over a DAG's mappers."""
    mappers = [schedule.mapper_for(key) for key in schedule_keys]
    try:
        dates = {d for m in mappers if (d := m.to_partition_date(partition_key)) is not None}
    except ValueError:
        return None
    if dates:
        return dates.pop() if len(dates) == 1 else None
    given = {date for date in carried if date is not None}
    return given.pop() if len(given) == 1 else None


def keys_ready(condition: Condition, pending: Iterable[tuple[str, str]]) -> list[str]:
    """The partition keys whose queued schedule keys make ``condition`` hold, in key order;
    ``pending``: (schedule key, partition key) of each queued update."""
    by_partition: dict[str, set[str]] = {}
    for schedule_key, partition_key in pending:
        by_partition.setdefault(partition_key, set()).add(schedule_key)
    return sorted(key for key, updated in by_partition.items() if condition.holds(updated))


register_kind("cron_partition", CronPartitionTimetable.from_dict)
register_kind("partitioned_assets", PartitionedAssetTimetable.from_dict)
register_kind(PartitionedAtRuntime.kind, PartitionedAtRuntime.from_dict)
