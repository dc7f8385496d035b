"""The reads of a hop planned from its frontier: a few task instances, never the whole run.

Each statement is bounded by what the finished task touches (the instances it names, a
sample of a few tries in flight, the tries waiting for room up to the room there is) and
uses a state index or the ``(run_pk, task_id, map_index)`` index, so a hop costs the same
in a run of 50 tasks as in one of 10,000.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Executable,
    Integer,
    Select,
    String,
    bindparam,
    exists,
    func,
    literal_column,
    select,
    true,
    union_all,
)

from conveyor.lifecycle import WAITING_FOR_TIME
from conveyor.states import FINISHED, IN_FLIGHT, TaskState
from conveyor.store.hop import prepared
from conveyor.store.runs import TI_COLUMNS, TiRow, ti_row
from conveyor.store.tables import pool, task_instance

_TI = task_instance.c
_UNFINISHED = [state.value for state in TaskState if state not in FINISHED]
_ACTIVE = [s for s in _UNFINISHED if s != TaskState.NONE.value]
_IN_FLIGHT_STATES = [s.value for s in IN_FLIGHT]


def _state_in(states: Collection[str], columns: Any = _TI) -> ColumnElement[bool]:
    """``state IN (...)`` with the states written into the statement: an expanding parameter
    is rendered into the statement again on every execution, and these lists never change."""
    state: ColumnElement[str] = columns.state
    return state.in_([literal_column(f"'{state}'", String) for state in states])


#: Bound parameters per statement when naming instances (SQLite allows 32,766 by default).
_CHUNK = 500
#: How many unfinished instances a wide fan-in is checked against.
SAMPLE = 16

# Parameters are never named after a column: the hop's read also heads an UPDATE
# (``steps.finish_and_read_hop``), which would take such a parameter as a value to set.
_NAMED = select(*TI_COLUMNS).where(
    _TI.run_pk == bindparam("of_run"),
    _TI.map_index == -1,
    _TI.task_id.in_(bindparam("task_ids", expanding=True)),
)
# The sample is drawn from the tries in flight: unfinished, few across the whole store, and
# found through either state index. Drawn from every unfinished state, PostgreSQL read it by
# scanning the table from its start when its statistics held the run to be all unfinished,
# past every instance that had finished: a cost that grew with the run.
_UNFINISHED_SAMPLE = (
    select(_TI.task_id)
    .where(_TI.run_pk == bindparam("of_run"), _state_in(_IN_FLIGHT_STATES))
    .limit(SAMPLE)
)
_ANY_ACTIVE = select(exists().where(_TI.run_pk == bindparam("of_run"), _state_in(_ACTIVE)))
_IN_FLIGHT_OF_RUN = select(func.count()).where(
    _TI.run_pk == bindparam("of_run"), _state_in(_IN_FLIGHT_STATES)
)
_WAITING_FOR_ROOM = (
    select(*TI_COLUMNS)
    .where(_TI.run_pk == bindparam("of_run"), _TI.state == TaskState.SCHEDULED.value)
    .order_by(_TI.priority_weight.desc(), _TI.id)
    .limit(bindparam("room", type_=Integer))
)


# One round trip for a hop: the named instances (part 0), the retries that came due (1), the
# tries waiting for room (2, the highest priority first, up to a bound), a sample of the tries
# in flight when a wide fan-in is downstream (3, see ``unfinished_sample``), each row with the
# run's tries in flight, the store's, and the slots of its pool (what admission needs of the
# pools, so the queueing that follows reads no pool row). A round trip costs more than these
# index reads. ``steps.finish_and_read_hop`` adds a part (4) on PostgreSQL: the finished row.
NAMED_PART, DUE_PART, WAITING_PART, SAMPLE_PART, FINISHED_PART = 0, 1, 2, 3, 4
# Counted once per statement, not once per part: each subquery adds to the statement's
# planning, which was most of the read's time while PostgreSQL planned it on every hop (it
# now runs on its generic plan: see ``steps._FINISH_AND_READ_HOP``'s shape). With them, the
# highest priority of the other runs' scheduled tries, on either side of this run's key in
# the ``(state, run_pk, ...)`` index (so this run's own are never scanned): what a freed
# executor slot may go to first (``progress._ahead_elsewhere``).
_COUNTED = task_instance.alias("c")
_C = _COUNTED.c
#: Written into the statement, as ``_state_in`` writes its states.
_SCHEDULED = literal_column(f"'{TaskState.SCHEDULED.value}'", String)
_C_SCHEDULED = _C.state == _SCHEDULED
# Written without the labels SQLAlchemy gives an aggregate, and with short names: the text's
# length is what psycopg's cache of parsed statements measures.
_COUNT = literal_column("count(*)", Integer)
_HIGHEST = literal_column("max(c.priority_weight)", Integer)
_COUNTS = (
    select(
        select(_COUNT)
        .select_from(_COUNTED)
        .where(_C.run_pk == bindparam("of_run"), _state_in(_IN_FLIGHT_STATES, _C))
        .scalar_subquery()
        .label("n_run"),
        select(_COUNT)
        .select_from(_COUNTED)
        .where(_state_in(_IN_FLIGHT_STATES, _C))
        .scalar_subquery()
        .label("n_all"),
        select(_HIGHEST)
        .select_from(_COUNTED)
        .where(_C_SCHEDULED, _C.run_pk < bindparam("of_run"))
        .scalar_subquery()
        .label("lo"),
        select(_HIGHEST)
        .select_from(_COUNTED)
        .where(_C_SCHEDULED, _C.run_pk > bindparam("of_run"))
        .scalar_subquery()
        .label("hi"),
    )
).cte("counts")
# The parts read a short alias of the table, and the counts and pools are joined once, to
# all of them: the statement's text stays under the length up to which psycopg keeps its
# parsed form (4 kB). At 5.6 kB, it was parsed again on every hop.
HOP_TI = task_instance.alias("ti")
_H = HOP_TI.c
_HOP_COLUMNS = [_H[c.name] for c in TI_COLUMNS]
# The same columns without the labels SQLAlchemy writes after each (`ti.id AS id`): a UNION
# takes its columns' names from its first member, and the labels of the others made up an
# eighth of the statement's text.
_HOP_COLUMNS_UNLABELLED = [literal_column(f"ti.{c.name}", c.type) for c in TI_COLUMNS]


def _hop_state_in(states: Collection[str]) -> ColumnElement[bool]:
    return _H.state.in_([literal_column(f"'{state}'", String) for state in states])


#: A constant written into the statement, as ``_hop_state_in`` writes its states.
_TOP_LEVEL = literal_column("-1", Integer)


def hop_part(part: int, *where: ColumnElement[bool], labelled: bool = True) -> Select[Any]:
    """One part of the hop's read: the task instances ``where`` says, tagged ``part``.
    ``labelled``: its columns named, as the first member of the read's UNION must be, and
    a member read from a subquery of its own."""
    tag = literal_column(str(part), Integer)
    if labelled:
        return select(*_HOP_COLUMNS, tag.label("part")).where(*where)
    return select(*_HOP_COLUMNS_UNLABELLED, tag).select_from(HOP_TI).where(*where)


def hop_parts(*, limits_in_subqueries: bool) -> tuple[Select[Any], ...]:
    """The hop's parts. ``limits_in_subqueries``: the two with a LIMIT of their own are read
    from a subquery (SQLite has no parenthesized UNION member; PostgreSQL does, and the text
    is shorter without)."""

    def limited(part: Select[Any]) -> Select[Any]:
        if not limits_in_subqueries:
            return part
        rows = part.subquery()
        return select(*rows.c)

    return (
        hop_part(
            NAMED_PART,
            _H.run_pk == bindparam("of_run"),
            _H.map_index == _TOP_LEVEL,
            _H.task_id.in_(bindparam("task_ids", expanding=True)),
        ),
        hop_part(
            DUE_PART,
            _H.run_pk == bindparam("of_run"),
            _hop_state_in([state.value for state in WAITING_FOR_TIME]),
            (_H.retry_at.is_(None)) | (_H.retry_at <= bindparam("now")),
            labelled=limits_in_subqueries,
        ),
        limited(
            hop_part(
                WAITING_PART,
                _H.run_pk == bindparam("of_run"),
                _H.state == _SCHEDULED,
                _H.map_index == _TOP_LEVEL,
                labelled=limits_in_subqueries,
            )
            .order_by(_H.priority_weight.desc(), _H.id)
            .limit(bindparam("room", type_=Integer))
        ),
        limited(  # only when asked for: LIMIT 0 otherwise
            hop_part(
                SAMPLE_PART,
                _H.run_pk == bindparam("of_run"),
                _hop_state_in(_IN_FLIGHT_STATES),
                labelled=limits_in_subqueries,
            ).limit(bindparam("sample_size"))
        ),
    )


def hop_read(*parts: Select[Any]) -> Select[Any]:
    """The hop's read of ``parts``: each task instance with its part, the counts, and the
    slots of its pool."""
    rows = union_all(*parts).subquery("h")
    return select(*rows.c, *_COUNTS.c, pool.c.name, pool.c.slots).select_from(
        rows.outerjoin(pool, pool.c.name == rows.c.pool).join(_COUNTS, true())
    )


_HOP_READ = hop_read(*hop_parts(limits_in_subqueries=True))


@dataclass
class HopRead:
    """What a hop reads in its one round trip (besides the named instances, kept by
    :class:`FrontierReads`): counts are None when no row came back to carry them."""

    due: list[TiRow] = field(default_factory=list)
    waiting: list[TiRow] = field(default_factory=list)
    in_flight_of_run: int | None = None
    in_flight: int | None = None
    #: The highest priority of a scheduled try of another run (of any run's state, paused or
    #: not): None if there is none.
    scheduled_elsewhere: int | None = None
    #: The slots of the pools of the rows read (None: no limit); a missing pool is absent.
    limits: dict[str, int | None] = field(default_factory=dict)
    #: The finished try's instance as its finish left it (the one-statement finish only).
    finished: TiRow | None = None

    def saw_the_run_moving(self) -> bool:
        """Whether the read saw another try of the run in flight, waiting for room or due
        to retry: then the run goes on, and no query need ask (:func:`anything_active`).

        A finish in the same statement is not in that statement's snapshot: the finished try
        is then counted as in flight, and does not count here."""
        if self.waiting or self.due:
            return True
        others = self.in_flight_of_run or 0
        if self.finished is not None and self.finished.state in IN_FLIGHT:
            others -= 1
        return others > 0


class FrontierReads:
    """A run's instances read on demand, by task id, in the transaction holding its lock."""

    def __init__(self, conn: Connection, run_pk: int) -> None:
        self.conn = conn
        self.run_pk = run_pk
        self.rows: dict[str, TiRow] = {}
        self._sample: set[str] | None = None
        self._waiting: set[str] = set()  # scheduled instances the hop's read came across

    def states(self, task_ids: Collection[str]) -> Mapping[str, TaskState]:
        wanted = [tid for tid in task_ids if tid not in self.rows]
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            named = prepared.execute(self.conn, _NAMED, {"of_run": self.run_pk, "task_ids": chunk})
            for row in named:
                ti = ti_row(row)
                self.rows[ti.task_id] = ti
        return {tid: self.rows[tid].state for tid in task_ids if tid in self.rows}

    def read_hop(
        self,
        task_ids: Collection[str],
        now: datetime,
        waiting_bound: int,
        *,
        sample: bool = False,
        statement: Executable = _HOP_READ,
        params: Mapping[str, Any] | None = None,
    ) -> HopRead:
        """The named instances (kept here), the run's due retries, up to ``waiting_bound`` of
        its tries waiting for room, the tries in flight and their pools' slots, and with
        ``sample`` the :meth:`unfinished_sample`: one statement (``statement``: this read with
        more in front of it, ``params`` its own values)."""
        found = HopRead()
        values = {
            "of_run": self.run_pk,
            "task_ids": list(task_ids)[:_CHUNK],
            "now": now,
            "room": max(waiting_bound, 0),
            "sample_size": SAMPLE if sample else 0,
            **(params or {}),
        }
        width = len(TI_COLUMNS)
        for row in prepared.execute(self.conn, statement, values):
            ti = ti_row(row[:width])
            part, found.in_flight_of_run, found.in_flight, lo, hi, pool_found, pool_limit = row[
                width:
            ]
            found.scheduled_elsewhere = max((p for p in (lo, hi) if p is not None), default=None)
            if pool_found is not None:
                found.limits[pool_found] = pool_limit
            if part == NAMED_PART:
                self.rows[ti.task_id] = ti
            elif part == DUE_PART:
                found.due.append(ti)
            elif part == WAITING_PART:
                found.waiting.append(ti)
                self._waiting.add(ti.task_id)
            elif part == SAMPLE_PART:
                self._sample = (self._sample or set()) | {ti.task_id}
            else:
                found.finished = ti  # as the snapshot saw it: the caller knows its end
        if sample and self._sample is None:
            self._sample = set()  # nothing of the run is unfinished
        if len(task_ids) > _CHUNK:
            self.states(task_ids)
        return found

    def unfinished_sample(self) -> Collection[str]:
        """Up to ``SAMPLE`` task ids of the run's tries in flight, read once, and the tries
        waiting for room that the hop's read came across. Read with a finish in front of it,
        it may name the try that just finished: the planner knows that task's new state, and
        only counts a sampled task that it has not seen finish.

        The waiting tries matter where the finished try was the run's only one in flight
        (a parallelism or ``max_active_tasks`` of 1): without them the sample is empty, and
        a wide fan-in's whole upstream would be read on every hop."""
        if self._sample is None:
            found = self.conn.execute(_UNFINISHED_SAMPLE, {"of_run": self.run_pk}).scalars()
            self._sample = set(found)
        return self._sample | self._waiting


def anything_active(conn: Connection, run_pk: int) -> bool:
    """Whether an instance of the run is scheduled, queued, running or waiting to retry."""
    return bool(prepared.execute(conn, _ANY_ACTIVE, {"of_run": run_pk}).scalar_one())


def in_flight_of_run(conn: Connection, run_pk: int) -> int:
    """The run's tries queued or running (what ``max_active_tasks`` caps)."""
    return int(prepared.execute(conn, _IN_FLIGHT_OF_RUN, {"of_run": run_pk}).scalar_one())


def waiting_for_room(conn: Connection, run_pk: int, limit: int) -> list[TiRow]:
    """Up to ``limit`` of the run's scheduled tries (mapped ones too), in the order they are
    queued: the highest priority first, then the oldest."""
    rows = prepared.execute(conn, _WAITING_FOR_ROOM, {"of_run": run_pk, "room": limit})
    return [ti_row(row) for row in rows]
