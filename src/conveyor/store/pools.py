"""Pools: named sets of slots that limit how many tries of their tasks are in flight.

A try holds its task's ``pool_slots`` of its pool while it is queued or running; the slots a
pool uses are summed from the task instances, so nothing has to be given back when a try
ends, whichever way it ends. Whoever queues a try (the scheduler's dispatch, a finishing
try's fast path, on any machine) first locks the rows of the pools it queues into, in name
order, after the run's row, and counts and queues under that lock in one transaction: two
schedulers or workers can never both take a pool's last slot. On SQLite the single writer
serializes them already. What fits is decided above the store, in
``conveyor.engine.admission``; this module reads and locks what that decision needs.

When slots are scarce, higher ``priority_weight`` goes first across runs and DAGs: a try does
not take a slot that a scheduled try of higher priority elsewhere is waiting for.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import Connection, bindparam, delete, func, insert, select, update

from conveyor.clock import utcnow
from conveyor.exceptions import ConveyorError, NotFoundError
from conveyor.lifecycle import POOLED
from conveyor.model.task import DEFAULT_POOL
from conveyor.states import IN_FLIGHT, RunState, TaskState
from conveyor.store.hop import prepared
from conveyor.store.tables import dag, dag_run, pool, task_instance

if TYPE_CHECKING:  # the hop's lock brings psycopg's pipeline: a pool listing needs neither
    from conveyor.store.hop.run_lock import LockedRun

POOL_NAME_MAX = 250


class PoolError(ConveyorError):
    """A pool change that is refused: bad name or slots, default_pool, a pool in use."""


@dataclass(frozen=True)
class PoolUsage:
    name: str
    slots: int | None  # None: no limit of its own
    description: str | None
    queued: int  # slots held by queued tries
    running: int  # slots held by running tries
    scheduled: int  # slots asked for by scheduled tries (waiting, maybe for this pool)

    @property
    def used(self) -> int:
        return self.queued + self.running

    @property
    def free(self) -> int | None:
        return None if self.slots is None else max(self.slots - self.used, 0)


# -- enforcement (called inside the transaction that queues) ------------------------------------


@dataclass
class PoolCounts:
    """Some pools as one queueing transaction found them, their rows locked: the decision of
    what fits is ``conveyor.engine.admission``'s."""

    #: Each pool's slots (None: no limit of its own); a pool that does not exist is absent.
    slots: dict[str, int | None] = field(default_factory=dict)
    #: Slots held by queued and running tries, per pool with a limit.
    used: dict[str, int] = field(default_factory=dict)
    #: (priority_weight, pool_slots) of the scheduled tries of other running runs, per pool
    #: with a limit: they go first when their priority is higher.
    waiting_elsewhere: dict[str, list[tuple[int, int]]] = field(default_factory=dict)


#: The slots of the pools named (None: no limit): read on every queueing, so built once.
_SLOTS = select(pool.c.name, pool.c.slots).where(
    pool.c.name.in_(bindparam("names", expanding=True))
)


def lock_pools(
    conn: Connection,
    names: Iterable[str],
    run: LockedRun,
    *,
    limits: dict[str, int | None] | None = None,
) -> PoolCounts:
    """Lock these pools' rows (name order) and count what they hold, for queueing into them.

    After the run's row (``run``, locked already), the order every queueing transaction
    follows, so that two of them never wait on each other. ``limits``: the pools' slots as
    :func:`runs.task_instances_and_room` read them, to save reading them again.
    """
    wanted = sorted(set(names))
    if not wanted:
        return PoolCounts()
    # Only pools with a limit are locked and counted: tasks in an unlimited pool (default_pool
    # unless a user limits it) queue without waiting on each other across the cluster.
    slots: dict[str, int | None] = (
        {name: size for name, size in limits.items() if name in wanted}
        if limits is not None
        else dict(prepared.execute(conn, _SLOTS, {"names": wanted}).all())
    )
    wanted = sorted(name for name, size in slots.items() if size is not None)
    if not wanted:
        return PoolCounts(slots)
    slots.update(
        conn.execute(
            select(pool.c.name, pool.c.slots)
            .where(pool.c.name.in_(wanted))
            .order_by(pool.c.name)
            .with_for_update()
        ).all()
    )
    ti = task_instance.c
    used = dict(
        conn.execute(
            select(ti.pool, func.sum(ti.pool_slots))
            .where(ti.pool.in_(wanted), ti.state.in_([s.value for s in IN_FLIGHT]))
            .group_by(ti.pool)
        ).all()
    )
    waiting: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for name, priority, n in conn.execute(
        select(ti.pool, ti.priority_weight, ti.pool_slots)
        .join(dag_run, dag_run.c.id == ti.run_pk)
        .join(dag, dag.c.dag_id == dag_run.c.dag_id)
        .where(
            ti.pool.in_(wanted),
            ti.state == TaskState.SCHEDULED.value,
            ti.run_pk != run.id,
            dag_run.c.state == RunState.RUNNING.value,
            dag.c.is_paused.is_(False),
        )
    ):
        waiting[name].append((priority, n))
    return PoolCounts(slots, {k: int(v) for k, v in used.items()}, dict(waiting))


