"""The run's lock: every writer of a run's moves takes it first, and says so in its types.

Two tries of one run that end at the same moment must not both miss that a join is ready,
and a try's start must not overtake the transaction that queues it. So every writer of a
run's moves locks the run's row first, before any other lock (FOR UPDATE on PostgreSQL;
SQLite's one writer serializes transactions anyway), and the functions that rely on that
order take a :class:`LockedRun`, which only this module makes: a call that skipped the lock
is a type error rather than a deadlock or a lost join under load.

The lock is taken by the engine (``conveyor.engine``) and, for a person's clear or mark
(``engine/manual.py``) or a run's deletion, by ``store/manual.py``'s ``locked_run``; nothing
else names it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, fields
from types import ModuleType
from typing import Any, TypeVar

from sqlalchemy import Connection, Dialect, bindparam, select
from sqlalchemy.exc import NoResultFound

from conveyor.store.hop import prepared
from conveyor.store.runs import RUN, RunRow, run_row
from conveyor.store.tables import UtcDateTime, dag_run, task_instance

T = TypeVar("T")


@dataclass(frozen=True)
class LockedRun(RunRow):
    """A run whose row this transaction holds locked.

    Only :func:`lock_run`, :func:`claim_run` and :func:`lock_run_then` make one.
    """


@dataclass(frozen=True)
class PendingLock:
    """Run ``run_pk``'s lock, sent to PostgreSQL in front of the statement being sent, in the
    same pipeline (:func:`lock_run_then`): the server takes the lock before it runs that
    statement, whose snapshot then sees everything committed under the lock before. Its
    :class:`LockedRun` comes back with the statement's results.

    Only :func:`lock_run_then` makes one, and only for the one statement it sends in front
    of; the writers that may ride there take a :data:`RunLock`.
    """

    run_pk: int


#: This transaction holds the run's lock (:class:`LockedRun`), or the statement about to be
#: sent is queued behind it in the same pipeline (:class:`PendingLock`).
RunLock = LockedRun | PendingLock


def held(lock: RunLock) -> LockedRun:
    """``lock`` as held: for a writer that sends more than the one statement a
    :class:`PendingLock` goes in front of."""
    if not isinstance(lock, LockedRun):
        raise TypeError(f"run {lock.run_pk}'s lock rides with one statement only")
    return lock


# Serializes the fast paths of one run on PostgreSQL; the DAG row is only read.
_RUN_LOCKED = RUN.with_for_update(of=dag_run)
_RUN_CLAIMED = RUN.with_for_update(of=dag_run, skip_locked=True)


def lock_run(conn: Connection, run_pk: int) -> LockedRun:
    """The run, its row locked for this transaction: waits while another writer holds it."""
    return _locked(run_row(prepared.execute(conn, _RUN_LOCKED, {"run_pk": run_pk}).one()))


def claim_run(conn: Connection, run_pk: int) -> LockedRun | None:
    """The run, its row locked for this transaction; None if another writer holds it now (or
    it is gone): for the scheduler, which comes back to the run in its next loop."""
    row = prepared.execute(conn, _RUN_CLAIMED, {"run_pk": run_pk}).first()
    return None if row is None else _locked(run_row(row))


def lock_run_then(
    conn: Connection, run_pk: int, then: Callable[[RunLock], T], *, sent_together: bool
) -> tuple[LockedRun, T]:
    """:func:`lock_run`, then ``then(lock)``. With ``sent_together`` (``then`` begins with
    one statement, as ``steps.finish_and_read_hop`` does where
    ``steps.finishes_in_one_statement``), on PostgreSQL the lock goes in front of that
    statement, with the transaction's BEGIN: one round trip where there were three, and the
    run is not locked while this process wakes up to send the statement. Its snapshot is
    taken once the lock is granted, so it sees everything committed under the lock before.
    ``then`` is then given a :class:`PendingLock`: the run's row comes back with the
    statement's results, as the :class:`LockedRun` returned here."""
    pipeline = _pipeline_of(conn) if sent_together else None
    if pipeline is None:
        locked = lock_run(conn, run_pk)
        return locked, then(locked)
    with pipeline.in_front(conn, _lock_run_text(conn.dialect), {"run_pk": run_pk}) as lock:
        done = then(PendingLock(run_pk))
    return _locked_run_from_driver(lock.fetchone(), run_pk, conn.dialect), done


def _pipeline_of(conn: Connection) -> ModuleType | None:
    """``store.hop.pipeline`` where the store is PostgreSQL and its libpq pipelines, else
    None. Imported here: psycopg is loaded only where PostgreSQL is the store."""
    if conn.dialect.name != "postgresql":
        return None
    from conveyor.store.hop import pipeline

    return pipeline if pipeline.supported() else None


@functools.lru_cache(maxsize=4)
def _lock_run_text(dialect: Dialect) -> str:
    """The text of :func:`lock_run`'s statement in ``dialect`` (parameter ``run_pk``), for
    the pipeline, which sends it to the driver itself."""
    return _RUN_LOCKED.compile(dialect=dialect).string


_UTC = UtcDateTime()
#: The run's columns the driver returns without their zone: every one of them, so a date a
#: run row gains later is not handed on naive by this path alone.
_RUN_DATES = tuple(c.name for c in dag_run.columns if isinstance(c.type, UtcDateTime))


def _locked_run_from_driver(row: Any, run_pk: int, dialect: Dialect) -> LockedRun:
    """The run from the driver's own row of :func:`_lock_run_text` (named columns, without
    SQLAlchemy's types); raises as :func:`lock_run` does when the run is gone."""
    if row is None:
        raise NoResultFound(f"run {run_pk} does not exist")
    dates = {name: _UTC.process_result_value(getattr(row, name), dialect) for name in _RUN_DATES}
    return _locked(run_row(row._replace(**dates)))


def _locked(run: RunRow) -> LockedRun:
    return LockedRun(**{f.name: getattr(run, f.name) for f in fields(RunRow)})


# KEY SHARE: conflicts with the FOR UPDATE a queuing transaction holds on the run's row, and
# with nothing a reader or another starting try takes.
_WAIT_FOR_QUEUING = (
    select(dag_run.c.id)
    .where(
        dag_run.c.id
        == select(task_instance.c.run_pk)
        .where(task_instance.c.id == bindparam("start_ti"))
        .scalar_subquery()
    )
    .with_for_update(read=True, key_share=True)
)


def wait_for_queuing(conn: Connection, ti_id: int) -> bool:
    """After a start found its try not queued: wait until no transaction can still be queuing
    it, on PostgreSQL; True if the caller should try the start once more.

    A try's message is published inside the transaction that queues it, before the commit
    and even before the queuing statement (so the broker's delivery overlaps the rest of that
    transaction), so that no crash can fall between the commit and the send. Every such
    transaction holds its run's row locked from its start, so waiting for that lock waits for
    it to end; then the try is either there to start or not.
    """
    if conn.dialect.name != "postgresql":
        return False
    return conn.execute(_WAIT_FOR_QUEUING, {"start_ti": ti_id}).first() is not None
