"""Airflow's time-based timetables, as Conveyor schedules: trigger and data-interval kinds.

DAG files written for Airflow say ``schedule=CronTriggerTimetable("0 1 * * *",
timezone="UTC")``; these classes take the same arguments and cut time into the same runs:

- a **trigger** timetable (``CronTriggerTimetable``, ``DeltaTriggerTimetable``,
  ``MultipleCronTriggerTimetable``) runs *at* each fire time; its data interval ends there
  and is ``interval`` long (zero by default).
- a **data-interval** timetable (``CronDataIntervalTimetable``,
  ``DeltaDataIntervalTimetable``) runs once an interval between two fire times has ended,
  for that interval: what ``schedule="0 1 * * *"`` means.

``catchup`` and ``start_date`` / ``end_date`` work as in Airflow 3, including where that
differs from Conveyor's own schedules: with catchup off a trigger timetable runs the latest
fire time that has passed at once, and ``DeltaDataIntervalTimetable`` lines its intervals
up with multiples of the delta since 1970 rather than with start_date. Pure arithmetic:
``now`` is handed in, like every schedule's.
"""

from __future__ import annotations

from abc import abstractmethod
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, TypeAlias

from dateutil.relativedelta import relativedelta

from conveyor.exceptions import DagDefinitionError
from conveyor.model.airflow_cron import AirflowCron
from conveyor.model.schedules import (
    DataInterval,
    RunInfo,
    Schedule,
    _as_zone,
    register_kind,
)

_ZERO = timedelta(0)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: A preset Airflow's timetables take that Conveyor's schedule= presets do not.
_MORE_PRESETS = {"@quarterly": "0 0 1 */3 *"}


def _cron(expression: str, timezone: str | tzinfo | None) -> AirflowCron:
    text = expression.strip()
    return AirflowCron(_MORE_PRESETS.get(text.lower(), text), _as_zone(timezone))


def _duration(value: Any, what: str, *, positive: bool) -> timedelta:
    if not isinstance(value, timedelta) or value < _ZERO or (positive and value == _ZERO):
        need = "a positive timedelta" if positive else "a timedelta of zero or more"
        raise DagDefinitionError(
            f"invalid {what} {value!r}: expected {need} such as timedelta(hours=1) "
            "(relativedelta is not supported)"
        )
    return value


#: A timetable's delta or interval: a timedelta, or dateutil's ``relativedelta`` for calendar
#: units (``relativedelta(months=1)``).
Step: TypeAlias = timedelta | relativedelta
_RELATIVE = ("years", "months", "days", "hours", "minutes", "seconds", "microseconds")
_ABSOLUTE = ("year", "month", "day", "weekday", "hour", "minute", "second", "microsecond")
_PROBE = datetime(2000, 1, 1)


def _step(value: Any, what: str, *, positive: bool) -> Step:
    if not isinstance(value, relativedelta):
        return _duration(value, what, positive=positive)
    if value.leapdays or any(getattr(value, name) is not None for name in _ABSOLUTE):
        raise DagDefinitionError(
            f"invalid {what} {value!r}: expected a relativedelta of years, months, days, "
            "hours, minutes and seconds only"
        )
    if _PROBE + value < _PROBE or (positive and _PROBE + value == _PROBE):
        need = "positive" if positive else "zero or more"
        raise DagDefinitionError(f"invalid {what} {value!r}: expected a {need} relativedelta")
    return value


def _encode(step: Step) -> float | int | dict[str, int]:
    if isinstance(step, relativedelta):
        return {name: getattr(step, name) for name in _RELATIVE if getattr(step, name)}
    return _seconds(step)


def _decode(value: Any) -> Step:
    return relativedelta(**value) if isinstance(value, dict) else timedelta(seconds=value)


def _before(moment: datetime, step: Step) -> datetime:
    found: datetime = moment - step
    return found


def _seconds(value: timedelta) -> float | int:
    seconds = value.total_seconds()
    return int(seconds) if seconds.is_integer() else seconds


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _run_immediately(value: Any) -> bool | timedelta:
    if isinstance(value, bool) or value is None:
        return bool(value) if value is not None else False
    return _duration(value, "run_immediately", positive=False)


def _decode_immediately(data: dict[str, Any]) -> bool | timedelta:
    """``run_immediately`` as a trigger timetable's ``serialize`` wrote it."""
    immediately: bool | dict[str, Any] = data.get("run_immediately", False)
    if isinstance(immediately, dict):
        return timedelta(seconds=immediately["seconds"])
    return immediately


