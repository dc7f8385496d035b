"""Admission: which waiting tries of a run may be queued now (engine/admission.py, pure)."""

from __future__ import annotations

from conveyor.engine.admission import AheadElsewhere, admit, by_priority, run_room
from conveyor.states import TaskState
from conveyor.store.pools import PoolCounts
from conveyor.store.runs import TiRow

S = TaskState


def _ti(
    id_: int,
    *,
    state: TaskState = S.SCHEDULED,
    priority: int = 1,
    pool: str = "default_pool",
    slots: int = 1,
) -> TiRow:
    return TiRow(
        id=id_,
        task_id=f"t{id_}",
        state=state,
        try_number=1,
        max_tries=1,
        retry_at=None,
        queue="default",
        priority_weight=priority,
        pool=pool,
        pool_slots=slots,
    )


UNLIMITED = PoolCounts(slots={"default_pool": None})


def _ids(tis: list[TiRow]) -> list[int]:
    return [ti.id for ti in tis]


def test_run_room_counts_tries_in_flight_and_takes_the_smaller_cap() -> None:
    tis = [_ti(1, state=S.QUEUED), _ti(2, state=S.RUNNING), _ti(3), _ti(4, state=S.SUCCESS)]
    assert run_room(5, tis) == 3
    assert run_room(5, tis, cap=1) == 1
    assert run_room(2, tis) == 0
    assert run_room(1, tis, cap=4) == -1


def test_highest_priority_first_ties_keep_their_order() -> None:
    tis = [_ti(1, priority=1), _ti(2, priority=5), _ti(3, priority=1), _ti(4, priority=5)]
    assert _ids(by_priority(tis)) == [2, 4, 1, 3]
    admitted = admit(tis, 3, UNLIMITED)
    assert _ids(admitted.now) == [2, 4, 1]
    assert _ids(admitted.later) == [3]


def test_no_room_admits_nothing() -> None:
    admitted = admit([_ti(1), _ti(2)], 0, UNLIMITED)
    assert admitted.now == []
    assert _ids(admitted.later) == [1, 2]


def test_a_pool_that_does_not_exist_keeps_its_tries_waiting() -> None:
    admitted = admit([_ti(1, pool="nowhere"), _ti(2)], 5, UNLIMITED)
    assert _ids(admitted.now) == [2]
    assert _ids(admitted.later) == [1]


def test_pool_slots_count_what_is_in_flight_and_what_each_try_takes() -> None:
    pools = PoolCounts(slots={"db": 3}, used={"db": 1})
    tis = [_ti(1, pool="db", slots=2, priority=9), _ti(2, pool="db"), _ti(3, pool="db")]
    admitted = admit(tis, 10, pools)
    assert _ids(admitted.now) == [1]  # 1 used + 2 taken: the pool is full
    assert _ids(admitted.later) == [2, 3]


def test_higher_priorities_waiting_elsewhere_go_first() -> None:
    pools = PoolCounts(slots={"db": 2}, used={"db": 0}, waiting_elsewhere={"db": [(10, 2)]})
    assert admit([_ti(1, pool="db", priority=5)], 5, pools).now == []
    # a lower priority elsewhere holds nobody back
    pools = PoolCounts(slots={"db": 2}, waiting_elsewhere={"db": [(1, 2)]})
    assert _ids(admit([_ti(1, pool="db", priority=5)], 5, pools).now) == [1]


def test_executor_slots_go_to_higher_priorities_of_other_runs_first() -> None:
    # One slot left under parallelism, wanted by another run's try of priority 10.
    admitted = admit([_ti(1, priority=5)], 5, UNLIMITED, elsewhere=AheadElsewhere(1, [10]))
    assert admitted.now == [] and _ids(admitted.later) == [1]
    # A tie goes to the try at hand.
    elsewhere = AheadElsewhere(1, [10])
    admitted = admit([_ti(1, priority=5), _ti(2, priority=10)], 5, UNLIMITED, elsewhere=elsewhere)
    assert _ids(admitted.now) == [2] and _ids(admitted.later) == [1]
    # Two slots: the other run's try takes one, the highest here the other.
    elsewhere = AheadElsewhere(2, [10])
    admitted = admit([_ti(1, priority=5), _ti(2, priority=11)], 5, UNLIMITED, elsewhere=elsewhere)
    assert _ids(admitted.now) == [2] and _ids(admitted.later) == [1]
    # Lower priorities elsewhere hold nobody back.
    elsewhere = AheadElsewhere(1, [1, 2])
    assert _ids(admit([_ti(1, priority=5)], 5, UNLIMITED, elsewhere=elsewhere).now) == [1]


def test_a_try_asking_for_more_than_its_pool_has_holds_nobody_back() -> None:
    pools = PoolCounts(slots={"db": 2}, waiting_elsewhere={"db": [(10, 3)]})
    admitted = admit([_ti(1, pool="db", slots=3, priority=9), _ti(2, pool="db")], 5, pools)
    assert _ids(admitted.now) == [2]
    assert _ids(admitted.later) == [1]


def test_a_try_that_does_not_fit_keeps_lower_priorities_off_its_slots() -> None:
    pools = PoolCounts(slots={"db": 2}, used={"db": 1})
    tis = [_ti(1, pool="db", slots=2, priority=9), _ti(2, pool="db", priority=1)]
    admitted = admit(tis, 5, pools)
    assert admitted.now == []  # 2 would fit one free slot, but 1 waits for it first
    assert _ids(admitted.later) == [1, 2]


def test_room_runs_out_before_the_pools_do() -> None:
    pools = PoolCounts(slots={"db": 10})
    admitted = admit([_ti(i, pool="db") for i in range(1, 5)], 2, pools)
    assert _ids(admitted.now) == [1, 2]
    assert _ids(admitted.later) == [3, 4]


def test_unlimited_pools_take_any_number() -> None:
    admitted = admit([_ti(i, slots=50) for i in range(1, 4)], 3, UNLIMITED)
    assert _ids(admitted.now) == [1, 2, 3]


def test_admission_does_not_change_the_counts_it_was_given() -> None:
    pools = PoolCounts(slots={"db": 1}, used={"db": 0}, waiting_elsewhere={"db": []})
    admit([_ti(1, pool="db"), _ti(2, pool="db")], 5, pools)
    assert pools == PoolCounts(slots={"db": 1}, used={"db": 0}, waiting_elsewhere={"db": []})
