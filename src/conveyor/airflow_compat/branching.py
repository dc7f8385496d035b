"""Airflow's branch base classes, date branches and the external task marker, for Airflow
files.

``BaseBranchOperator`` is what a team subclasses for a branch of its own: ``choose_branch``
returns a task id, a task group's id (its first tasks), a list of them, or None (skip every
direct downstream task). ``BranchMixIn.do_branch`` is the same for an operator that branches
from its own ``execute`` (``return self.do_branch(context, ids)``).

``BranchDateTimeOperator`` follows one list of tasks when the time (now, or the run's
logical date) is within ``[target_lower, target_upper]``, the other list otherwise;
``BranchDayOfWeekOperator`` does the same for days of the week. ``ExternalTaskMarker`` only
marks, for Airflow's "clear downstream in other DAGs"; Conveyor runs it as an empty task.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time, timedelta
from typing import Any

from conveyor.exceptions import DagDefinitionError, DownstreamTasksSkipped, TaskError
from conveyor.model.branch_value import (
    branch_choice,
    follow_only,
    record_skips,
    skips_end_execute,
)
from conveyor.model.dag import UTC
from conveyor.model.task import BaseOperator
from conveyor.operators.empty import EmptyOperator
from conveyor.sensors import WeekDay

Moment = datetime | time | None


def _task_ids(tasks: Any) -> list[str]:
    if isinstance(tasks, str):
        return [tasks]
    return [getattr(t, "task_id", t) for t in tasks or ()]


class SkipMixin:
    """Airflow's skip calls from an operator's own ``execute``: ``skip(..., tasks)`` skips
    those of its direct downstream tasks, ``skip_all_except(ti, ids)`` every one but those
    (task ids only: a task group's id fails the try, as on Airflow; ``BranchMixIn`` takes
    one). They take effect when the try succeeds, as a branch's choice does. In an Airflow
    3 file a call that skips a task ends ``execute`` there (``DownstreamTasksSkipped``): the
    try succeeds and keeps no return value, as on Airflow 3; Airflow 2's ``execute`` goes
    on."""

    def skip(
        self, *args: Any, tasks: Any = None, session: Any = None, map_index: int | None = None
    ) -> None:
        """Airflow 2's ``skip(dag_run, execution_date, tasks)``, Airflow 3's
        ``skip(ti, tasks)``: the tasks are the last argument. A mapped task's instance
        cannot skip here: refused naming it."""
        assert isinstance(self, BaseOperator)
        if map_index is None and args:  # Airflow 3's first argument is the instance
            map_index = getattr(args[0], "map_index", None)
        if map_index is not None and map_index >= 0:
            raise TaskError(
                f"task {self.task_id!r}: skip() from instance {map_index} of a mapped task is "
                "not supported; skip from an unmapped task, or branch"
            )
        given = tasks if tasks is not None else (args[-1] if args else ())
        skipped = record_skips(self, _task_ids(given))
        if skipped and skips_end_execute(self):
            raise DownstreamTasksSkipped(tasks=skipped)

    def skip_all_except(self, ti: Any, branch_task_ids: Any) -> None:
        assert isinstance(self, BaseOperator)
        follow_only(self, branch_choice(self, branch_task_ids, groups=False))


class BranchMixIn(SkipMixin):
    """Branching from ``execute``: return ``self.do_branch(context, ids)``."""

    is_branch = True

    def do_branch(self, context: dict[str, Any], branches_to_execute: Any) -> Any:
        """Follow ``branches_to_execute`` (checked, task groups' ids standing for their first
        tasks; the other direct downstream tasks are skipped) and give it back as it came,
        as Airflow's does."""
        assert isinstance(self, BaseOperator)
        chosen = branch_choice(self, branches_to_execute)
        print(f"[conveyor] branching into {chosen}", flush=True)
        follow_only(self, chosen)
        return branches_to_execute


