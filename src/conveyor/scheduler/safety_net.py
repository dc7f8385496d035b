"""Which running runs the scheduler loop plans whole this loop: the safety net's choice.

A try's end advances its run in the transaction that records it (the fast path), so a
running run needs the loop only when something else changed it or came due. The loop plans
a run whole (reading every task instance of it) when:

- it was running when this scheduler began (whatever a crash left) and is not planned yet. A
  run that starts later is planned in the transaction that starts it, by whichever scheduler
  starts it (or asks for its plan: a wide one, once the planner's statistics are refreshed),
  so no scheduler plans it again as new;
- a plan was requested for it (``store.plan_requests``: a clear, a mark, an unpause, the run
  before it moving on for ``depends_on_past``);
- a retry or a sensor's next poke of it came due;
- nothing of it moves any more and the loop has not planned it since: it must end, be found
  deadlocked, or wait for one of the above;
- the sweep: its last plan is older than ``run_sweep_seconds``, the last resort for a change
  nobody asked a plan for.

Everything else is left to the fast path. What these reads cost grows with the running runs
and what changed, never with the task instances of a run.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from conveyor.store.scheduling import RunningSince


class Why(StrEnum):
    """Why the loop plans a run whole this loop."""

    NEW = "running when this scheduler began"
    REQUESTED = "a plan was requested"
    RETRY_DUE = "a retry or a sensor's poke came due"
    QUIET = "nothing of the run moves any more"
    SWEEP = "the periodic sweep"


@dataclass(frozen=True)
class Seen:
    """What the loop read this loop: the running runs and the signals that select them."""

    running: list[RunningSince]
    requested: Iterable[int]  # runs with a plan request
    due: set[int]  # runs with a retry or a poke that came due
    quiet: set[int]  # runs none of whose instances moves any more


@dataclass(frozen=True)
class _Planned:
    start_date: datetime | None  # the run's start when planned: a restarted run is new again
    at: datetime


class SafetyNet:
    """The loop's memory of the runs it planned, and its choice of the runs to plan next."""

    def __init__(self, sweep_seconds: float) -> None:
        self.sweep = timedelta(seconds=sweep_seconds)
        self._planned: dict[int, _Planned] = {}
        self._planned_quiet: set[int] = set()  # planned while quiet, and quiet since
        #: When each run chosen and not planned yet was first chosen: a loop plans at most
        #: ``max_dagruns_per_loop_to_schedule`` of them, and those left go first next time.
        self._chosen_since: dict[int, datetime] = {}
        #: The runs running when this scheduler began, not planned by it yet; None until
        #: read (:meth:`left_running`): every run this net has not planned is new then.
        self._left: set[int] | None = None

    def left_running(self, run_ids: Iterable[int]) -> None:
        """The runs running as this scheduler begins, read before it starts any itself."""
        self._left = set(run_ids)

    @property
    def knows_left_running(self) -> bool:
        return self._left is not None

    def choose(self, seen: Seen, now: datetime) -> list[tuple[RunningSince, Why]]:
        """The runs to plan whole now, each with why: those chosen in an earlier loop and
        not planned since first (the longest waiting first), then in the order of
        ``seen.running``. The loop plans the first ones it has room for; none waits behind
        runs chosen after it, so none starves."""
        running = {run.id for run in seen.running}
        self._planned = {pk: p for pk, p in self._planned.items() if pk in running}
        self._planned_quiet &= seen.quiet
        requested = set(seen.requested)
        chosen = []
        for run in seen.running:
            why = self._why(run, requested, seen, now)
            if why is not None:
                chosen.append((run, why))
        # A run no longer chosen (its reason went, or it ended) forgets its wait.
        self._chosen_since = {run.id: self._chosen_since.get(run.id, now) for run, _ in chosen}
        order = {run.id: n for n, run in enumerate(seen.running)}
        chosen.sort(key=lambda c: (self._chosen_since[c[0].id], order[c[0].id]))
        return chosen

    def _why(self, run: RunningSince, requested: set[int], seen: Seen, now: datetime) -> Why | None:
        planned = self._planned.get(run.id)
        if planned is None or planned.start_date != run.start_date:
            if self._left is None or run.id in self._left:
                return Why.NEW
            # Started since this scheduler began: planned as it started; swept from now on.
            planned = self._planned[run.id] = _Planned(run.start_date, now)
        if run.id in requested:
            return Why.REQUESTED
        if run.id in seen.due:
            return Why.RETRY_DUE
        if run.id in seen.quiet and run.id not in self._planned_quiet:
            return Why.QUIET
        if now - planned.at >= self.sweep:
            return Why.SWEEP
        return None

    def planned(self, run: RunningSince, seen: Seen, now: datetime, *, idle: bool) -> None:
        """The loop planned ``run`` whole (its transaction committed); ``idle``: the plan
        found nothing of it that could move. A quiet run planned idle stays so until one of
        the other reasons comes; one whose plan moved something is looked at again."""
        self._planned[run.id] = _Planned(run.start_date, now)
        self._chosen_since.pop(run.id, None)
        if self._left is not None:
            self._left.discard(run.id)
        if idle and run.id in seen.quiet:
            self._planned_quiet.add(run.id)
