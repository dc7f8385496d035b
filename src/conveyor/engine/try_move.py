"""A try's move being made: what every entry point that moves a try knows, and the rules
they share (``engine.policy_table`` places them).

An entry point takes the run's lock and makes its reads first (the try's tries allowed,
read under that lock, among them), chooses the statement that makes its move, then follows
its list over a :class:`TryMove` (or a record that extends it). A rule over a
:class:`TryMove` serves every such entry point.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from conveyor.clock import utcnow
from conveyor.engine.kept import Handoff
from conveyor.engine.progress import Advance, advance_run, plan_whole_run
from conveyor.engine.report import AwaitingInput, Deferred, Happened, Raised, decide
from conveyor.lifecycle import Actor, Outcome
from conveyor.serialized import SerializedDag
from conveyor.states import TaskState
from conveyor.store import hitl, runs, transitions, triggers
from conveyor.store.engine import Connection
from conveyor.store.hop import run_lock
from conveyor.store.hop.run_lock import LockedRun


@dataclass(kw_only=True)
class TryMove:
    """One try's move: what its entry point read before following its list, and what the
    rules found so far."""

    conn: Connection
    actor: Actor
    run_pk: int
    ti_id: int
    #: The try's number as its mover knows it: the move is fenced on it (it loses if the
    #: row's differs), so a won move's decision counted on the row's.
    try_number: int
    #: What happened to the try (None: a move that decides nothing, a hand-back).
    happened: Happened | None = None
    #: The DAG version the run pinned (its retry delays), where a failure is decided.
    dag: SerializedDag | None = None
    task_id: str = ""
    #: The run, locked by the entry point, or by the move itself (the lock sent in front).
    run: LockedRun | None = None
    #: The task instance's tries allowed, read under the run's lock: what a failure's retry
    #: counts on (never what the try's process was told when it started).
    allowance: runs.TryOwner | None = None
    #: The cap on tries in flight a queueing advance keeps (``progress.Mover``).
    parallelism: int | None = None
    #: What becomes of the tries the advance queues (``engine.kept``); None: the caller.
    handoff: Handoff | None = None
    #: Whether the frontier plans the run's advance (it then reads only what the try
    #: touches); else the whole run is planned.
    frontier: bool = False
    #: The whole run as the move read it; None once stale, or not read.
    read: runs.TasksAndRoom | None = None
    outcome: Outcome | None = None
    #: Whether the move won (else a timeout, a person or a fired trigger moved it first).
    moved: bool = False
    advance: Advance | None = None

    @property
    def locked(self) -> LockedRun:
        assert self.run is not None, "the entry point or the move locked the run before"
        return self.run

    @property
    def decided(self) -> Outcome:
        assert self.outcome is not None, "a rule decided the outcome before"
        return self.outcome

    def make_move(self) -> bool:
        """The statement its entry point chose for the move; whether it won."""
        raise NotImplementedError


def lock_and_read(move: TryMove) -> None:
    """The step before a list: the run's row locked (first, as every writer of a run's moves
    takes it), then what the decision reads under that lock."""
    move.run = run_lock.lock_run(move.conn, move.run_pk)
    read_allowance(move)


def read_allowance(move: TryMove) -> None:
    """Under the run's lock: the tries the task instance is allowed now. Only a failure
    counts them, so only a failure reads them."""
    if isinstance(move.happened, Raised):
        move.allowance = runs.try_owner(move.conn, move.ti_id)


# -- when ----------------------------------------------------------------------------------


def moved(m: TryMove) -> bool:
    return m.moved


def moved_whole(m: TryMove) -> bool:
    return m.moved and not m.frontier


# -- does ----------------------------------------------------------------------------------


def decide_outcome(m: TryMove) -> None:
    happened = m.happened
    assert happened is not None, "only an entry point that decides has this rule"
    if not isinstance(happened, Raised):  # only a failure counts tries or waits for a retry
        m.outcome = decide(happened, m.try_number, m.try_number, timedelta(0))
        return
    allowance, dag = m.allowance, m.dag
    assert allowance is not None and dag is not None, "the entry point read them under the lock"
    delay = dag.tasks[m.task_id].retry_delay_for(m.try_number - allowance.resumptions)
    # A retry's delay counts from now, the end being recorded, after the run's lock.
    m.outcome = decide(happened, m.try_number, allowance.max_tries, delay)


def make_the_move(m: TryMove) -> None:
    m.moved = m.make_move()


def store_trigger(m: TryMove) -> None:
    """The trigger a triggerer picks up, and the timeline entry that says what it waits for."""
    happened = m.happened
    assert isinstance(happened, Deferred)
    deferral, now = happened.deferral, utcnow()
    trigger_id = triggers.add(
        m.conn,
        m.ti_id,
        m.try_number,
        deferral.classpath,
        deferral.kwargs,
        deferral.method_name,
        deferral.method_kwargs,
        deferral.timeout_at,
        now,
    )
    limit = (
        f"; times out at {deferral.timeout_at.isoformat(timespec='seconds')}"
        if deferral.timeout_at
        else ""
    )
    transitions.record_event(
        m.conn,
        m.ti_id,
        m.try_number,
        "trigger",
        f"waiting for trigger {deferral.trigger_name} (#{trigger_id}) to resume at "
        f"{deferral.method_name}{limit}",
        m.actor,
        detail={"trigger_id": trigger_id, "classpath": deferral.classpath},
        at=now,
    )


def ask_the_person(m: TryMove) -> None:
    """The question a person answers, and the timeline entry that says what it waits for."""
    waiting = m.happened
    assert isinstance(waiting, AwaitingInput)
    now = utcnow()
    hitl.ask(
        m.conn, m.ti_id, m.try_number, waiting.request, waiting.method_name, waiting.timeout_at, now
    )
    limit = ""
    if waiting.timeout_at is not None:
        at = waiting.timeout_at.isoformat(timespec="seconds")
        limit = f"; takes its defaults or fails at {at}"
    transitions.record_event(
        m.conn,
        m.ti_id,
        m.try_number,
        "awaiting_input",
        f"waiting for a person to answer {waiting.request.get('subject')!r}{limit}",
        m.actor,
        at=now,
    )


def advance_whole(m: TryMove) -> None:
    """Plan the whole run and queue what became ready, in the room left."""
    m.advance = advance_run(
        m.conn, m.locked, m.actor, parallelism=m.parallelism, read=m.read, handoff=m.handoff
    )


def plan_whole(m: TryMove) -> None:
    """Plan the whole run; what became ready is left scheduled for the scheduler's dispatch."""
    m.advance = plan_whole_run(m.conn, m.locked, m.actor)


@dataclass(kw_only=True)
class Finishing(TryMove):
    """A try's move made by ``transitions.finish`` alone, from one of ``expected``."""

    expected: Sequence[TaskState] = (TaskState.RUNNING,)
    started_at: datetime | None = None

    def make_move(self) -> bool:
        return bool(
            transitions.finish(
                self.conn,
                self.locked,
                self.ti_id,
                self.try_number,
                self.decided,
                self.actor,
                expected=self.expected,
                started_at=self.started_at,
            )
        )


@dataclass(kw_only=True)
class TimingOut(Finishing):
    """A deferral past its timeout, being failed: its trigger goes with the move."""

    trigger_id: int


def remove_trigger(t: TimingOut) -> None:
    triggers.remove(t.conn, t.trigger_id)