class _Timetable(Schedule):
    """What Airflow's timetables share here."""

    decided_ahead = True

    def _when(self, value: datetime | None) -> datetime | None:
        """A start or end date in UTC (naive ones read in the timetable's zone)."""
        return None if value is None else self._utc(value)


class _FireTimes(_Timetable):
    """A timetable that steps from fire time to fire time (by cron or by a fixed delta)."""

    @abstractmethod
    def _after(self, moment: datetime) -> datetime:
        """The first fire time strictly after ``moment``."""

    @abstractmethod
    def _align_next(self, moment: datetime) -> datetime:
        """``moment`` when it is a fire time, else the next one."""

    @abstractmethod
    def _align_prev(self, moment: datetime) -> datetime:
        """``moment`` when it is a fire time, else the one before."""


# -- trigger timetables --------------------------------------------------------------------


class _TriggerTimetable(_FireTimes):
    """Runs at fire times; the data interval is the ``interval`` before each one."""

    interval: Step
    run_immediately: bool | timedelta = False

    def _first_run(self, now: datetime) -> datetime:
        """Without a start_date and a run yet: the latest fire time if it passed only
        recently (``run_immediately``), else the next one."""
        return self._align_prev(now)

    def next_run(
        self,
        *,
        last: DataInterval | None,
        start_date: datetime | None,
        end_date: datetime | None,
        catchup: bool,
        now: datetime,
    ) -> RunInfo | None:
        now = self._utc(now)
        earliest = self._when(start_date)
        after_last = self._after(_as_utc(last.end)) if last is not None else None
        if catchup:
            if after_last is not None:
                fire = after_last
            elif earliest is None:
                fire = self._first_run(now)
            else:
                fire = self._align_next(earliest)
        else:
            # The latest fire time that has passed, unless the last run or start_date is later.
            candidates = [self._align_prev(now)]
            if after_last is not None:
                candidates.append(after_last)
            elif earliest is None:
                candidates.append(self._first_run(now))
            if earliest is not None:
                candidates.append(self._align_next(earliest))
            fire = max(candidates)
        latest = self._when(end_date)
        if latest is not None and fire > latest:
            return None
        start = _before(fire, self.interval)
        return RunInfo(logical_date=start, data_interval=DataInterval(start, fire), run_after=fire)

    def manual_interval(self, logical_date: datetime) -> DataInterval:
        moment = self._utc(logical_date)
        return DataInterval(_before(moment, self.interval), moment)


class _CronSteps:
    """Fire times from a cron expression (``self._cron``), for the timetables built on one."""

    _cron: AirflowCron

    def _after(self, moment: datetime) -> datetime:
        return self._cron.after(moment)

    def _align_next(self, moment: datetime) -> datetime:
        return self._cron.at_or_after(moment)

    def _align_prev(self, moment: datetime) -> datetime:
        return self._cron.at_or_before(moment)


class _DeltaSteps:
    """Fire times every ``self.delta``, from wherever the count starts."""

    delta: Step

    def _after(self, moment: datetime) -> datetime:
        return moment + self.delta

    def _align_next(self, moment: datetime) -> datetime:
        return moment

    def _align_prev(self, moment: datetime) -> datetime:
        return moment


