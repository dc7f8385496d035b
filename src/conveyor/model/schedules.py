"""When a DAG runs: schedules and the data intervals they cut time into.

The scheduler never imports user code, so it cannot ask a DAG "what is next?"; it asks the
DAG's ``Schedule``, rebuilt from JSON with :func:`deserialize_schedule`. Keeping this
arithmetic in one pure module (no clock, no database) lets the scheduler, the CLI and the
tests agree on exactly which runs exist, with the interval semantics data engineers expect:
a run covers the data interval ``[start, end)`` and may only start once ``end`` has passed.

All returned datetimes are aware and in UTC. Naive datetimes handed in are read in the
schedule's time zone, which is also the zone cron expressions are evaluated in (so
``0 0 * * *`` in Europe/Amsterdam fires at local midnight, across DST changes).
"""

from __future__ import annotations

import copy
import functools
import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadDateError, CroniterError, croniter

from conveyor.exceptions import DagDefinitionError
from conveyor.model.datasets import (
    AssetAll,
    Condition,
    Dataset,
    as_condition,
    as_datasets,
    condition_from_dict,
    is_alias_key,
)

UTC_ZONE = ZoneInfo("UTC")

#: Presets that stand for a cron expression. ``@once`` is not here: it is its own schedule.
CRON_PRESETS: dict[str, str] = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}
PRESET_NAMES = ("@once", *CRON_PRESETS)

