"""Deadline alerts (Airflow 3.1+'s ``deadline=``): a need-by time per run, and a callback
called once if the run has not succeeded by then.

Pure definitions and arithmetic. A DAG's ``deadline=`` is one :class:`DeadlineAlert` or a
list; each names a reference (when to count from), an interval (how far from it, negative
allowed) and a callback (:class:`AsyncCallback` or :class:`SyncCallback`). The store works
out each run's deadline when it makes the run (``store/deadlines.py``); the scheduler finds
the missed ones (``scheduler/deadlines.py``); the callback runs in the scheduler's callback
process (``deadline_callbacks.py``).

What Conveyor does not take is refused where the DAG file says it: a ``VariableInterval``
and a reference of the user's own (``@deadline_reference``), which Airflow evaluates with a
database session of its own.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from conveyor.exceptions import DagDefinitionError

#: The key of a reference's JSON that names its kind (Airflow's class names).
REFERENCE_TYPE_FIELD = "reference_type"

DOCS = "docs/airflow.md#deadline-alerts"


# -- callbacks ---------------------------------------------------------------------------------


class Callback:
    """What a missed deadline calls: a top-level callable (or its dotted path) and the
    keyword arguments to call it with; ``context`` is added by Conveyor when the callable
    takes it (or ``**kwargs``)."""

    kind: ClassVar[str] = ""

    def __init__(
        self, callback_callable: Callable[..., Any] | str, kwargs: dict[str, Any] | None = None
    ) -> None:
        if kwargs and "context" in kwargs:
            raise ValueError("context is a reserved kwarg for this class")
        if callable(callback_callable):
            self.verify_callable(callback_callable)
            self.callable: Callable[..., Any] | None = callback_callable
            module = getattr(callback_callable, "__module__", None) or ""
            name = (
                getattr(callback_callable, "__qualname__", None) or type(callback_callable).__name__
            )
            self.path = f"{module}.{name}" if module else name
        elif isinstance(callback_callable, str) and _is_dotted_path(callback_callable.strip()):
            self.callable = None
            self.path = callback_callable.strip()
        else:
            raise ImportError(f"`{callback_callable}` doesn't look like a valid dot path.")
        self.kwargs: dict[str, Any] = dict(kwargs or {})

    @classmethod
    def verify_callable(cls, callback: Callable[..., Any]) -> None:
        """Subclasses check what kind of callable they take."""

    def serialize(self) -> dict[str, Any]:
        return {"kind": self.kind, "path": self.path, "kwargs": self.kwargs}

    def __eq__(self, other: object) -> bool:
        if type(self) is not type(other):
            return NotImplemented
        assert isinstance(other, Callback)
        return self.serialize() == other.serialize()

    def __hash__(self) -> int:
        return hash((self.kind, self.path, repr(sorted(self.kwargs.items()))))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.path!r}, kwargs={self.kwargs!r})"


def _is_dotted_path(text: str) -> bool:
    parts = text.split(".")
    return len(parts) >= 2 and all(part.isidentifier() for part in parts)


class AsyncCallback(Callback):
    """A coroutine function; Airflow runs it in the triggerer, Conveyor on an event loop of
    the scheduler's callback process."""

    kind = "async"

    @classmethod
    def verify_callable(cls, callback: Callable[..., Any]) -> None:
        if not (inspect.iscoroutinefunction(callback) or hasattr(callback, "__await__")):
            raise AttributeError(f"Provided callback {callback} is not awaitable.")


class SyncCallback(Callback):
    """A plain callable (a notifier class included); Airflow runs it on an executor,
    Conveyor in the scheduler's callback process (``executor=`` is kept, not used)."""

    kind = "sync"

    def __init__(
        self,
        callback_callable: Callable[..., Any] | str,
        kwargs: dict[str, Any] | None = None,
        executor: str | None = None,
    ) -> None:
        super().__init__(callback_callable, kwargs)
        self.executor = executor


# -- references --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Facts:
    """What a reference may count from, for one run as it is made."""

    now: datetime
    queued_at: datetime
    logical_date: datetime | None
    #: The seconds the DAG's latest finished runs took, newest first (only when asked for).
    durations: Sequence[float] = ()


