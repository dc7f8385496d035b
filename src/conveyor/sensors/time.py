"""``TimeSensor``, ``DateTimeSensor`` and ``TimeDeltaSensor``: wait until a moment is reached."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any, ClassVar, TypeVar
from zoneinfo import ZoneInfo

from conveyor.clock import utcnow
from conveyor.exceptions import DagDefinitionError
from conveyor.model.task import _as_timedelta
from conveyor.sensors.base import BaseSensor
from conveyor.triggers.temporal import DateTimeTrigger

_T = TypeVar("_T")


def _parsed(task_id: str, text: str, parse: Callable[[str], _T], expected: str) -> _T:
    """``target_time`` given as text, read by ``parse``; ``expected`` says the form."""
    try:
        return parse(text)
    except ValueError:
        raise DagDefinitionError(
            f"task {task_id!r}: target_time {text!r} is not {expected}"
        ) from None


class DateTimeSensor(BaseSensor):
    """Done once ``target_time`` has passed: a datetime, or an ISO text (templates allowed,
    e.g. ``"{{ data_interval_end }}"``). A naive time is read in the DAG's time zone."""

    template_fields: ClassVar[tuple[str, ...]] = ("target_time",)

    def __init__(self, task_id: str, *, target_time: datetime | str, **kwargs: Any) -> None:
        super().__init__(task_id, **kwargs)
        self.target_time = target_time

    def _target(self) -> datetime:
        value = self.target_time
        if isinstance(value, str):
            value = _parsed(self.task_id, value, datetime.fromisoformat, "an ISO date-time")
        if value.tzinfo is None:
            value = value.replace(tzinfo=self.dag.timezone if self.dag else ZoneInfo("UTC"))
        return value

    def poke(self, context: dict[str, Any]) -> Any:
        target = self._target()
        print(f"[conveyor] {self.task_id}: waiting until {target.isoformat()}", flush=True)
        return utcnow() >= target

    def trigger_for(self, context: dict[str, Any]) -> Any:
        return DateTimeTrigger(self._target())


class TimeDeltaSensor(BaseSensor):
    """Done once ``delta`` has passed after the end of the run's data interval."""

    def __init__(self, task_id: str, *, delta: timedelta | float, **kwargs: Any) -> None:
        super().__init__(task_id, **kwargs)
        found = _as_timedelta(delta, f"task {self.task_id!r}: delta")
        if found is None:
            raise DagDefinitionError(f"task {self.task_id!r}: delta is required")
        self.delta = found

    def poke(self, context: dict[str, Any]) -> Any:
        target = context["data_interval_end"] + self.delta
        print(f"[conveyor] {self.task_id}: waiting until {target.isoformat()}", flush=True)
        return utcnow() >= target

    def trigger_for(self, context: dict[str, Any]) -> Any:
        return DateTimeTrigger(context["data_interval_end"] + self.delta)


class TimeDeltaSensorAsync(TimeDeltaSensor):
    """``TimeDeltaSensor`` that defers to a trigger (Airflow's name for it)."""

    def __init__(self, task_id: str, **kwargs: Any) -> None:
        kwargs.setdefault("deferrable", True)
        super().__init__(task_id, **kwargs)


class DateTimeSensorAsync(DateTimeSensor):
    """``DateTimeSensor`` that defers to a trigger (Airflow's name for it)."""

    def __init__(self, task_id: str, **kwargs: Any) -> None:
        kwargs.setdefault("deferrable", True)
        super().__init__(task_id, **kwargs)


class TimeSensor(BaseSensor):
    """Done once the time of day ``target_time`` has passed on the day the run's data
    interval ends, in the DAG's time zone."""

    def __init__(self, task_id: str, *, target_time: time | str, **kwargs: Any) -> None:
        super().__init__(task_id, **kwargs)
        if isinstance(target_time, str):
            target_time = _parsed(self.task_id, target_time, time.fromisoformat, "HH:MM[:SS]")
        self.target_time = target_time

    def poke(self, context: dict[str, Any]) -> Any:
        zone = self.dag.timezone if self.dag else ZoneInfo("UTC")
        day = context["data_interval_end"].astimezone(zone).date()
        target = datetime.combine(day, self.target_time, tzinfo=zone)
        if context["data_interval_end"] - context["data_interval_start"] <= timedelta(0):
            day = utcnow().astimezone(zone).date()  # a manual run: today
            target = datetime.combine(day, self.target_time, tzinfo=zone)
        print(f"[conveyor] {self.task_id}: waiting until {target.isoformat()}", flush=True)
        return utcnow() >= target