class BaseBranchOperator(BranchMixIn, BaseOperator):
    """A branch of a team's own: subclass it and return the task ids (or task group ids) to
    follow from ``choose_branch(context)``."""

    ui_color = "#ffe6a8"

    def choose_branch(self, context: dict[str, Any]) -> Any:
        raise NotImplementedError(
            f"{type(self).__name__} must define choose_branch(self, context), returning the "
            "task ids to follow"
        )

    def execute(self, context: dict[str, Any]) -> Any:
        return self.do_branch(context, self.choose_branch(context))


def _now(context: dict[str, Any], use_logical_date: bool) -> datetime:
    moment = context["logical_date"] if use_logical_date else datetime.now(UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class _FollowBranch(BaseOperator):
    is_branch = True
    ui_color = "#ffe6a8"

    def __init__(
        self,
        task_id: str,
        *,
        follow_task_ids_if_true: str | Iterable[str],
        follow_task_ids_if_false: str | Iterable[str],
        use_task_logical_date: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        self.follow_task_ids_if_true = follow_task_ids_if_true  # as given: kept as the XCom
        self.follow_task_ids_if_false = follow_task_ids_if_false
        self.use_task_logical_date = bool(use_task_logical_date)

    def holds(self, now: datetime) -> bool:  # pragma: no cover - interface
        raise NotImplementedError

    def execute(self, context: dict[str, Any]) -> str | Iterable[str]:
        now = _now(context, self.use_task_logical_date)
        chosen = self.follow_task_ids_if_true if self.holds(now) else self.follow_task_ids_if_false
        print(f"[conveyor] {now.isoformat()}: following {chosen}", flush=True)
        return chosen


def _as_datetime(value: Moment, base: datetime) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.combine(base.date(), value, tzinfo=value.tzinfo or base.tzinfo)


class BranchDateTimeOperator(_FollowBranch):
    """Follow ``follow_task_ids_if_true`` when the time is within the targets (datetimes, or
    times of day; an upper time before the lower one means the next day)."""

    def __init__(
        self,
        task_id: str,
        *,
        target_lower: Moment = None,
        target_upper: Moment = None,
        **kwargs: Any,
    ) -> None:
        if target_lower is None and target_upper is None:
            raise DagDefinitionError(f"task {task_id!r}: give target_lower=, target_upper= or both")
        super().__init__(task_id, **kwargs)
        self.target_lower, self.target_upper = target_lower, target_upper

    def holds(self, now: datetime) -> bool:
        lower = _as_datetime(self.target_lower, now)
        upper = _as_datetime(self.target_upper, now)
        if lower is not None and upper is not None and upper < lower:
            upper += timedelta(days=1)
        return (lower is None or lower <= now) and (upper is None or now <= upper)


def _weekdays(value: Any) -> set[int]:
    items: list[Any] = [value] if isinstance(value, str | int) else list(value)
    days: set[int] = set()
    for item in items:
        if isinstance(item, str):
            try:
                days.add(WeekDay[item.strip().upper()].value)
            except KeyError:
                raise DagDefinitionError(f"unknown week day {item!r}") from None
        else:
            days.add(int(item))
    return days


class BranchDayOfWeekOperator(_FollowBranch):
    """Follow ``follow_task_ids_if_true`` on the given week day(s): names, ``WeekDay`` values."""

    def __init__(self, task_id: str, *, week_day: Any, **kwargs: Any) -> None:
        super().__init__(task_id, **kwargs)
        self.week_days = _weekdays(week_day)

    def holds(self, now: datetime) -> bool:
        return now.isoweekday() in self.week_days


class ExternalTaskMarker(EmptyOperator):
    """Marks a task another DAG's ``ExternalTaskSensor`` waits for; runs as an empty task."""

    def __init__(
        self,
        task_id: str,
        *,
        external_dag_id: str,
        external_task_id: str,
        logical_date: str | None = None,
        recursion_depth: int = 10,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        self.external_dag_id, self.external_task_id = external_dag_id, external_task_id
        self.logical_date, self.recursion_depth = logical_date, recursion_depth
