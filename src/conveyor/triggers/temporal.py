"""Triggers that wait for a moment: ``DateTimeTrigger`` and ``TimeDeltaTrigger``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

from conveyor.clock import utcnow
from conveyor.triggers.base import BaseTrigger, TriggerEvent

#: The longest single sleep: a clock that moved (a suspended machine) is seen within it.
_LONGEST_NAP = 60.0


class DateTimeTrigger(BaseTrigger):
    """Fires at ``moment`` (an aware datetime) with the moment as its payload."""

    def __init__(self, moment: datetime, *, end_from_trigger: bool = False) -> None:
        super().__init__()
        if not isinstance(moment, datetime):
            raise TypeError(f"DateTimeTrigger: moment must be a datetime, got {moment!r}")
        if moment.tzinfo is None:
            raise ValueError(f"DateTimeTrigger: moment {moment.isoformat()} has no time zone")
        self.moment = moment.astimezone(UTC)
        self.end_from_trigger = end_from_trigger

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            "conveyor.triggers.temporal.DateTimeTrigger",
            {"moment": self.moment, "end_from_trigger": self.end_from_trigger},
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        while (left := (self.moment - utcnow()).total_seconds()) > 0:
            await asyncio.sleep(min(left, _LONGEST_NAP))
        yield TriggerEvent(self.moment)


class TimeDeltaTrigger(DateTimeTrigger):
    """Fires ``delta`` after it was made (stored as the moment, so a restart keeps it)."""

    def __init__(self, delta: timedelta, *, end_from_trigger: bool = False) -> None:
        super().__init__(utcnow() + delta, end_from_trigger=end_from_trigger)
