"""Airflow's timetables that are no regular grid: a list of moments, and assets or time.

``EventsTimetable`` runs at each of a list of moments (match days, launches), each run for
the zero-length interval at its moment. ``AssetOrTimeSchedule`` runs on a timetable *and*
whenever its datasets (Airflow's assets) have all been updated, as a ``schedule=[...]`` of
datasets does: it is a :class:`DatasetSchedule`, so the scheduler's dataset part makes those
runs, and its time-based runs come from the timetable.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from conveyor.exceptions import DagDefinitionError
from conveyor.model.datasets import condition_from_dict
from conveyor.model.schedules import (
    UTC_ZONE,
    DataInterval,
    DatasetSchedule,
    RunInfo,
    Schedule,
    deserialize_schedule,
    register_kind,
)
from conveyor.model.timetable_protocol import as_schedule

#: The ``dag.schedule`` column keeps 200 characters of a description.
_COLUMN = 200


def _moment(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        raise DagDefinitionError(f"EventsTimetable: expected datetimes, got {value!r}")
    moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return datetime.fromtimestamp(moment.timestamp(), UTC)


class EventsTimetable(Schedule):
    """Runs at each of ``event_dates`` (naive ones are UTC), each for the zero-length interval
    at its moment. With catchup off, moments already past when the DAG is first scheduled
    are skipped. ``restrict_to_events``: a manual run gets the interval of the latest event
    before it (or the first one) instead of its own moment. ``description`` names the
    timetable in the DAG list (by default: how many events there are)."""

    decided_ahead = True

    def __init__(
        self,
        event_dates: Iterable[Any],
        restrict_to_events: bool = False,
        presorted: bool = False,
        description: str | None = None,
    ) -> None:
        events = [_moment(value) for value in event_dates]
        # Sorted whatever ``presorted`` says: it only saved Airflow a sort.
        self.event_dates = sorted(set(events))
        self.restrict_to_events = bool(restrict_to_events)
        self.given_description = description
        self.timezone = UTC_ZONE
        if description is not None:
            self.description = self.details = description
        else:
            self.description = f"{len(self.event_dates)} events"
            self.details = (
                f"{len(self.event_dates)} events between {self.event_dates[0].isoformat()} "
                f"and {self.event_dates[-1].isoformat()}"
                if self.event_dates
                else "No events"
            )

    def next_run(
        self,
        *,
        last: DataInterval | None,
        start_date: datetime | None,
        end_date: datetime | None,
        catchup: bool,
        now: datetime,
    ) -> RunInfo | None:
        earliest = self._utc(start_date) if start_date is not None else None
        if not catchup:
            moment = self._utc(now)
            if earliest is None or moment > earliest:
                earliest = moment
        index = 0 if earliest is None else bisect.bisect_left(self.event_dates, earliest)
        if last is not None:
            index = max(index, bisect.bisect_right(self.event_dates, _moment(last.end)))
        if index >= len(self.event_dates):
            return None
        event = self.event_dates[index]
        if end_date is not None and event > self._utc(end_date):
            return None
        return RunInfo(
            logical_date=event, data_interval=DataInterval(event, event), run_after=event
        )

    def manual_interval(self, logical_date: datetime) -> DataInterval:
        moment = self._utc(logical_date)
        if not self.restrict_to_events or not self.event_dates:
            return DataInterval(moment, moment)
        index = bisect.bisect_right(self.event_dates, moment) - 1
        event = self.event_dates[max(index, 0)]
        return DataInterval(event, event)

    def serialize(self) -> dict[str, Any]:
        return {
            "type": "events",
            "event_dates": [event.isoformat() for event in self.event_dates],
            "restrict_to_events": self.restrict_to_events,
            "description": self.given_description,
            "timezone": "UTC",
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EventsTimetable:
        return cls(
            data["event_dates"],
            restrict_to_events=data.get("restrict_to_events", False),
            presorted=True,
            description=data.get("description"),
        )


class AssetOrTimeSchedule(DatasetSchedule):
    """Runs on ``timetable`` and, besides, each time all of ``assets`` were updated."""

    def __init__(self, *, timetable: Any, assets: Any) -> None:
        inner = as_schedule(timetable)
        if not isinstance(inner, Schedule) or isinstance(inner, DatasetSchedule):
            raise DagDefinitionError(
                f"AssetOrTimeSchedule(timetable={timetable!r}): expected a time-based "
                "timetable (a CronTriggerTimetable, say), not datasets or assets"
            )
        super().__init__(assets, inner.timezone)
        self.timetable = inner
        self.decided_ahead = inner.decided_ahead
        self.reads_clock = inner.reads_clock
        uris = ", ".join(self.uris)
        text = f"{self.PREFIX}{uris}; or {inner.description}"
        if len(text) > _COLUMN:
            text = f"{self.PREFIX}{len(self.uris)} datasets; or {inner.description}"[:_COLUMN]
        self.description = text
        self.details = getattr(inner, "details", "")

    def next_run(
        self,
        *,
        last: DataInterval | None,
        start_date: datetime | None,
        end_date: datetime | None,
        catchup: bool,
        now: datetime,
    ) -> RunInfo | None:
        return self.timetable.next_run(
            last=last, start_date=start_date, end_date=end_date, catchup=catchup, now=now
        )

    def manual_interval(self, logical_date: datetime) -> DataInterval:
        return self.timetable.manual_interval(logical_date)

    def serialize(self) -> dict[str, Any]:
        return {
            "type": "datasets_or_time",
            "uris": self.uris,
            "timetable": self.timetable.serialize(),
            "timezone": self.timezone.key,
            **{k: v for k, v in super().serialize().items() if k == "condition"},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AssetOrTimeSchedule:
        assets = condition_from_dict(data["condition"]) if "condition" in data else data["uris"]
        return cls(timetable=deserialize_schedule(data["timetable"]), assets=assets)


class DatasetOrTimeSchedule(AssetOrTimeSchedule):
    """Airflow 2.9's name for it: ``DatasetOrTimeSchedule(timetable=, datasets=)``."""

    def __init__(self, *, timetable: Any, datasets: Any) -> None:
        super().__init__(timetable=timetable, assets=datasets)


register_kind("events", EventsTimetable.from_dict)
register_kind("datasets_or_time", AssetOrTimeSchedule.from_dict)