class CronTriggerTimetable(_CronSteps, _TriggerTimetable):
    """Runs at each fire time of a cron expression (as cron itself does), for the
    ``interval`` that ends there. ``run_immediately`` says whether a DAG without start_date
    runs the latest fire time at once: True, False (only within a tenth of the time between
    fire times, at least 5 minutes, as Airflow does), or a timedelta."""

    def __init__(
        self,
        cron: str,
        timezone: str | tzinfo | None = None,
        *,
        interval: Step = _ZERO,
        run_immediately: bool | timedelta = False,
    ) -> None:
        self._cron = _cron(cron, timezone)
        self.timezone = self._cron.zone
        self.expression = self._cron.expression
        self.interval = _step(interval, "interval", positive=False)
        self.run_immediately = _run_immediately(run_immediately)
        self.description = self.expression

    def _first_run(self, now: datetime) -> datetime:
        past, following = self._align_prev(now), self._align_next(now)
        if self.run_immediately is True:
            return past
        if isinstance(self.run_immediately, timedelta):
            buffer = self.run_immediately
        else:
            buffer = max((following - past) / 10, timedelta(minutes=5))
        return past if now - past <= buffer else following

    def serialize(self) -> dict[str, Any]:
        immediately = self.run_immediately
        return {
            "type": "cron_trigger",
            "expression": self.expression,
            "timezone": self.timezone.key,
            "interval": _encode(self.interval),
            "run_immediately": immediately
            if isinstance(immediately, bool)
            else {"seconds": _seconds(immediately)},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CronTriggerTimetable:
        return cls(
            data["expression"],
            data["timezone"],
            interval=_decode(data.get("interval", 0)),
            run_immediately=_decode_immediately(data),
        )


class DeltaTriggerTimetable(_DeltaSteps, _TriggerTimetable):
    """Runs every ``delta``, counted from start_date (or from the first run), for the
    ``interval`` that ends at each run."""

    def __init__(
        self,
        delta: Step,
        *,
        interval: Step = _ZERO,
        timezone: str | tzinfo | None = None,
    ) -> None:
        self.delta = _step(delta, "delta", positive=True)
        self.interval = _step(interval, "interval", positive=False)
        self.timezone = _as_zone(timezone)
        self.description = str(self.delta)

    def serialize(self) -> dict[str, Any]:
        return {
            "type": "delta_trigger",
            "delta": _encode(self.delta),
            "interval": _encode(self.interval),
            "timezone": self.timezone.key,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DeltaTriggerTimetable:
        return cls(
            _decode(data["delta"]),
            interval=_decode(data.get("interval", 0)),
            timezone=data.get("timezone"),
        )


class MultipleCronTriggerTimetable(_Timetable):
    """Runs at the fire times of several cron expressions; once where two fire together."""

    def __init__(
        self,
        *crons: str,
        timezone: str | tzinfo | None = None,
        interval: Step = _ZERO,
        run_immediately: bool | timedelta = False,
    ) -> None:
        if not crons:
            raise DagDefinitionError(
                "MultipleCronTriggerTimetable() needs at least one cron expression"
            )
        self.parts = [
            CronTriggerTimetable(c, timezone, interval=interval, run_immediately=run_immediately)
            for c in crons
        ]
        self.timezone = self.parts[0].timezone
        self.description = ", ".join(part.description for part in self.parts)

    def next_run(
        self,
        *,
        last: DataInterval | None,
        start_date: datetime | None,
        end_date: datetime | None,
        catchup: bool,
        now: datetime,
    ) -> RunInfo | None:
        found = [
            info
            for part in self.parts
            if (
                info := part.next_run(
                    last=last, start_date=start_date, end_date=end_date, catchup=catchup, now=now
                )
            )
            is not None
        ]
        if not found:
            return None
        if catchup:
            return min(found, key=lambda info: info.logical_date)
        # Without catchup: the latest run that is due by now, else the soonest one to come.
        moment = self._utc(now)
        due = [info for info in found if info.logical_date <= moment]
        if due:
            return max(due, key=lambda info: info.logical_date)
        return min(found, key=lambda info: info.logical_date)

    def manual_interval(self, logical_date: datetime) -> DataInterval:
        return min(
            (part.manual_interval(logical_date) for part in self.parts),
            key=lambda interval: interval.start,
        )

    def serialize(self) -> dict[str, Any]:
        first = self.parts[0].serialize()
        return {
            "type": "multiple_cron_trigger",
            "expressions": [part.expression for part in self.parts],
            "timezone": first["timezone"],
            "interval": first["interval"],
            "run_immediately": first["run_immediately"],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MultipleCronTriggerTimetable:
        return cls(
            *data["expressions"],
            timezone=data["timezone"],
            interval=_decode(data.get("interval", 0)),
            run_immediately=_decode_immediately(data),
        )


# -- data-interval timetables --------------------------------------------------------------


class _DataIntervalTimetable(_FireTimes):
    """Runs for back-to-back intervals between fire times, once each has ended."""

    @abstractmethod
    def _skip_to_latest(self, earliest: datetime | None, now: datetime) -> datetime:
        """With catchup off: the start of the latest interval that has ended by ``now``
        (not before ``earliest``)."""

    def next_run(
        self,
        *,
        last: DataInterval | None,
        start_date: datetime | None,
        end_date: datetime | None,
        catchup: bool,
        now: datetime,
    ) -> RunInfo | None:
        earliest = self._when(start_date)
        if not catchup:
            earliest = self._skip_to_latest(earliest, self._utc(now))
        elif earliest is not None:
            earliest = self._align_next(earliest)
        if last is None:
            if earliest is None:
                return None
            start = earliest
        else:
            # From where the last run ended (on this schedule's grid, should it have changed).
            start = self._align_prev(_as_utc(last.end))
            if earliest is not None:
                start = max(start, earliest)
            if start <= _as_utc(last.start):
                start = self._after(start)
        latest = self._when(end_date)
        if latest is not None and start > latest:
            return None
        end = self._after(start)
        return RunInfo(logical_date=start, data_interval=DataInterval(start, end), run_after=end)


class CronDataIntervalTimetable(_CronSteps, _DataIntervalTimetable):
    """Runs for each interval between two fire times of a cron expression, once it ended:
    what ``schedule="<cron>"`` means in Airflow."""

    def __init__(self, cron: str, timezone: str | tzinfo | None = None) -> None:
        self._cron = _cron(cron, timezone)
        self.timezone = self._cron.zone
        self.expression = self._cron.expression
        self.description = self.expression

    def _skip_to_latest(self, earliest: datetime | None, now: datetime) -> datetime:
        last_start = self._cron.before(now)
        # On a fire time, the interval that ends now; between two, the one before.
        start = last_start if self._after(last_start) == now else self._cron.before(last_start)
        return start if earliest is None else max(start, self._align_next(earliest))

    def manual_interval(self, logical_date: datetime) -> DataInterval:
        end = self._align_prev(self._utc(logical_date))
        return DataInterval(self._cron.before(end), end)

    def serialize(self) -> dict[str, Any]:
        return {
            "type": "cron_interval",
            "expression": self.expression,
            "timezone": self.timezone.key,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CronDataIntervalTimetable:
        return cls(data["expression"], data["timezone"])


class DeltaDataIntervalTimetable(_DeltaSteps, _DataIntervalTimetable):
    """Runs for each ``delta`` since start_date, once it ended: what ``schedule=<timedelta>``
    means in Airflow. With catchup off it starts from the latest whole multiple of the delta
    since 1970 (as Airflow does), not from start_date."""

    def __init__(self, delta: Step, timezone: str | tzinfo | None = None) -> None:
        self.delta = _step(delta, "delta", positive=True)
        self.timezone = _as_zone(timezone)
        self.description = str(self.delta)

    def _skip_to_latest(self, earliest: datetime | None, now: datetime) -> datetime:
        start = self._floor(now, earliest or now) - self.delta
        return start if earliest is None else max(start, earliest)

    def _floor(self, moment: datetime, anchor: datetime) -> datetime:
        """The latest boundary at or before ``moment``: on the grid of whole deltas since
        1970, or, for months and years (which have no fixed length), stepping from
        ``anchor`` (start_date) as catchup does, as Airflow does."""
        delta = self.delta
        if isinstance(delta, relativedelta) and (delta.months or delta.years):
            boundary = anchor
            while boundary + delta <= moment:
                boundary = boundary + delta
            return boundary
        if isinstance(delta, relativedelta):  # days and less: a fixed length after all
            delta = timedelta(
                days=delta.days, hours=delta.hours, minutes=delta.minutes, seconds=delta.seconds
            )
        return _EPOCH + ((moment - _EPOCH) // delta) * delta

    def manual_interval(self, logical_date: datetime) -> DataInterval:
        moment = self._utc(logical_date)
        return DataInterval(moment - self.delta, moment)

    def serialize(self) -> dict[str, Any]:
        return {
            "type": "delta_interval",
            "delta": _encode(self.delta),
            "timezone": self.timezone.key,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DeltaDataIntervalTimetable:
        return cls(_decode(data["delta"]), data.get("timezone"))


def _as_utc(value: datetime) -> datetime:
    # A stored interval read back from SQLite may be naive; the store keeps UTC.
    return _utc(value) or value


register_kind("cron_trigger", CronTriggerTimetable.from_dict)
register_kind("delta_trigger", DeltaTriggerTimetable.from_dict)
register_kind("multiple_cron_trigger", MultipleCronTriggerTimetable.from_dict)
register_kind("cron_interval", CronDataIntervalTimetable.from_dict)
register_kind("delta_interval", DeltaDataIntervalTimetable.from_dict)
