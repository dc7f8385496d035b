"""``ti.xcom_pull`` with Airflow 3's meaning: which runs, tasks and map indexes it reads, and
the shape of what it answers (one value, or a list).

- ``task_ids=None`` is the calling task itself; ``dag_id=`` / ``run_id=`` default to the
  calling try's DAG and run (so ``dag_id="other"`` alone reads the run of that DAG with the
  same run id).
- Without ``map_indexes``: every map index of each task, in order, flattened into one list;
  a task with no value adds None. One task asked for with exactly one value: that value.
- With ``map_indexes`` (an int, a list, or None for an unmapped task): one value per
  (task, map index), ``default`` where there is none.
- ``include_prior_dates=True``: runs of that DAG dated at or before the reference run (the
  run named by ``run_id=``, else the calling run) count too, and each map index of each task
  reads its value from the newest of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from conveyor.exceptions import NotFoundError
from conveyor.store import runs
from conveyor.store.engine import Connection
from conveyor.store.xcom import XComQuery, find_xcoms

#: ``map_indexes`` not given: every map index.
ALL_INDEXES: Any = object()


@dataclass(frozen=True)
class PullRequest:
    """One ``xcom_pull`` call, its defaults already filled from the calling try."""

    dag_id: str
    run_id: str
    task_ids: list[str]
    single_task: bool
    key: str
    include_prior_dates: bool
    map_indexes: Any  # ALL_INDEXES, an int, None, or an iterable of ints
    default: Any
    #: The date prior runs are counted up to when ``run_id`` was not given (the calling run's).
    calling_date: datetime
    run_id_given: bool


def pull(conn: Connection, request: PullRequest) -> Any:
    """The values ``request`` asks for, shaped as Airflow 3 answers them."""
    values = _values_by_instance(conn, request)
    if request.map_indexes is ALL_INDEXES:
        found: list[Any] = []
        for task_id in request.task_ids:
            mine = sorted((m, v) for (t, m), v in values.items() if t == task_id)
            found.extend(v for _, v in mine) if mine else found.append(None)
        if request.single_task and len(found) == 1:
            return found[0]
        return found
    indexes = _indexes(request.map_indexes)
    answer = [
        values.get((task_id, index), request.default)
        for task_id in request.task_ids
        for index in indexes
    ]
    single_index = isinstance(request.map_indexes, int) or request.map_indexes is None
    if request.single_task and single_index:
        return answer[0]
    return answer


def _indexes(map_indexes: Any) -> list[int]:
    if map_indexes is None:
        return [-1]  # as from an unmapped task
    if isinstance(map_indexes, int):
        return [map_indexes]
    if isinstance(map_indexes, Iterable):
        return [int(m) for m in map_indexes]
    raise TypeError(
        f"xcom_pull: map_indexes must be an int, a list of ints or None, "
        f"not {type(map_indexes).__name__}"
    )


def _values_by_instance(conn: Connection, request: PullRequest) -> dict[tuple[str, int], Any]:
    """Each (task id, map index)'s value: of the one run, or of the newest run that has it."""
    up_to: datetime | None = None
    if request.include_prior_dates:
        up_to = _reference_date(conn, request)
        if up_to is None:
            return {}
    rows = find_xcoms(
        conn,
        XComQuery(
            dag_ids=(request.dag_id,),
            run_id=request.run_id,
            up_to=up_to,
            task_ids=tuple(request.task_ids),
            key=request.key,
        ),
    )
    values: dict[tuple[str, int], Any] = {}
    for row in rows:  # newest run first: the first seen of each instance wins
        values.setdefault((row.task_id, row.map_index), row.value)
    return values


def _reference_date(conn: Connection, request: PullRequest) -> datetime | None:
    if not request.run_id_given:
        return request.calling_date
    try:
        return runs.find_run(conn, request.dag_id, request.run_id).logical_date
    except NotFoundError:
        return None
