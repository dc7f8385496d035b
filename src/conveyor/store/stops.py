"""Stopping a running try's process: the request the store keeps, and its delivery.

A person who marks or clears a running try (or the run's ``dagrun_timeout``) ends the try in
the store at once (``transitions.override``), and sets ``task_instance.stop_try`` to the try's
number. The executor or Celery worker that runs the try reads the stops of the tries it holds
every ``stop_check_seconds`` (:func:`asked`), sends the try's process group SIGTERM (its
operator's ``on_kill`` runs) and SIGKILL after ``kill_grace_seconds``, and says so here
(:func:`sent`), which clears the request and writes the try's timeline. A request lives in
the store, so none is lost with a broker message; a try's next try leaves it behind (its
number no longer matches).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Connection, and_, or_, select, update

from conveyor.clock import utcnow
from conveyor.lifecycle import Actor
from conveyor.states import TaskState
from conveyor.store.tables import task_instance
from conveyor.store.transitions import record_event

_TI = task_instance.c


@dataclass(frozen=True)
class StopAsked:
    """A try whose process is to be stopped, and where that process runs."""

    ti_id: int
    try_number: int
    hostname: str | None
    pid: int | None


def asked(
    conn: Connection, ti_ids: Sequence[int], hostname: str = "", pids: Sequence[int] = ()
) -> list[StopAsked]:
    """The stops asked for of the tries ``ti_ids``, and of the tries the processes ``pids``
    of ``hostname`` started (a Celery worker's busy pool processes)."""
    held: list[ColumnElement[bool]] = []
    if ti_ids:
        held.append(_TI.id.in_(list(ti_ids)))
    if pids:
        held.append(and_(_TI.hostname == hostname, _TI.pid.in_(list(pids))))
    if not held:
        return []
    rows = conn.execute(
        select(_TI.id, _TI.stop_try, _TI.hostname, _TI.pid).where(
            _TI.stop_try.isnot(None), _TI.stop_try == _TI.try_number, or_(*held)
        )
    )
    return [StopAsked(r.id, r.stop_try, r.hostname, r.pid) for r in rows]


def sent(
    conn: Connection,
    stop: StopAsked,
    actor: Actor,
    *,
    pid: int | None,
    grace: float,
    how: str | None = None,
) -> bool:
    """The stop of ``stop`` was sent (SIGTERM to its process group ``pid``, None: the process
    was gone already; ``how`` says it instead when the process is not this machine's, as a
    pod's): the request is cleared, and the timeline says so. False if another process
    cleared it first."""
    cleared = conn.execute(
        update(task_instance)
        .where(_TI.id == stop.ti_id, _TI.stop_try == stop.try_number)
        .values(stop_try=None)
    ).rowcount
    if cleared != 1:
        return False
    if how is not None:
        message = how
    elif pid is None:
        message = "its process had ended already"
    else:
        message = (
            f"stopping its process: SIGTERM to process group {pid} (the task's on_kill runs), "
            f"SIGKILL after {grace:g}s"
        )
    record_event(
        conn,
        stop.ti_id,
        stop.try_number,
        "stopping",
        message,
        actor,
        detail={"pid": pid, "grace_seconds": grace},
    )
    return True


def process_gone(conn: Connection, ti_id: int, try_number: int) -> None:
    """The stopped try's process is gone: a cleared try's next try may start now, rather
    than at ``transitions.RESTART_AFTER``."""
    now = utcnow()
    conn.execute(
        update(task_instance)
        .where(
            _TI.id == ti_id,
            _TI.try_number == try_number,
            _TI.state == TaskState.UP_FOR_RETRY.value,
            _TI.retry_at > now,
        )
        .values(retry_at=now)
    )
