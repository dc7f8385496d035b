"""``DayOfWeekSensor``: done on the given days of the week."""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum
from typing import Any

from conveyor.clock import utcnow
from conveyor.exceptions import DagDefinitionError
from conveyor.sensors.base import BaseSensor


class WeekDay(IntEnum):
    """Days of the week, numbered as ``isoweekday()`` numbers them (Monday = 1)."""

    MONDAY = 1
    TUESDAY = 2
    WEDNESDAY = 3
    THURSDAY = 4
    FRIDAY = 5
    SATURDAY = 6
    SUNDAY = 7

    @classmethod
    def convert(cls, day: str | int | WeekDay) -> WeekDay:
        if isinstance(day, str):
            try:
                return cls[day.strip().upper()]
            except KeyError:
                names = ", ".join(d.name.title() for d in cls)
                raise DagDefinitionError(
                    f"unknown week day {day!r}: expected one of {names}"
                ) from None
        try:
            return cls(day)
        except ValueError:
            raise DagDefinitionError(
                f"unknown week day {day!r}: expected 1 (Monday) to 7"
            ) from None


def week_days(value: str | int | WeekDay | Iterable[str | int | WeekDay]) -> frozenset[WeekDay]:
    if isinstance(value, str | int):
        return frozenset({WeekDay.convert(value)})
    return frozenset(WeekDay.convert(day) for day in value)


class DayOfWeekSensor(BaseSensor):
    """Done when today (UTC), or the run's logical date with ``use_task_logical_date``, is
    one of ``week_day``: a day's name, a WeekDay, or a set of them."""

    def __init__(
        self,
        task_id: str,
        *,
        week_day: str | int | WeekDay | Iterable[str | int | WeekDay],
        use_task_logical_date: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        self.week_day = week_days(week_day)
        self.use_task_logical_date = bool(use_task_logical_date)

    def poke(self, context: dict[str, Any]) -> bool:
        moment = context["logical_date"] if self.use_task_logical_date else utcnow()
        today = WeekDay(moment.isoweekday())
        wanted = ", ".join(d.name.title() for d in sorted(self.week_day))
        print(f"[conveyor] {self.task_id}: it is {today.name.title()}; waiting for {wanted}")
        return today in self.week_day