class BaseDeadlineReference:
    """When a deadline counts from. Conveyor's references are the built-in ones; a class of
    the user's own is refused where it is registered (:func:`deadline_reference`)."""

    @property
    def reference_name(self) -> str:
        return type(self).__name__

    def serialize_reference(self) -> dict[str, Any]:
        return {REFERENCE_TYPE_FIELD: self.reference_name}

    def base_time(self, facts: Facts) -> datetime | None:
        """The time the interval is added to; None: no deadline for this run."""
        raise DagDefinitionError(
            f"deadline reference {self.reference_name} is not one Conveyor can evaluate "
            f"(see {DOCS})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BaseDeadlineReference):
            return NotImplemented
        return self.serialize_reference() == other.serialize_reference()

    def __hash__(self) -> int:
        return hash(repr(sorted(self.serialize_reference().items())))

    def __repr__(self) -> str:
        return f"{self.reference_name}()"


class DagRunLogicalDateDeadline(BaseDeadlineReference):
    """The run's logical date (no deadline for a run without one)."""

    def base_time(self, facts: Facts) -> datetime | None:
        return facts.logical_date


class DagRunQueuedAtDeadline(BaseDeadlineReference):
    """When the run was queued (Conveyor makes every run queued)."""

    def base_time(self, facts: Facts) -> datetime | None:
        return facts.queued_at


class FixedDatetimeDeadline(BaseDeadlineReference):
    """One fixed time for every run (a naive one is read as UTC)."""

    def __init__(self, when: datetime) -> None:
        if not isinstance(when, datetime):
            raise TypeError(f"FIXED_DATETIME takes a datetime, got {when!r}")
        self.when = when if when.tzinfo is not None else when.replace(tzinfo=UTC)

    def serialize_reference(self) -> dict[str, Any]:
        return {REFERENCE_TYPE_FIELD: self.reference_name, "datetime": self.when.timestamp()}

    def base_time(self, facts: Facts) -> datetime | None:
        return self.when

    def __repr__(self) -> str:
        return f"FixedDatetimeDeadline({self.when.isoformat()})"


class AverageRuntimeDeadline(BaseDeadlineReference):
    """The run is made plus the mean duration of the DAG's latest ``max_runs`` finished runs;
    no deadline while fewer than ``min_runs`` have finished."""

    DEFAULT_LIMIT = 10

    def __init__(self, max_runs: int, min_runs: int | None = None) -> None:
        self.max_runs = max_runs
        self.min_runs = max_runs if min_runs is None else min_runs
        if self.min_runs < 1:
            raise ValueError("min_runs must be at least 1")
        if self.max_runs < 1:
            raise ValueError("max_runs must be at least 1")

    def serialize_reference(self) -> dict[str, Any]:
        return {
            REFERENCE_TYPE_FIELD: self.reference_name,
            "max_runs": self.max_runs,
            "min_runs": self.min_runs,
        }

    def base_time(self, facts: Facts) -> datetime | None:
        durations = list(facts.durations)[: self.max_runs]
        if len(durations) < self.min_runs:
            return None
        return facts.now + timedelta(seconds=math.fsum(durations) / len(durations))

    def __repr__(self) -> str:
        return f"AverageRuntimeDeadline(max_runs={self.max_runs}, min_runs={self.min_runs})"


_BUILT_IN: dict[str, type[BaseDeadlineReference]] = {
    cls.__name__: cls
    for cls in (
        DagRunLogicalDateDeadline,
        DagRunQueuedAtDeadline,
        FixedDatetimeDeadline,
        AverageRuntimeDeadline,
    )
}


def reference_from_json(data: dict[str, Any]) -> BaseDeadlineReference:
    """A reference back from its stored JSON (the built-in ones only)."""
    name = data.get(REFERENCE_TYPE_FIELD)
    if name == "FixedDatetimeDeadline":
        return FixedDatetimeDeadline(datetime.fromtimestamp(data["datetime"], tz=UTC))
    if name == "AverageRuntimeDeadline":
        limit = data.get("max_runs", AverageRuntimeDeadline.DEFAULT_LIMIT)
        return AverageRuntimeDeadline(limit, data.get("min_runs", limit))
    found = _BUILT_IN.get(str(name))
    if found is None:
        raise DagDefinitionError(f"unknown deadline reference {name!r} (see {DOCS})")
    return found()


class DeadlineReference:
    """The references a ``DeadlineAlert`` may count from, by Airflow's names."""

    class TYPES:
        """Which references are worked out when a run is made, or queued (the same moment
        in Conveyor: every run is made queued)."""

        DAGRUN_CREATED: tuple[type[BaseDeadlineReference], ...] = (
            DagRunLogicalDateDeadline,
            FixedDatetimeDeadline,
            AverageRuntimeDeadline,
        )
        DAGRUN_QUEUED: tuple[type[BaseDeadlineReference], ...] = (DagRunQueuedAtDeadline,)
        DAGRUN: tuple[type[BaseDeadlineReference], ...] = DAGRUN_CREATED + DAGRUN_QUEUED

    DAGRUN_LOGICAL_DATE: ClassVar[BaseDeadlineReference] = DagRunLogicalDateDeadline()
    DAGRUN_QUEUED_AT: ClassVar[BaseDeadlineReference] = DagRunQueuedAtDeadline()

    @classmethod
    def FIXED_DATETIME(cls, dt: datetime) -> BaseDeadlineReference:
        return FixedDatetimeDeadline(dt)

    @classmethod
    def AVERAGE_RUNTIME(
        cls, max_runs: int = 0, min_runs: int | None = None
    ) -> BaseDeadlineReference:
        limit = max_runs or AverageRuntimeDeadline.DEFAULT_LIMIT
        return AverageRuntimeDeadline(limit, limit if min_runs is None else min_runs)

    @classmethod
    def register_custom_reference(
        cls, reference_class: type, deadline_reference_type: Any = None
    ) -> Any:
        return deadline_reference(deadline_reference_type)(reference_class)


def deadline_reference(deadline_reference_type: Any = None) -> Any:
    """Airflow's decorator for a reference class of the user's own: refused, since such a
    class reads Airflow's database through a session Conveyor does not have."""

    def refuse(reference_class: type) -> type:
        raise DagDefinitionError(
            f"deadline reference {reference_class.__name__}: Conveyor does not take deadline "
            "references of your own (@deadline_reference); use DAGRUN_QUEUED_AT, "
            f"DAGRUN_LOGICAL_DATE, FIXED_DATETIME or AVERAGE_RUNTIME (see {DOCS})"
        )

    if isinstance(deadline_reference_type, type):
        return refuse(deadline_reference_type)
    return refuse


class VariableInterval:
    """Airflow's interval read from a Variable when a run is made: refused where it is
    made, so a DAG file that uses it fails at parse time with this message."""

    def __init__(self, key: str) -> None:
        raise DagDefinitionError(
            f"VariableInterval({key!r}): Conveyor does not take a deadline interval from a "
            f"Variable; give a timedelta (see {DOCS})"
        )


# -- the alert ---------------------------------------------------------------------------------


class DeadlineAlert:
    """A need-by time (``reference`` + ``interval``) and what to call when a run misses it."""

    def __init__(
        self,
        reference: BaseDeadlineReference,
        interval: timedelta,
        callback: Callback,
        name: str | None = None,
    ) -> None:
        if (
            not isinstance(reference, BaseDeadlineReference)
            or type(reference) not in _BUILT_IN.values()
        ):
            raise DagDefinitionError(
                f"DeadlineAlert: reference must be one of DeadlineReference's "
                f"(DAGRUN_QUEUED_AT, DAGRUN_LOGICAL_DATE, FIXED_DATETIME(...), "
                f"AVERAGE_RUNTIME(...)), got {reference!r} (see {DOCS})"
            )
        if not isinstance(interval, timedelta):
            raise DagDefinitionError(
                f"DeadlineAlert: interval must be a timedelta, got {interval!r} (see {DOCS})"
            )
        if not isinstance(callback, AsyncCallback | SyncCallback):
            raise ValueError(
                f"Callbacks of type {type(callback).__name__} are not currently supported"
            )
        self.reference = reference
        self.interval = interval
        self.callback = callback
        self.name = name

    def serialize(self) -> dict[str, Any]:
        """The JSON a DAG version stores of the alert (what the store and the UI read)."""
        return {
            "reference": self.reference.serialize_reference(),
            "interval": self.interval.total_seconds(),
            "callback": self.callback.serialize(),
            "name": self.name,
        }

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DeadlineAlert):
            return NotImplemented
        return self.serialize() == other.serialize()

    def __hash__(self) -> int:
        return hash((self.reference, self.interval, self.callback))

    def __repr__(self) -> str:
        return f"DeadlineAlert({self.reference!r}, {self.interval!r}, {self.callback!r})"


