"""A user's own timetable: Airflow's ``Timetable`` protocol, and the schedule that runs one.

A DAG file may hand ``schedule=`` (or Airflow's ``timetable=``) an object of its own class
that answers Airflow's questions: ``next_dagrun_info(last_automated_data_interval=,
restriction=)`` and ``infer_manual_data_interval(run_after=)``, with ``serialize`` /
``deserialize``, ``summary`` and ``description``. Subclassing :class:`Timetable`
(``airflow.timetables.base.Timetable``) gives the defaults.

The scheduler plans from the stored DAG, not from the DAG file, so it must make the object
again: it imports the class by its module and name and calls ``deserialize`` with what
``serialize`` gave (where Airflow finds the class through a plugin). The class must
therefore live in a module of its own, importable by that name: beside the DAG files in
the DAG folder (which is put on ``sys.path``), or in an installed package, not in the DAG
file itself. This is the one place where the scheduler (and the web, for a manual run's
interval) imports user code, and only for DAGs that use such a timetable.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from conveyor.exceptions import DagDefinitionError
from conveyor.model.schedules import DataInterval as RunInterval
from conveyor.model.schedules import RunInfo, Schedule, _as_zone, register_kind

#: Modules DAG files are imported as (loading/importer.py): not importable elsewhere.
_DAG_MODULE_PREFIX = "conveyor_dags."


class DataInterval(NamedTuple):
    """Airflow's data interval: ``[start, end)``, both aware."""

    start: datetime
    end: datetime

    @classmethod
    def exact(cls, at: datetime) -> DataInterval:
        return cls(start=at, end=at)


class TimeRestriction(NamedTuple):
    """start_date (``earliest``), end_date (``latest``, inclusive) and catchup of the DAG."""

    earliest: datetime | None
    latest: datetime | None
    catchup: bool


class DagRunInfo(NamedTuple):
    """A run to make once ``run_after`` has come, for ``data_interval``."""

    run_after: datetime
    data_interval: DataInterval | None

    @classmethod
    def exact(cls, at: datetime) -> DagRunInfo:
        return cls(run_after=at, data_interval=DataInterval.exact(at))

    @classmethod
    def interval(cls, start: datetime, end: datetime) -> DagRunInfo:
        return cls(run_after=end, data_interval=DataInterval(start, end))

    @property
    def logical_date(self) -> datetime | None:
        return self.data_interval.start if self.data_interval else None


class Timetable:
    """Base class of a user's timetable, with Airflow's defaults. Override
    ``next_dagrun_info`` and ``infer_manual_data_interval``; override ``serialize`` and
    ``deserialize`` when the constructor takes arguments."""

    description: str = ""
    periodic: bool = True
    can_be_scheduled: bool = True
    run_ordering: Sequence[str] = ("data_interval_end", "logical_date")
    active_runs_limit: int | None = None

    @property
    def summary(self) -> str:
        return type(self).__name__

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> Timetable:
        return cls()

    def serialize(self) -> dict[str, Any]:
        return {}

    def validate(self) -> None:
        return None

    def infer_manual_data_interval(self, *, run_after: datetime) -> DataInterval:
        raise NotImplementedError

    def next_dagrun_info(
        self,
        *,
        last_automated_data_interval: DataInterval | None,
        restriction: TimeRestriction,
    ) -> DagRunInfo | None:
        raise NotImplementedError


def is_timetable(value: object) -> bool:
    """An object that answers Airflow's timetable protocol (and is no Conveyor schedule)."""
    return not isinstance(value, Schedule) and callable(getattr(value, "next_dagrun_info", None))


# -- importing the class where the DAG file is not imported ----------------------------------

_prepare_import: list[Callable[[], object]] = []


def before_class_import(prepare: Callable[[], object]) -> None:
    """Run ``prepare`` before a timetable class is imported (the loader installs Airflow's
    import hook this way, for classes that subclass ``airflow.timetables.base.Timetable``)."""
    if prepare not in _prepare_import:
        _prepare_import.append(prepare)


def import_class(path: str, search_path: str | None) -> type[Any]:
    """The class ``module:QualName``; ``search_path`` (the folder its module was found in
    when the DAG was parsed) goes on ``sys.path`` first."""
    for prepare in _prepare_import:
        prepare()
    if search_path and search_path not in sys.path:
        sys.path.insert(0, search_path)
    module_name, _, qualname = path.partition(":")
    try:
        found: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            found = getattr(found, part)
    except Exception as exc:
        raise DagDefinitionError(
            f"cannot import timetable class {path} (looked in {search_path or 'sys.path'}): "
            f"{type(exc).__name__}: {exc}; keep the class in a module of the DAG folder or "
            "an installed package, where the scheduler can import it"
        ) from exc
    if not isinstance(found, type):
        raise DagDefinitionError(f"timetable class {path} is not a class: {found!r}")
    return found


