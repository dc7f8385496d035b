"""Airflow 3.3's rollup windows and wait policies, pure: which upstream partitions make up
one downstream partition, and when enough of them have arrived.

A window works on the decoded form of a downstream key (a period's start for the temporal
mappers, the key itself otherwise): ``DayWindow`` names the 24 hour starts of a day,
``SegmentWindow(["us", "eu"])`` a fixed set of keys. ``RollupMapper`` encodes each member
back into an upstream key and waits for them as its wait policy says; ``FanOutMapper`` makes
one downstream key of each.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Set
from datetime import datetime, timedelta
from typing import Any, ClassVar

from conveyor.exceptions import DagDefinitionError


class Direction(enum.StrEnum):
    """Which period a window names around its anchor."""

    FORWARD = "forward"  # the period starting at the anchor (the default)
    BACKWARD = "backward"  # the period ending at the anchor


_Direction = Direction  # the class attribute below takes the name inside Window's body


class Window:
    """The decoded upstream members of one decoded downstream period."""

    #: ``Window.Direction.BACKWARD``, as Airflow spells it.
    Direction: ClassVar[type[_Direction]] = _Direction
    kind: ClassVar[str] = ""
    #: What ``to_upstream`` expects: a temporal mapper's ``datetime``, or a key's ``str``.
    expected_decoded_type: ClassVar[type] = datetime

    def __init__(self, *, direction: _Direction | str = _Direction.FORWARD) -> None:
        try:
            self.direction = _Direction(direction)
        except ValueError:
            raise DagDefinitionError(
                f"{type(self).__name__}: direction must be 'forward' or 'backward', "
                f"got {direction!r}"
            ) from None

    def to_upstream(self, anchor: Any) -> Iterable[Any]:
        raise NotImplementedError

    def serialize(self) -> dict[str, Any]:
        return {"type": self.kind, "direction": self.direction.value}

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.serialize() == self.serialize()

    def __hash__(self) -> int:
        return hash(repr(self.serialize()))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(direction={self.direction.value!r})"


def _shift_months(moment: datetime, months: int) -> datetime:
    total = moment.month - 1 + months
    return moment.replace(year=moment.year + total // 12, month=total % 12 + 1)


def _day_one(moment: datetime, window: Window) -> None:
    # Month steps are only safe from day 1 (Jan 31 + 1 month has no day).
    if moment.day != 1:
        raise ValueError(
            f"{type(window).__name__} expects a period start on day 1 of the month, "
            f"got {moment.isoformat()}"
        )


class _Steps(Window):
    """``count`` members one ``step`` apart, from the anchor (forward) or up to it."""

    count: ClassVar[int] = 0
    months: ClassVar[bool] = False
    step: ClassVar[timedelta] = timedelta(0)

    def _at(self, base: datetime, i: int) -> datetime:
        return _shift_months(base, i) if self.months else base + i * self.step

    def to_upstream(self, anchor: datetime) -> list[datetime]:
        if self.months:
            _day_one(anchor, self)
        backward = self.direction is Direction.BACKWARD
        first = self._at(anchor, -(self.count - 1)) if backward else anchor
        return [self._at(first, i) for i in range(self.count)]


class HourWindow(_Steps):
    """The 60 minute starts of an hour."""

    kind, count, step = "hour", 60, timedelta(minutes=1)


class DayWindow(_Steps):
    """The 24 hour starts of a day (24 steps of the wall clock, whatever a DST change does)."""

    kind, count, step = "day", 24, timedelta(hours=1)


class WeekWindow(_Steps):
    """The 7 day starts of a week."""

    kind, count, step = "week", 7, timedelta(days=1)


class QuarterWindow(_Steps):
    """The 3 month starts of a quarter."""

    kind, count, months = "quarter", 3, True


class YearWindow(_Steps):
    """The 12 month starts of a year."""

    kind, count, months = "year", 12, True


class MonthWindow(Window):
    """The day starts of a calendar month (28 to 31); backward: the days after the same day
    of the month before, up to the anchor."""

    kind = "month"

    def to_upstream(self, anchor: datetime) -> list[datetime]:
        _day_one(anchor, self)
        if self.direction is Direction.BACKWARD:
            before = _shift_months(anchor, -1)
            return [before + timedelta(days=i + 1) for i in range((anchor - before).days)]
        after = _shift_months(anchor, 1)
        return [anchor + timedelta(days=i) for i in range((after - anchor).days)]


class SegmentWindow(Window):
    """A fixed set of keys making up one downstream partition, whatever its key (paired with
    ``FixedKeyMapper`` in a ``RollupMapper``: wait for every region)."""

    kind = "segment"
    expected_decoded_type = str

    def __init__(self, segments: Iterable[str]) -> None:
        super().__init__()
        found: list[str] = []
        for i, item in enumerate(segments):
            if not isinstance(item, str) or not item:
                raise DagDefinitionError(
                    f"SegmentWindow segment keys must be non-empty str; got {item!r} at index {i}"
                )
            found.append(item)
        if not found:
            raise DagDefinitionError("SegmentWindow requires at least one segment key")
        self.segments = frozenset(found)

    def to_upstream(self, anchor: Any) -> frozenset[str]:
        return self.segments

    def serialize(self) -> dict[str, Any]:
        return {"type": self.kind, "segments": sorted(self.segments)}

    def __repr__(self) -> str:
        return f"SegmentWindow({sorted(self.segments)!r})"


class WaitPolicy:
    """When a rollup's downstream run may be made, from the upstream keys expected and
    those arrived."""

    kind: ClassVar[str] = ""

    def satisfied(self, *, matched: Set[str], expected: Set[str]) -> bool:
        raise NotImplementedError

    def unreachable(self, expected: int) -> bool:
        """Whether no number of arrivals can satisfy it, for a window of that size."""
        return False

    def serialize(self) -> dict[str, Any]:
        return {"type": self.kind}

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.serialize() == self.serialize()

    def __hash__(self) -> int:
        return hash(repr(self.serialize()))


class WaitForAll(WaitPolicy):
    """Every expected key (the default; an empty window is satisfied)."""

    kind = "wait_for_all"

    def satisfied(self, *, matched: Set[str], expected: Set[str]) -> bool:
        return expected <= matched

    def __repr__(self) -> str:
        return "WaitForAll()"


class MinimumCount(WaitPolicy):
    """``n > 0``: at least ``n`` expected keys; ``n < 0``: at most ``-n`` still missing."""

    kind = "minimum_count"

    def __init__(self, n: int) -> None:
        if isinstance(n, bool) or not isinstance(n, int) or n == 0:
            raise DagDefinitionError(
                f"MinimumCount(n): n must be a non-zero int (0 would always fire), got {n!r}; "
                "use WaitForAll() to require every key"
            )
        self.n = n

    def satisfied(self, *, matched: Set[str], expected: Set[str]) -> bool:
        arrived = len(matched & expected)
        return arrived >= (self.n if self.n > 0 else max(0, len(expected) + self.n))

    def unreachable(self, expected: int) -> bool:
        return self.n > expected

    def serialize(self) -> dict[str, Any]:
        return {"type": self.kind, "n": self.n}

    def __repr__(self) -> str:
        return f"MinimumCount(n={self.n})"


def _directed(cls: type[Window]) -> Callable[[dict[str, Any]], Window]:
    return lambda data: cls(direction=data["direction"])


_WINDOWS: dict[str, Callable[[dict[str, Any]], Window]] = {
    "segment": lambda data: SegmentWindow(data["segments"]),
    **{
        cls.kind: _directed(cls)
        for cls in (HourWindow, DayWindow, WeekWindow, MonthWindow, QuarterWindow, YearWindow)
    },
}
WINDOW_CLASSES = frozenset(
    {HourWindow, DayWindow, WeekWindow, MonthWindow, QuarterWindow, YearWindow, SegmentWindow}
)


def window_from_dict(data: dict[str, Any]) -> Window:
    """The inverse of ``Window.serialize``."""
    build = _WINDOWS.get(str(data.get("type")))
    if build is None:
        raise DagDefinitionError(f"cannot read partition window {data!r}")
    return build(data)


def policy_from_dict(data: dict[str, Any]) -> WaitPolicy:
    """The inverse of ``WaitPolicy.serialize``."""
    if data.get("type") == "minimum_count":
        return MinimumCount(int(data["n"]))
    if data.get("type") == "wait_for_all":
        return WaitForAll()
    raise DagDefinitionError(f"cannot read wait policy {data!r}")


def as_window(value: Any, where: str) -> Window:
    """A window the DAG file gave; a user's own class is refused (the scheduler rebuilds
    windows from the stored form)."""
    if type(value) not in WINDOW_CLASSES:
        raise DagDefinitionError(
            f"{where}: expected one of Airflow's windows (HourWindow, DayWindow, WeekWindow, "
            f"MonthWindow, QuarterWindow, YearWindow, SegmentWindow), got {value!r}"
        )
    window: Window = value
    return window


def as_policy(value: Any, where: str) -> WaitPolicy:
    if type(value) not in (WaitForAll, MinimumCount):
        raise DagDefinitionError(
            f"{where}: expected WaitForAll() or MinimumCount(n), got {value!r}"
        )
    policy: WaitPolicy = value
    return policy