def as_alerts(dag_id: str, value: Any) -> list[DeadlineAlert]:
    """``deadline=`` as a list: None, one alert, or a list of them (Airflow's forms)."""
    if value is None:
        return []
    found = [value] if isinstance(value, DeadlineAlert) else list(value)
    for alert in found:
        if not isinstance(alert, DeadlineAlert):
            raise DagDefinitionError(
                f"DAG {dag_id!r}: deadline= takes a DeadlineAlert or a list of them, got {alert!r}"
            )
    return found


def deadline_time(stored: dict[str, Any], facts: Facts) -> datetime | None:
    """A stored alert's deadline for one run: its reference's time plus its interval; None
    when the reference has no time for this run (no logical date, too few finished runs)."""
    base = reference_from_json(stored["reference"]).base_time(facts)
    return None if base is None else base + timedelta(seconds=float(stored["interval"]))


def needs_durations(stored: Sequence[dict[str, Any]]) -> int:
    """How many past runs' durations the alerts need (0: none)."""
    return max(
        (
            int(alert["reference"].get("max_runs", AverageRuntimeDeadline.DEFAULT_LIMIT))
            for alert in stored
            if alert["reference"].get(REFERENCE_TYPE_FIELD) == "AverageRuntimeDeadline"
        ),
        default=0,
    )