# -- reading and managing pools ------------------------------------------------------------------


def list_pools(conn: Connection) -> list[PoolUsage]:
    """Every pool with the slots its queued, running and scheduled tries hold or ask for."""
    ti = task_instance.c
    counts: dict[tuple[str, str], int] = {
        (name, state): int(n)
        for name, state, n in conn.execute(
            select(ti.pool, ti.state, func.sum(ti.pool_slots))
            .where(ti.state.in_([state.value for state in POOLED]))
            .group_by(ti.pool, ti.state)
        )
    }
    return [
        PoolUsage(
            name=row.name,
            slots=row.slots,
            description=row.description,
            queued=counts.get((row.name, TaskState.QUEUED.value), 0),
            running=counts.get((row.name, TaskState.RUNNING.value), 0),
            scheduled=counts.get((row.name, TaskState.SCHEDULED.value), 0),
        )
        for row in conn.execute(select(pool).order_by(pool.c.name))
    ]


def get_pool(conn: Connection, name: str) -> PoolUsage:
    for usage in list_pools(conn):
        if usage.name == name:
            return usage
    raise NotFoundError(f"no pool {name!r} (`conveyor pools list` shows the pools)")


def set_pool(
    conn: Connection, name: str, slots: int | None, description: str | None = None
) -> bool:
    """Create the pool or change its slots (and description, if given); True if created.

    ``slots`` None: no limit of its own. Fewer slots than are in use is allowed: running
    tries finish, and no new one is queued into the pool until it has room again.
    """
    _check_name(name)
    if slots is not None and (isinstance(slots, bool) or not isinstance(slots, int) or slots < 0):
        raise PoolError(f"pool {name!r}: slots must be a whole number >= 0, got {slots!r}")
    now = utcnow()
    found = conn.execute(select(pool.c.name).where(pool.c.name == name).with_for_update()).first()
    if found is None:
        conn.execute(
            insert(pool).values(name=name, slots=slots, description=description, updated_at=now)
        )
        return True
    values: dict[str, object] = {"slots": slots, "updated_at": now}
    if description is not None:
        values["description"] = description
    conn.execute(update(pool).where(pool.c.name == name).values(**values))
    return False


def delete_pool(conn: Connection, name: str) -> None:
    """Delete a pool nobody uses; default_pool and pools with tries waiting or in flight stay."""
    if name == DEFAULT_POOL:
        raise PoolError(f"{DEFAULT_POOL} cannot be deleted: tasks that name no pool use it")
    found = conn.execute(select(pool.c.name).where(pool.c.name == name).with_for_update()).first()
    if found is None:
        raise NotFoundError(f"no pool {name!r} (`conveyor pools list` shows the pools)")
    ti = task_instance.c
    busy = conn.execute(
        select(func.count()).where(
            ti.pool == name,
            ti.state.in_([state.value for state in POOLED]),
        )
    ).scalar_one()
    if busy:
        raise PoolError(
            f"pool {name!r} is in use: {busy} task instance(s) are scheduled, queued or "
            "running in it; delete it once they are done"
        )
    conn.execute(delete(pool).where(pool.c.name == name))


def create_missing(conn: Connection, names: Iterable[str], description: str) -> list[str]:
    """Create, without a limit, the pools among ``names`` that do not exist; their names.

    For one-off runs on a private store (``conveyor run``, ``conveyor.testing``), where no one
    could have made the pools a DAG names.
    """
    wanted = set(names)
    have = set(conn.execute(select(pool.c.name).where(pool.c.name.in_(wanted))).scalars())
    made = sorted(wanted - have)
    for name in made:
        conn.execute(
            insert(pool).values(name=name, slots=None, description=description, updated_at=utcnow())
        )
    return made


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not name.strip() or len(name) > POOL_NAME_MAX:
        raise PoolError(f"invalid pool name {name!r}: 1 to {POOL_NAME_MAX} characters")