_CRON_FIELDS = "minute hour day-of-month month day-of-week"
_ONE_US = timedelta(microseconds=1)
# A fixed start for croniter when only parsing, so that nothing here reads the clock.
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class DataInterval:
    """The slice of time a run processes: ``[start, end)``, both aware UTC."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class RunInfo:
    """A run the scheduler may create once ``now >= run_after``."""

    logical_date: datetime
    data_interval: DataInterval
    run_after: datetime


def _as_zone(value: str | tzinfo | None) -> ZoneInfo:
    """Normalise a time zone to a ZoneInfo, so that it can be serialized by name."""
    if value is None:
        return UTC_ZONE
    if isinstance(value, ZoneInfo):
        return value
    if isinstance(value, str):
        name: str | None = value
    else:
        # pytz zones carry ``zone``; datetime.timezone carries neither, only an offset.
        name = getattr(value, "key", None) or getattr(value, "zone", None)
        if name is None and value.utcoffset(None) is not None:
            name = _fixed_offset_name(value, value.utcoffset(None) or timedelta(0))
    try:
        return ZoneInfo(name)  # type: ignore[arg-type]
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise DagDefinitionError(
            f"unknown time zone {value!r}: expected an IANA name such as 'Europe/Amsterdam'"
        ) from None


def _fixed_offset_name(value: tzinfo, offset: timedelta) -> str:
    hours, rest = divmod(offset, timedelta(hours=1))
    if rest:
        raise DagDefinitionError(
            f"unsupported time zone {value!r}: a fixed offset must be whole hours; "
            "use an IANA name such as 'Asia/Kolkata'"
        )
    # The Etc/GMT zones count the other way round: Etc/GMT-2 is UTC+02:00.
    return "UTC" if hours == 0 else f"Etc/GMT{-hours:+d}"


class Schedule(ABC):
    """Decides which runs a DAG gets. Subclasses are immutable value objects."""

    description: str
    timezone: ZoneInfo
    #: True for Airflow 3.2's partitioned timetables: their runs are each for a partition key.
    partitioned: bool = False
    #: True for Airflow 3.3's ``PartitionedAtRuntime``: no scheduled runs, a run's key is
    #: given when it is triggered and its tasks name their events' keys as they run.
    partitioned_at_runtime: bool = False
    #: True for Airflow's timetables: their next run is decided as soon as the run before it
    #: is made, so once that run comes due the scheduler asks as of just before its time
    #: (``scheduler.due``); asking later could decide differently where ``now`` counts.
    decided_ahead: bool = False
    #: A longer description than ``description`` (a timetable's own), for the DAG's page.
    details: str = ""
    #: True for a user's own timetable, which may read the clock (scheduler/due.py sets it).
    reads_clock: bool = False
    #: Airflow's ``timetable.can_be_scheduled``: whether runs come without a person (False
    #: for ``schedule=None``); a DAG's param defaults are checked at parse only when they do.
    can_be_scheduled: bool = True

    @abstractmethod
    def next_run(
        self,
        *,
        last: DataInterval | None,
        start_date: datetime | None,
        end_date: datetime | None,
        catchup: bool,
        now: datetime,
    ) -> RunInfo | None:
        """The next scheduled run to create after the run whose data interval is ``last``.

        ``last`` is None when no scheduled run exists yet. The result may lie in the future
        (the caller waits until ``run_after``). None when there is no further run.
        """

    @abstractmethod
    def serialize(self) -> dict[str, Any]:
        """A JSON-ready dict that :func:`deserialize_schedule` turns back into this schedule."""

    def previous_logical_date(
        self, logical_date: datetime, start_date: datetime | None
    ) -> datetime | None:
        """The logical date of the scheduled run before the one at ``logical_date``; None
        when the schedule has no regular intervals or no earlier run."""
        return None

    def manual_interval(self, logical_date: datetime) -> DataInterval:
        """The data interval of a manually triggered run: the instant it was asked for."""
        moment = self._utc(logical_date)
        return DataInterval(moment, moment)

    def resolve_partition_date(self, partition_key: str | None) -> datetime | None:
        """The moment a partition key's partition starts, for a run given that key; None
        when there is no key or it tells no date. ValueError (``InvalidPartitionKey``) when
        the key is not one this schedule writes."""
        if partition_key is None or not self.partitioned or self.partitioned_at_runtime:
            return None
        return self.decode_partition_date(partition_key)

    def decode_partition_date(self, partition_key: str) -> datetime | None:
        """A partitioned schedule's reading of a key's date; None: its keys tell none."""
        return None

    def localize_partition_datetime(self, moment: datetime) -> datetime:
        """A bound of a ``partition_date`` window as a moment: a naive one is UTC here; a
        cron timetable reads its wall clock in its own zone."""
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)

    def _utc(self, value: datetime) -> datetime:
        if value.tzinfo is None:
            value = value.replace(tzinfo=self.timezone)
        moment = value.astimezone(UTC)
        if type(moment) is not datetime:  # pendulum's (a task's context): its arithmetic differs
            moment = datetime(*moment.timetuple()[:6], moment.microsecond, tzinfo=UTC)
        return moment

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Schedule) or type(other) is not type(self):
            return NotImplemented
        return self.serialize() == other.serialize()

    def __hash__(self) -> int:
        return hash((type(self).__name__, repr(sorted(self.serialize().items()))))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.description!r}, timezone={self.timezone.key!r})"


class _IntervalSchedule(Schedule):
    """A schedule whose runs cover back-to-back intervals between successive fire times.

    Subclasses only say where the fire times are; the catchup and end_date rules live here
    once, so that cron and timedelta schedules cannot drift apart.
    """

    @abstractmethod
    def _first_at_or_after(self, moment: datetime, anchor: datetime) -> datetime:
        """The earliest fire time >= moment (all UTC; anchor is the start_date)."""

    @abstractmethod
    def _next_after(self, moment: datetime, anchor: datetime) -> datetime:
        """The earliest fire time > moment."""

    @abstractmethod
    def _last_at_or_before(self, moment: datetime, anchor: datetime) -> datetime | None:
        """The latest fire time <= moment, or None if there is none (not on or after anchor)."""

    def next_run(
        self,
        *,
        last: DataInterval | None,
        start_date: datetime | None,
        end_date: datetime | None,
        catchup: bool,
        now: datetime,
    ) -> RunInfo | None:
        if start_date is None:
            return None
        anchor = self._utc(start_date)
        now = self._utc(now)
        end_limit = self._utc(end_date) if end_date is not None else None

        start = self._first_at_or_after(anchor, anchor)
        if last is not None:
            # Continue from where the last run stopped (even if a changed schedule left it off
            # the grid: no data is skipped), unless start_date was moved past it.
            start = max(start, _as_utc(last.end))

        if not catchup:
            latest = self._latest_complete_start(now, anchor, end_limit)
            if latest is not None and latest > start:
                start = latest

        if end_limit is not None and start > end_limit:
            return None
        end = self._next_after(start, anchor)
        return RunInfo(logical_date=start, data_interval=DataInterval(start, end), run_after=end)

    def previous_logical_date(
        self, logical_date: datetime, start_date: datetime | None
    ) -> datetime | None:
        if start_date is None:
            return None
        anchor = self._utc(start_date)
        return self._last_at_or_before(self._utc(logical_date) - _ONE_US, anchor)

    def _latest_complete_start(
        self, now: datetime, anchor: datetime, end_limit: datetime | None
    ) -> datetime | None:
        """Start of the latest interval with end <= now, among those starting by end_limit."""
        last_end = self._last_at_or_before(now, anchor)
        if last_end is None:
            return None
        start = self._last_at_or_before(last_end - _ONE_US, anchor)
        if start is None or end_limit is None:
            return start
        # Skipping ahead must not jump past end_date: the DAG's final interval still runs.
        final = self._last_at_or_before(end_limit, anchor)
        if final is None:
            return None
        return min(start, final)


#: Cron steps a rule keeps the answers of (see ``CronSchedule._step``).
_STEPS_KEPT = 256
#: Cron rules a process keeps parsed (see ``_cron_rule``).
_RULES_KEPT = 1024


class _CronRule:
    """A cron expression in one time zone, parsed once per process and shared by every
    schedule that says the same: a folder of 1,000 DAGs "@daily" parses it once (twice
    croniter's expansion a DAG otherwise, in every process that imports the files), and
    their runs, on the same ticks, ask for the same steps."""

    def __init__(self, expression: str) -> None:
        self.expression = _parse_cron(expression)
        # Parsing the expression costs most of a step: each step copies this one instead.
        self.parsed = croniter(self.expression, _EPOCH)
        self.steps: dict[tuple[datetime, bool], datetime] = {}
        # The rule for the hour repeated when clocks go back: a cron that names its hours
        # ("30 2 * * *") fires once, at the first of the two; one that fires every hour fires
        # in both, since both hours really pass.
        # Sequence: croniter's stubs say list[str], but a named hour is an int.
        hours: Sequence[int | str] = self.parsed.expanded[1]
        self.every_hour = hours == ["*"] or set(hours) == set(range(24))


_rules: dict[tuple[str, str], _CronRule] = {}


def _cron_rule(expression: str, zone: ZoneInfo) -> _CronRule:
    """The shared rule for ``expression`` in ``zone`` (the steps it keeps are the zone's);
    an invalid one raises, and is not kept."""
    key = (expression, zone.key)
    rule = _rules.get(key)
    if rule is None:
        rule = _CronRule(expression)
        if len(_rules) >= _RULES_KEPT:
            _rules.clear()
        _rules[key] = rule
    return rule


class CronSchedule(_IntervalSchedule):
    """Runs between consecutive fire times of a cron expression, evaluated in ``timezone``."""

    def __init__(self, expression: str, timezone: str | tzinfo | None = None) -> None:
        self.description = expression
        self.timezone = _as_zone(timezone)
        self._rule = _cron_rule(expression, self.timezone)
        self.expression = self._rule.expression

    def serialize(self) -> dict[str, Any]:
        return {"type": "cron", "expression": self.description, "timezone": self.timezone.key}

    def _local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.timezone)

    def _is_repeat(self, fire: datetime) -> bool:
        """True for the second occurrence of a wall-clock time that we fire at only once."""
        if self._rule.every_hour:
            return False
        # Recompute fold from the instant: croniter's results do not always carry it.
        local = fire.astimezone(UTC).astimezone(self.timezone)
        return local.fold == 1 and local.replace(fold=0).utcoffset() != local.utcoffset()

    def _step(self, moment: datetime, *, forward: bool) -> datetime:
        """The fire time after (or before) ``moment``. A run's next interval, its previous
        logical date for each of its tasks' contexts, and the scheduler's next due time ask
        for the same few steps again; each costs a croniter walk, so answers are kept, for
        every schedule of the same rule."""
        steps, key = self._rule.steps, (moment, forward)
        found = steps.get(key)
        if found is None:
            if len(steps) >= _STEPS_KEPT:
                steps.clear()
            found = steps[key] = self._walk(moment, forward=forward)
        return found

    def _walk(self, moment: datetime, *, forward: bool) -> datetime:
        it = copy.copy(self._rule.parsed)  # a copy of its own: rules are shared by threads
        it.set_current(self._local(moment), force=True)
        while True:
            fire = it.get_next(datetime) if forward else it.get_prev(datetime)
            if not self._is_repeat(fire):
                return fire.astimezone(UTC)

    def _next_after(self, moment: datetime, anchor: datetime) -> datetime:
        return self._step(moment, forward=True)

    def _first_at_or_after(self, moment: datetime, anchor: datetime) -> datetime:
        # croniter's get_next is strictly after and drops sub-minute parts, so one
        # microsecond back makes a moment exactly on a fire time count.
        return self._step(moment - _ONE_US, forward=True)

    def _last_at_or_before(self, moment: datetime, anchor: datetime) -> datetime | None:
        fire = self._step(moment + _ONE_US, forward=False)
        # Walk forward from croniter's answer: the forward direction defines the intervals,
        # so this keeps both directions consistent even around DST changes.
        while (following := self._next_after(fire, anchor)) <= moment:
            fire = following
        while fire > moment:  # defensive: never trust a "previous" that is not before
            fire = self._step(fire, forward=False)
        return fire

    def manual_interval(self, logical_date: datetime) -> DataInterval:
        """A manual run covers the last whole interval by ``logical_date``: from the fire
        time before the latest one to the latest (Airflow's data-interval timetables, what a
        cron string means here; a trigger timetable's manual run has an instant)."""
        moment = self._utc(logical_date)
        end = self._last_at_or_before(moment, moment)
        assert end is not None  # a cron rule always fired before any moment
        return DataInterval(self._step(end, forward=False), end)


class DeltaSchedule(_IntervalSchedule):
    """Runs every ``delta`` of absolute time, counted from start_date."""

    def __init__(self, delta: timedelta, timezone: str | tzinfo | None = None) -> None:
        if not isinstance(delta, timedelta) or delta <= timedelta(0):
            raise DagDefinitionError(
                f"invalid schedule timedelta {delta!s}: expected a positive duration "
                "such as timedelta(hours=1)"
            )
        self.delta = delta
        self.timezone = _as_zone(timezone)
        self.description = f"every {delta}"

    def serialize(self) -> dict[str, Any]:
        seconds = self.delta.total_seconds()
        return {
            "type": "timedelta",
            "seconds": int(seconds) if seconds.is_integer() else seconds,
            "timezone": self.timezone.key,
        }

    def __repr__(self) -> str:
        return f"DeltaSchedule({self.delta!r}, timezone={self.timezone.key!r})"

    # Fire times are anchor + k * delta for k >= 0; integer timedelta division keeps it exact.
    def _first_at_or_after(self, moment: datetime, anchor: datetime) -> datetime:
        if moment <= anchor:
            return anchor
        steps = -((anchor - moment) // self.delta)  # ceiling division
        return anchor + steps * self.delta

    def _next_after(self, moment: datetime, anchor: datetime) -> datetime:
        return self._first_at_or_after(moment + _ONE_US, anchor)

    def _last_at_or_before(self, moment: datetime, anchor: datetime) -> datetime | None:
        if moment < anchor:
            return None
        return anchor + ((moment - anchor) // self.delta) * self.delta

    def manual_interval(self, logical_date: datetime) -> DataInterval:
        """A manual run covers the ``delta`` that ends at ``logical_date`` (Airflow's
        data-interval timetable for a timedelta)."""
        moment = self._utc(logical_date)
        return DataInterval(moment - self.delta, moment)


class _IntervalFree(Schedule):
    """A schedule without regular intervals, whose timezone only reads naive dates: its
    serialized form is its ``kind`` and that timezone."""

    kind: str

    def __init__(self, timezone: str | tzinfo | None = None) -> None:
        self.timezone = _as_zone(timezone)

    def serialize(self) -> dict[str, Any]:
        return {"type": self.kind, "timezone": self.timezone.key}


class OnceSchedule(_IntervalFree):
    """A single run at start_date, with the zero-length interval [start_date, start_date]."""

    description = "@once"
    kind = "once"

    def next_run(
        self,
        *,
        last: DataInterval | None,
        start_date: datetime | None,
        end_date: datetime | None,
        catchup: bool,
        now: datetime,
    ) -> RunInfo | None:
        if last is not None or start_date is None:
            return None
        start = self._utc(start_date)
        if end_date is not None and start > self._utc(end_date):
            return None
        return RunInfo(
            logical_date=start, data_interval=DataInterval(start, start), run_after=start
        )


class NoSchedule(_IntervalFree):
    """Manual only: runs exist only when someone triggers them."""

    description = "None"
    kind = "none"
    can_be_scheduled = False

    def next_run(self, **_: Any) -> RunInfo | None:
        return None  # whatever it is asked: no run comes from the clock


class DatasetSchedule(Schedule):
    """Runs when its datasets' condition holds over the updates since the DAG's last such
    run: every one of a list, or ``a & b``, ``a | b`` (aliases too, see model.datasets).

    Never yields a time-based run: the scheduler makes the runs from dataset events.
    """

    #: Every dataset schedule's description starts so; the store finds consumers by it.
    PREFIX = "on dataset updates: "

    def __init__(self, datasets: Any, timezone: str | tzinfo | None = None) -> None:
        if isinstance(datasets, list | tuple) and not datasets:
            raise DagDefinitionError(
                "schedule=[] names no dataset: give Dataset objects, or None for manual only"
            )
        if isinstance(datasets, str | Dataset):
            datasets = [datasets]
        self.condition = as_condition(datasets, "schedule")
        #: A plain "all of these datasets" (the shape stored before conditions existed).
        self._plain = isinstance(self.condition, AssetAll) and all(
            isinstance(o, Dataset) for o in self.condition.objects
        )
        self.datasets = tuple(as_datasets([k for k in self.uris if not is_alias_key(k)], "s"))
        self.timezone = _as_zone(timezone)
        text = self.PREFIX + ", ".join(self.uris)
        if not self._plain:
            text = self.PREFIX + _describe(self.condition.as_dict())
        # The dag table keeps 200 characters of it; the full list is in the serialized DAG.
        self.description = text if len(text) <= 200 else text[:190] + f"... ({len(self.uris)})"

    @property
    def uris(self) -> list[str]:
        """Every key the condition names: dataset URIs and alias keys."""
        return list(self.condition.schedule_keys())

    def ready(self, updated: set[str]) -> bool:
        """Whether a run is due, given the keys with a pending update."""
        return self.condition.holds(updated)

    def next_run(
        self,
        *,
        last: DataInterval | None,
        start_date: datetime | None,
        end_date: datetime | None,
        catchup: bool,
        now: datetime,
    ) -> RunInfo | None:
        return None

    def serialize(self) -> dict[str, Any]:
        found = {"type": "datasets", "uris": self.uris, "timezone": self.timezone.key}
        if not self._plain:
            found["condition"] = self.condition.as_dict()
        return found


def _describe(data: Any) -> str:
    if isinstance(data, str):
        return data
    if "alias" in data:
        return f"alias {data['alias']}"
    kind, parts = next(iter(data.items()))
    joined = (" & " if kind == "all" else " | ").join(_describe(p) for p in parts)
    return f"({joined})" if len(parts) > 1 else joined


def _as_utc(value: datetime) -> datetime:
    # DataInterval is UTC by contract; a naive one (e.g. read back from SQLite) is UTC too.
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _parse_cron(expression: str) -> str:
    """Resolve a preset and validate; returns the 5-field expression croniter will get."""
    text = expression.strip()
    if text.startswith("@"):
        if text.lower() == "@once":
            raise DagDefinitionError(
                "'@once' is not a cron expression: use OnceSchedule() or schedule='@once'"
            )
        try:
            return CRON_PRESETS[text.lower()]
        except KeyError:
            raise DagDefinitionError(
                f"invalid schedule preset {expression!r}: expected one of {', '.join(PRESET_NAMES)}"
            ) from None
    fields = text.split()
    if len(fields) != 5:
        # croniter also takes seconds and years as extra fields; we do not, so that
        # "0 0 * * * 5" cannot silently mean "at second 5".
        raise DagDefinitionError(
            f"invalid cron expression {expression!r}: expected 5 fields "
            f"({_CRON_FIELDS}), got {len(fields)}"
        )
    text = " ".join(fields)
    try:
        # Probe one fire time too: "0 0 31 2 *" parses but never fires.
        croniter(text, _EPOCH).get_next(datetime)
    except CroniterBadDateError:
        raise DagDefinitionError(
            f"invalid cron expression {expression!r}: it never fires "
            "(no date matches its day and month fields)"
        ) from None
    except CroniterError as exc:
        raise DagDefinitionError(
            f"invalid cron expression {expression!r}: {exc}; expected 5 fields: {_CRON_FIELDS}"
        ) from None
    return text


def schedule_from_arg(
    value: str | timedelta | Schedule | Sequence[Dataset] | Dataset | None,
    timezone: str | tzinfo | None = None,
) -> Schedule:
    """Turn what a DAG author wrote as ``schedule=`` into a Schedule.

    Accepts a cron expression, a preset (``@once``, ``@hourly``, ``@daily``, ...), a
    timedelta, None (manual only), a list of datasets or a Schedule, which keeps its own
    time zone.
    """
    if isinstance(value, Schedule):
        return value
    if value is None:
        return NoSchedule(timezone)
    if isinstance(value, list | tuple | Condition):
        return DatasetSchedule(value, timezone)
    if isinstance(value, timedelta):
        return DeltaSchedule(value, timezone)
    if isinstance(value, str):
        if value.strip().lower() == "@once":
            return OnceSchedule(timezone)
        return CronSchedule(value, timezone)
    raise DagDefinitionError(
        f"invalid schedule {value!r}: expected a cron expression, a preset "
        f"({', '.join(PRESET_NAMES)}), a timedelta, None, a Schedule or a timetable"
    )


def deserialize_schedule(data: dict[str, Any]) -> Schedule:
    """Rebuild a schedule from :meth:`Schedule.serialize` output.

    Schedules are immutable, so one object serves every DAG version with the same schedule:
    a cron expression is parsed (and probed with croniter) once, not once per version.
    """
    try:
        key = json.dumps(data, sort_keys=True)
    except (TypeError, ValueError):
        return _build_schedule(data)
    return _cached_schedule(key)


@functools.lru_cache(maxsize=1024)
def _cached_schedule(key: str) -> Schedule:
    return _build_schedule(json.loads(key))


#: Schedule kinds defined in other modules (Airflow's timetables): ``type`` -> builder.
_KINDS: dict[str, Callable[[dict[str, Any]], Schedule]] = {}


def register_kind(kind: str, build: Callable[[dict[str, Any]], Schedule]) -> None:
    """Let :func:`deserialize_schedule` rebuild schedules whose ``type`` is ``kind``."""
    _KINDS[kind] = build


def _build_schedule(data: dict[str, Any]) -> Schedule:
    kind = data.get("type") if isinstance(data, dict) else None
    timezone = data.get("timezone") if isinstance(data, dict) else None
    if isinstance(kind, str) and kind in _KINDS:
        return _KINDS[kind](data)
    if kind == "cron":
        return CronSchedule(data["expression"], timezone)
    if kind == "timedelta":
        return DeltaSchedule(timedelta(seconds=data["seconds"]), timezone)
    if kind == "once":
        return OnceSchedule(timezone)
    if kind == "none":
        return NoSchedule(timezone)
    if kind == "datasets":
        if "condition" in data:
            return DatasetSchedule(condition_from_dict(data["condition"]), timezone)
        return DatasetSchedule(data["uris"], timezone)
    raise DagDefinitionError(
        f"cannot read schedule {data!r}: expected a dict with type cron, timedelta, once, "
        f"none, datasets or one of {', '.join(sorted(_KINDS))}"
    )