def _class_path(timetable: object) -> tuple[str, str | None]:
    cls = type(timetable)
    module = cls.__module__
    where = f"timetable class {cls.__qualname__} (module {module})"
    if module.startswith(_DAG_MODULE_PREFIX) or module == "__main__":
        raise DagDefinitionError(
            f"{where} is defined in the DAG file; the scheduler imports timetables by module: "
            "move the class to a module beside the DAG file (e.g. my_timetables.py) and "
            "import it from there"
        )
    if "<locals>" in cls.__qualname__:
        raise DagDefinitionError(f"{where} is defined inside a function; define it at module level")
    file = getattr(sys.modules.get(module), "__file__", None)
    if not file:
        return f"{module}:{cls.__qualname__}", None
    root = Path(file).resolve().parent
    levels = module.count(".") + (1 if Path(file).name == "__init__.py" else 0)
    for _ in range(levels):
        root = root.parent
    return f"{module}:{cls.__qualname__}", str(root)


# -- the schedule -------------------------------------------------------------------------------


def _aware(value: Any) -> datetime:
    if not isinstance(value, datetime):
        raise DagDefinitionError(f"a timetable returned {value!r} where a datetime belongs")
    moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    # A plain datetime in UTC: pendulum's DateTime would otherwise travel into the store.
    return datetime.fromtimestamp(moment.timestamp(), UTC)


def _handed(value: datetime | None) -> Any:
    """A datetime as Airflow hands it to timetables: pendulum's, where the timetable's
    module loaded pendulum (and so may call its methods)."""
    if value is None:
        return None
    moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    pendulum = sys.modules.get("pendulum")
    return moment if pendulum is None else pendulum.instance(moment)


class UserTimetable(Schedule):
    """Runs a user's timetable object. In the DAG file's process it holds the object; where
    the DAG was read from the store it makes the object again on first use."""

    decided_ahead = True
    reads_clock = True

    def __init__(self, data: dict[str, Any], timetable: Any = None) -> None:
        self._data = data
        self._timetable = timetable
        self.timezone = _as_zone(data.get("timezone"))
        self.description = str(data.get("summary") or data["class"].rpartition(":")[2])
        self.details = str(data.get("description") or "")
        self.can_be_scheduled = bool(data.get("can_be_scheduled", True))

    @classmethod
    def wrap(cls, timetable: Any) -> UserTimetable:
        """The schedule for a timetable object a DAG file made."""
        validate = getattr(timetable, "validate", None)
        if callable(validate):
            validate()
        path, search_path = _class_path(timetable)
        serialize = getattr(timetable, "serialize", None)
        data = {
            "type": "timetable",
            "class": path,
            "search_path": search_path,
            "data": serialize() if callable(serialize) else {},
            "summary": str(getattr(timetable, "summary", "") or type(timetable).__name__),
            "description": str(getattr(timetable, "description", "") or ""),
            "can_be_scheduled": bool(getattr(timetable, "can_be_scheduled", True)),
            "timezone": "UTC",
        }
        return cls(data, timetable)

    @property
    def timetable(self) -> Any:
        if self._timetable is None:
            found = import_class(self._data["class"], self._data.get("search_path"))
            self._timetable = found.deserialize(self._data.get("data") or {})
        return self._timetable

    def next_run(
        self,
        *,
        last: RunInterval | None,
        start_date: datetime | None,
        end_date: datetime | None,
        catchup: bool,
        now: datetime,
    ) -> RunInfo | None:
        if not self._data.get("can_be_scheduled", True):
            return None
        restriction = TimeRestriction(_handed(start_date), _handed(end_date), catchup)
        previous = DataInterval(_handed(last.start), _handed(last.end)) if last else None
        # A timetable that reads the clock finds the scheduler's ``now`` there (clock.frozen_at).
        info = self.timetable.next_dagrun_info(
            last_automated_data_interval=previous, restriction=restriction
        )
        if info is None:
            return None
        run_after = _aware(info.run_after)
        interval = info.data_interval
        start, end = (_aware(interval[0]), _aware(interval[1])) if interval else (run_after,) * 2
        return RunInfo(
            logical_date=start, data_interval=RunInterval(start, end), run_after=run_after
        )

    def manual_interval(self, logical_date: datetime) -> RunInterval:
        try:
            found = self.timetable.infer_manual_data_interval(run_after=_handed(logical_date))
        except NotImplementedError:
            return super().manual_interval(logical_date)
        return RunInterval(_aware(found[0]), _aware(found[1]))

    def serialize(self) -> dict[str, Any]:
        return dict(self._data)


def as_schedule(value: Any) -> Any:
    """``value`` as a Schedule when it is a user's timetable object; else ``value`` itself,
    for :func:`conveyor.model.schedules.schedule_from_arg`."""
    return UserTimetable.wrap(value) if is_timetable(value) else value


register_kind("timetable", UserTimetable)
