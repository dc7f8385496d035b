"""Cron fire times the way Airflow's timetables count them, clock changes included.

Conveyor's own cron schedules (``schedule="0 2 * * *"``) have their rule for the hours a
clock change skips or repeats (``model/schedules.py``). Airflow's timetables have another:
croniter walks the wall clock, and a wall-clock time is then placed as pendulum places it:
in a skipped hour, the same minute an hour later; in a repeated hour, the second of the two.
A cron that fires every hour walks absolute time instead, so that it fires in both of a
repeated hour. The timetables use this, so that their runs are Airflow's to the minute.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter

from conveyor.model.schedules import _parse_cron


class AirflowCron:
    """A cron expression in a time zone, stepped as Airflow's ``CronMixin`` steps it."""

    def __init__(self, expression: str, zone: ZoneInfo) -> None:
        self.expression = _parse_cron(expression)
        self.zone = zone
        self.every_hour = croniter(self.expression).expanded[1] == ["*"]

    def _wall(self, moment: datetime) -> datetime:
        local = moment.astimezone(self.zone)
        return local.replace(tzinfo=None, fold=0)

    def _place(self, wall: datetime) -> datetime:
        """A wall-clock time as an instant: the second of a repeated time; a skipped one
        moved on by the length of the gap."""
        second = wall.replace(tzinfo=self.zone, fold=1)
        if second.astimezone(UTC).astimezone(self.zone).replace(tzinfo=None) == wall:
            return second.astimezone(UTC)
        return wall.replace(tzinfo=self.zone, fold=0).astimezone(UTC)  # in the gap

    def _shift(self, moment: datetime, delta: timedelta) -> datetime:
        """``moment`` moved by ``delta``: whole days on the wall clock, the rest in absolute
        time (how pendulum adds or subtracts a timedelta)."""
        sign = -1 if delta < timedelta(0) else 1
        size = abs(delta)
        if size.days:
            moment = self._place(self._wall(moment) + sign * timedelta(days=size.days))
            size -= timedelta(days=size.days)
        return (moment + sign * size).astimezone(UTC)

    def after(self, moment: datetime) -> datetime:
        """The first fire time after ``moment``."""
        return self._next_fire(moment, forward=True)

    def before(self, moment: datetime) -> datetime:
        """The last fire time before ``moment``."""
        return self._next_fire(moment, forward=False)

    def _next_fire(self, moment: datetime, *, forward: bool) -> datetime:
        """The nearest fire time after ``moment`` (``forward``), else before it."""
        wall = self._wall(moment)
        steps = croniter(self.expression, wall)
        found: datetime = steps.get_next(datetime) if forward else steps.get_prev(datetime)
        if not self.every_hour:
            return self._place(found)
        return self._shift(moment, found - wall)

    def at_or_after(self, moment: datetime) -> datetime:
        """``moment`` when it is a fire time, else the next one."""
        following = self.after(moment)
        return moment if self.before(following) == moment else following

    def at_or_before(self, moment: datetime) -> datetime:
        """``moment`` when it is a fire time, else the one before."""
        previous = self.before(moment)
        return moment if self.after(previous) == moment else previous
