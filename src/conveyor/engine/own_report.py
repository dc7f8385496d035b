"""A try's end as its own process reported it: the report (:class:`TryEnd`), what recording
it answers (:class:`TryResult`), the record its rules read (:class:`Ending`), the three
statements that can make its move, and the rules only such an end has (what the try brought
with it: its return value, outlets, a branch's choice, its rendered fields). The entry point
is ``tries.try_ended``; ``engine.policy_table`` places the rules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from conveyor.clock import utcnow
from conveyor.engine import frontier
from conveyor.engine.kept import KeptTry
from conveyor.engine.outlets import record_task_outlets
from conveyor.engine.planning import branch_skips, short_circuit_skips
from conveyor.engine.progress import Mover, QueuedTry, advance_from_frontier, waiting_bound
from conveyor.engine.report import Happened
from conveyor.engine.try_move import TryMove
from conveyor.lifecycle import NOT_A_RETRY
from conveyor.model.assets import Emitted
from conveyor.model.xcom_arg import RETURN_VALUE
from conveyor.serialized import SerializedDag
from conveyor.states import TaskState
from conveyor.store import frontier_reads, runs, transitions
from conveyor.store.hop import run_lock, steps
from conveyor.store.rendered import keep_map_index, keep_rendered
from conveyor.store.xcom import upsert_xcom


@dataclass
class TryResult:
    started: bool
    state: TaskState | None = None  # None: the try was not this caller's to end
    queued: list[QueuedTry] = field(default_factory=list)
    error: str | None = None
    #: The run as the recording transaction read it under its lock.
    run: runs.RunRow | None = None
    #: The try this process started in that transaction, to run next (``engine.kept``).
    kept: KeptTry | None = None
    #: The runner's ``recorded`` hook was given this result already (before the listeners).
    reported: bool = False
    #: The end the record gave the try (None where it records none: a deferral, a poke).
    ended_at: datetime | None = None


@dataclass(frozen=True)
class ReturnValue:
    """A successful try's return value, kept as its XCom; ``shown``: what readers see
    instead when the value holds a secret (None: the value itself)."""

    value: Any
    shown: Any = None


@dataclass(frozen=True)
class TryEnd:
    """How a try ended, as its own process saw it."""

    ti_id: int
    try_number: int
    run_pk: int
    task_id: str
    #: What happened, as the try's process saw it; the engine decides the outcome.
    happened: Happened
    #: How many tries the task instance had when this one started (its retries and one), as
    #: its process was told: kept for what the process shows; the engine decides a retry on
    #: the row it reads under the run's lock.
    max_tries: int
    started_at: datetime | None = None
    map_index: int = -1
    #: A branch's choice of downstream tasks; [] for a short circuit that said stop.
    chosen: list[str] | None = None
    #: A short circuit's skips: "direct" or "all" downstream tasks (teardowns left to run).
    short_circuit: str | None = None
    #: The DAG version the run pinned, when the try's process knows it: the hop is then
    #: planned before the run's lock is taken, and sent with it (see below).
    version_hash: str | None = None
    #: Kept as the try's XCom if it succeeded; None keeps nothing.
    returned: ReturnValue | None = None
    #: What the try's ``outlet_events`` hold: its datasets' extras, events through aliases.
    emitted: Emitted | None = None
    #: The try's template fields as it rendered them (masked), kept with its end.
    rendered: dict[str, Any] | None = None
    #: Its task's map_index_template as the try rendered it (masked), kept with its end.
    rendered_map_index: str | None = None
    #: The dispatches before it that continued their try (``StartedTry.resumptions``): the
    #: try people see, which a retry's exponential backoff counts, is try_number - this.
    resumptions: int = 0


_HopRead = tuple[frontier_reads.FrontierReads, frontier_reads.HopRead]


@dataclass(kw_only=True)
class Ending(TryMove):
    """One try's end being recorded from its own report."""

    end: TryEnd
    #: The statement that makes the move, as the entry point chose it.
    statement: Callable[[Ending], bool] | None = None
    mover: Mover | None = None
    #: What the hop plans with (a run the frontier plans), read with the move.
    hop: _HopRead | None = None
    #: The finish the move records, made once (its end time with it).
    finish: steps.Finish | None = None
    result: TryResult | None = None

    def make_move(self) -> bool:
        assert self.statement is not None, "the entry point chose the statement"
        return self.statement(self)

    @property
    def structure(self) -> SerializedDag:
        assert self.dag is not None, "the entry point read the DAG"
        return self.dag

    @property
    def moving(self) -> Mover:
        assert self.mover is not None, "the move made its mover"
        return self.mover

    @property
    def finished(self) -> dict[str, TaskState]:
        return {self.end.task_id: self.decided.state}


# -- the statements that can make the move (the entry point chooses one) --------------------


def move_sending_lock(e: Ending) -> bool:
    """The run's lock goes in front of the move, in one pipeline (``run_lock.lock_run_then``)."""
    together = steps.finishes_in_one_statement(e.conn, e.decided)
    e.run, e.hop = run_lock.lock_run_then(
        e.conn, e.run_pk, _frontier_finish(e), sent_together=together
    )
    return e.hop is not None


