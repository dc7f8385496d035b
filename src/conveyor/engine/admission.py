"""Admission: which waiting tries of a run may be queued now. One decision, pure.

Both queueing paths ask it: a finishing try's fast path (``progress.advance_locked``) and
the scheduler loop's dispatch (``progress.queue_scheduled``). The rules:

- a run has ``max_active_tasks`` places, less its tries in flight (queued or running), and
  never more than the caller's cap: the room left under ``parallelism`` on the fast path,
  the executor's free slots in the loop;
- candidates go by ``priority_weight``, highest first, then by ``map_index`` (Airflow's
  order within a run; other ties keep the caller's order);
- a try takes its task's ``pool_slots`` of its pool, which must exist and have room for
  them after the slots held by tries in flight and those asked for by scheduled tries of
  higher priority elsewhere (a try asking for more than its pool has holds nobody back);
- a try that does not fit its pool waits, and lower priorities must not take its slots;
- the room under ``parallelism`` goes first to scheduled tries of other runs with a higher
  priority (:class:`AheadElsewhere`), as Airflow's scheduler hands a freed slot to the
  highest priority waiting anywhere: the fast path leaves its own lower tries scheduled;
- a task with ``max_active_tis_per_dag`` / ``max_active_tis_per_dagrun`` has at most that
  many instances queued, running or deferred across its DAG's runs / in the run
  (``store.task_limits`` counts them under its lock); a try over its task's limit waits,
  holding no place and no pool slot.

The store reads and locks what the decision needs (``store.pools.lock_pools``) in the same
transaction, under the run's lock, so that what is admitted here is what gets queued.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from conveyor.serialized import SerializedDag
from conveyor.states import IN_FLIGHT
from conveyor.store.pools import PoolCounts
from conveyor.store.runs import TiRow
from conveyor.store.task_limits import TaskCounts


def run_room(max_active_tasks: int, tis: Iterable[TiRow], cap: int | None = None) -> int:
    """The places left in a run under ``max_active_tasks`` (and ``cap``); may be <= 0."""
    room = max_active_tasks - sum(1 for ti in tis if ti.state in IN_FLIGHT)
    return room if cap is None else min(room, cap)


class PoolRoom:
    """The free slots of some pools, as tries are admitted one after another."""

    def __init__(self, counts: PoolCounts) -> None:
        self._slots = counts.slots
        self._used = dict(counts.used)
        # Scheduled tries that want these pools and would go first by priority: those of
        # other runs, then those of this run that did not fit.
        self._waiting = {name: list(w) for name, w in counts.waiting_elsewhere.items()}

    def fits(self, name: str, slots: int, priority: int) -> bool:
        """Whether a try of this priority may take ``slots`` of pool ``name`` now."""
        if name not in self._slots:
            return False  # no such pool: the try waits; `conveyor tasks why` says so
        size = self._slots[name]
        if size is None:
            return True  # a pool without a limit of its own
        # A try asking for more slots than the pool has never runs: it holds nobody back.
        ahead = sum(s for p, s in self._waiting.get(name, ()) if p > priority and s <= size)
        return self._used.get(name, 0) + ahead + slots <= size

    def take(self, name: str, slots: int) -> None:
        self._used[name] = self._used.get(name, 0) + slots

    def wait(self, name: str, slots: int, priority: int) -> None:
        """A try that did not fit: lower priorities must not take its slots before it."""
        self._waiting.setdefault(name, []).append((priority, slots))


class AheadElsewhere:
    """The room under ``parallelism`` (``cap``) and the priorities of scheduled tries of
    other runs that want it; a try takes a place only if those of higher priority would
    still find theirs. Ties go to the try at hand (Airflow's next key, the run's logical
    date, is not read here)."""

    def __init__(self, cap: int, priorities: Iterable[int]) -> None:
        self.cap = cap
        self.priorities = sorted(priorities, reverse=True)
        self.taken = 0

    def leaves_room(self, priority: int) -> bool:
        ahead = sum(1 for p in self.priorities if p > priority)
        return self.taken + ahead < self.cap

    def take(self) -> None:
        self.taken += 1


class TaskRoom:
    """The places left under the per-task limits, as tries are admitted one after another."""

    def __init__(self, structure: SerializedDag | None, counts: TaskCounts) -> None:
        self._tasks = structure.tasks if structure is not None else {}
        self._in_dag = dict(counts.in_dag)
        self._in_run = dict(counts.in_run)

    def fits(self, task_id: str) -> bool:
        task = self._tasks.get(task_id)
        if task is None:
            return True
        per_dag, per_run = task.max_active_tis_per_dag, task.max_active_tis_per_dagrun
        if per_dag is not None and self._in_dag.get(task_id, 0) >= per_dag:
            return False
        return per_run is None or self._in_run.get(task_id, 0) < per_run

    def take(self, task_id: str) -> None:
        self._in_dag[task_id] = self._in_dag.get(task_id, 0) + 1
        self._in_run[task_id] = self._in_run.get(task_id, 0) + 1


def limited(structure: SerializedDag, candidates: Iterable[TiRow]) -> tuple[set[str], set[str]]:
    """The candidates' tasks with a per-DAG limit, and those with a per-run limit only."""
    per_dag: set[str] = set()
    per_run: set[str] = set()
    for ti in candidates:
        if ti.task_id in structure.task_limited:
            task = structure.tasks[ti.task_id]
            if task.max_active_tis_per_dag is not None:
                per_dag.add(ti.task_id)
            else:
                per_run.add(ti.task_id)
    return per_dag, per_run


@dataclass
class Admitted:
    """The candidates split: those to queue now and those left to wait, each by priority."""

    now: list[TiRow] = field(default_factory=list)
    later: list[TiRow] = field(default_factory=list)


def by_priority(candidates: Iterable[TiRow]) -> list[TiRow]:
    """Highest ``priority_weight`` first, then the lowest ``map_index``; ties keep their
    order."""
    return sorted(candidates, key=lambda ti: (-ti.priority_weight, ti.map_index))


def admit(
    candidates: Sequence[TiRow],
    room: int,
    pools: PoolCounts,
    tasks: TaskRoom | None = None,
    elsewhere: AheadElsewhere | None = None,
) -> Admitted:
    """Which ``candidates`` may be queued now, given the run's ``room`` (see
    :func:`run_room`), the ``pools`` they use, their tasks' own limits (``tasks``) and the
    other runs' tries waiting for the same executor slots (``elsewhere``)."""
    room_in = PoolRoom(pools)
    admitted = Admitted()
    for ti in by_priority(candidates):
        if tasks is not None and not tasks.fits(ti.task_id):
            admitted.later.append(ti)  # over its task's limit: it holds nothing back
            continue
        if elsewhere is not None and not elsewhere.leaves_room(ti.priority_weight):
            admitted.later.append(ti)  # a higher try of another run comes first
            continue
        if room > 0 and room_in.fits(ti.pool, ti.pool_slots, ti.priority_weight):
            room -= 1
            if elsewhere is not None:
                elsewhere.take()
            room_in.take(ti.pool, ti.pool_slots)
            if tasks is not None:
                tasks.take(ti.task_id)
            admitted.now.append(ti)
            continue
        if room > 0:  # it waits for a slot in its pool
            room_in.wait(ti.pool, ti.pool_slots, ti.priority_weight)
        admitted.later.append(ti)
    return admitted
