"""A kept try: one of the tries a hop queues, started by the process whose try ended.

A try's end queues what became ready. Of those, the process that recorded the end may start
one itself, in the same transaction (queued and started in one move, under the run's lock,
so the move cannot lose), instead of sending it through the broker: one write transaction a
try instead of two, and no round trip through the broker. The process then runs it next.

The worker or executor says only what it may keep and until when (:class:`MayKeep`, plain
values); the engine chooses the try, publishes the others, starts the kept one and returns it
(:class:`KeptTry`). The one call out of the engine is ``publish``: sending tries to the
broker from inside the transaction, before the statements that queue them, so that no crash
falls between the commit and the messages (``run_lock.wait_for_queuing``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from conveyor.lifecycle import Actor, StartedTry
from conveyor.logs.task_logs import try_log_path
from conveyor.states import TaskState
from conveyor.store.engine import Connection
from conveyor.store.hop import steps
from conveyor.store.hop.run_lock import LockedRun
from conveyor.store.runs import RunRow

if TYPE_CHECKING:  # progress imports this module
    from conveyor.engine.progress import QueuedTry

#: Sends tries the store holds as queued to the broker; never raises.
Publish = Callable[[list["QueuedTry"]], None]


@dataclass(frozen=True)
class MayKeep:
    """Which of the tries its hop queues a process may start itself: of ``queues`` (None:
    any), before ``until`` (``time.monotonic()``; None: no end), and with ``untimed_only``
    never a try with a time limit (only a broker message of its own carries that)."""

    queues: frozenset[str] | None = None
    until: float | None = None
    untimed_only: bool = False

    def allows(self, work: QueuedTry) -> bool:
        if self.untimed_only and work.timeout_seconds is not None:
            return False
        if self.queues is not None and work.queue not in self.queues:
            return False
        return self.until is None or time.monotonic() < self.until


@dataclass(frozen=True)
class Keeper:
    """The process that records a try's end, as the kept try's start names it."""

    may: MayKeep
    hostname: str
    pid: int
    logs_path: Path


@dataclass(frozen=True)
class KeptTry:
    """A try started in the transaction that recorded its upstream's end, with its run as
    that transaction read it under the run's lock: what the process runs next."""

    started: StartedTry
    run: RunRow
    #: As it was queued (the broker message it did not need), started as ``started``.
    work: QueuedTry


class Handoff:
    """What one recording transaction does with the tries its hop queues: publishes them,
    but for the one it keeps (queued and started here, see :meth:`start`)."""

    def __init__(self, keeper: Keeper | None, publish: Publish | None) -> None:
        self.keeper = keeper
        self.publish = publish
        self.offered: QueuedTry | None = None
        self.started: tuple[StartedTry, QueuedTry] | None = None

    def choose(self, tries: list[QueuedTry]) -> QueuedTry | None:
        """The try to keep, if any; the others are published now, before the statements that
        queue them (the broker's delivery overlaps the rest of the transaction, and a receiver
        that comes before the commit waits for the run's lock)."""
        keeper = self.keeper
        self.offered = None
        if keeper is not None:
            self.offered = next((work for work in tries if keeper.may.allows(work)), None)
        rest = [work for work in tries if work is not self.offered]
        if rest and self.publish is not None:
            self.publish(rest)
        return self.offered

    def start(
        self,
        conn: Connection,
        run: LockedRun,
        ready: steps.Ready,
        from_state: TaskState,
        actor: Actor,
    ) -> bool:
        """Queue and start the chosen try under the run's lock the transaction holds: the move
        cannot lose. A crash after the commit leaves it running with this process's pid,
        which the worker's heartbeat then no longer covers: the zombie step retries it."""
        work, keeper = self.offered, self.keeper
        assert work is not None and keeper is not None, "start only what choose returned"
        log_path = try_log_path(
            keeper.logs_path,
            work.dag_id,
            work.run_id,
            work.task_id,
            work.try_number,
            work.map_index,
        )
        found = steps.queue_and_start(
            conn,
            run,
            ready,
            from_state,
            hostname=keeper.hostname,
            pid=keeper.pid,
            actor=actor,
            log_path=str(log_path),
        )
        if found is None:
            return False
        started = StartedTry(
            work.ti_id,
            found.try_number,
            work.dag_id,
            work.run_id,
            work.task_id,
            work.run_pk,
            found.max_tries,
            found.start_date,
            found.queued_at,
            work.map_index,
            found.resumptions,
        )
        if started.shown_try != work.try_number:
            # A dispatch that continues its try (a poke that waited for room) writes to
            # that try's log, which its number did not name before the start read it.
            shown = try_log_path(
                keeper.logs_path,
                work.dag_id,
                work.run_id,
                work.task_id,
                started.shown_try,
                work.map_index,
            )
            steps.set_log_path(conn, work.ti_id, found.try_number, str(shown))
        self.started = started, replace(work, try_number=found.try_number)
        return True