def move_reading_hop(e: Ending) -> bool:
    e.hop = _frontier_finish(e)(e.locked)
    return e.hop is not None


def move_reading_run(e: Ending) -> bool:
    # The whole run comes with the move (one statement on PostgreSQL), to plan it.
    e.read = steps.finish_and_read(e.conn, e.locked, _finish(e))
    return e.read is not None


def _frontier_finish(e: Ending) -> Callable[[run_lock.RunLock], _HopRead | None]:
    """Finish the try and read what its hop plans with (one statement on PostgreSQL), given
    the run's lock: held, or sent in front in the same pipeline. None if the try was no
    longer this caller's to end."""
    conn, end, structure = e.conn, e.end, e.structure
    # The hop's read time is after the outcome's, so a retry due now is due.
    mover = e.mover = Mover(e.actor, e.parallelism, utcnow(), e.handoff)
    reads = frontier_reads.FrontierReads(conn, end.run_pk)
    finished = e.finished
    finish_move = _finish(e)

    def finish(lock: run_lock.RunLock) -> _HopRead | None:
        found = steps.finish_and_read_hop(
            conn,
            lock,
            reads,
            finish_move,
            task_ids=frontier.first_reads(structure, finished),
            waiting_bound=waiting_bound(structure, mover.parallelism),
            sample=frontier.reaches_wide_fan_in(structure, finished),
            now=mover.now,
        )
        return None if found is None else (reads, found)

    return finish


def _finish(e: Ending) -> steps.Finish:
    if e.finish is None:
        end = e.end
        e.finish = steps.Finish(end.ti_id, end.try_number, e.decided, e.actor, end.started_at)
    return e.finish


# -- when ----------------------------------------------------------------------------------


def returned_a_value(e: Ending) -> bool:
    return e.moved and e.end.returned is not None


def branched(e: Ending) -> bool:
    """A branch or short circuit; its skips are made with the whole run read."""
    return e.moved and e.end.chosen is not None and e.read is not None


def moved_on_frontier(e: Ending) -> bool:
    return e.moved and e.frontier


def rendered(e: Ending) -> bool:
    # Kept even when the move lost: what the try rendered is true of it either way.
    return e.end.rendered is not None


def moved_with_label(e: Ending) -> bool:
    return e.moved and e.end.rendered_map_index is not None


# -- does ----------------------------------------------------------------------------------


def keep_return_value(e: Ending) -> None:
    end = e.end
    assert end.returned is not None
    upsert_xcom(
        e.conn,
        end.run_pk,
        end.task_id,
        RETURN_VALUE,
        end.returned.value,
        end.map_index,
        shown=end.returned.shown,
    )


def record_outlets(e: Ending) -> None:
    record_task_outlets(e.conn, e.locked, e.end.task_id, e.end.map_index, e.end.emitted)


def skip_unchosen(e: Ending) -> None:
    """The downstream tasks a branch did not choose, or a short circuit cut off: skipped."""
    assert e.read is not None
    end, structure = e.end, e.structure
    tis = {ti.task_id: ti for ti in e.read.tis}
    if end.short_circuit is not None:
        found = short_circuit_skips(structure, end.task_id, every=end.short_circuit == "all")
        reason = f"{end.task_id!r} short-circuited"
    else:
        found = branch_skips(structure, end.task_id, end.chosen or [])
        reason = f"branch {end.task_id!r} chose {end.chosen}"
    for skipped in found:
        ti = tis.get(skipped)
        if ti is None:
            continue  # not made yet (a mapped task): trigger rules skip it when it is
        transitions.finish_without_running(
            e.conn, ti.id, TaskState.SKIPPED, ti.try_number, reason, e.actor
        )
    e.read = None  # the skips changed task instances: the advance reads them again


def advance_hop(e: Ending) -> None:
    e.advance = advance_from_frontier(
        e.conn, e.locked, e.structure, e.finished, e.moving, read=e.hop
    )


def hand_off(e: Ending) -> None:
    """The try's result: what its hop queued for others, and the try it kept, if any."""
    outcome, run = e.decided, e.locked
    assert e.advance is not None
    queued = e.advance.queued
    started = None if e.handoff is None else e.handoff.started
    ended_at = _finish(e).at if outcome.state not in NOT_A_RETRY else None
    if started is None:
        e.result = TryResult(True, outcome.state, queued, outcome.error, run, ended_at=ended_at)
        return
    queued = [work for work in queued if work.ti_id != started[0].ti_id]
    kept = KeptTry(started[0], run, started[1])
    e.result = TryResult(True, outcome.state, queued, outcome.error, run, kept, ended_at=ended_at)


def keep_rendered_fields(e: Ending) -> None:
    # Kept with the try's end, in the transaction that records it (after the run's lock, as
    # every write of the hop): no extra write per try; a try killed before it ends keeps none.
    assert e.end.rendered is not None
    keep_rendered(e.conn, e.end.ti_id, e.end.try_number, e.end.rendered)


def keep_label(e: Ending) -> None:
    assert e.end.rendered_map_index is not None
    keep_map_index(e.conn, e.end.ti_id, e.end.rendered_map_index)
