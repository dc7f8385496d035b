"""The safety net's choice of runs to plan whole, on its own (no store)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime, timedelta

from conveyor.scheduler.safety_net import SafetyNet, Seen, Why
from conveyor.store.scheduling import RunningSince

T0 = datetime(2026, 1, 1, tzinfo=UTC)
RUN = RunningSince(1, "d", "v", T0)


def _seen(
    *, requested: Collection[int] = (), due: Collection[int] = (), quiet: Collection[int] = ()
) -> Seen:
    return Seen([RUN], set(requested), set(due), set(quiet))


def _choice(net: SafetyNet, seen: Seen, now: datetime = T0) -> list[Why]:
    return [why for _, why in net.choose(seen, now)]


def _planned(net: SafetyNet, seen: Seen | None = None, *, idle: bool = False) -> SafetyNet:
    seen = seen or _seen()
    net.choose(seen, T0)
    net.planned(RUN, seen, T0, idle=idle)
    return net


def test_a_run_new_to_this_scheduler_is_planned_then_left_alone() -> None:
    net = SafetyNet(30)
    assert _choice(net, _seen()) == [Why.NEW]
    net.planned(RUN, _seen(), T0, idle=False)
    assert _choice(net, _seen()) == []


def test_a_run_that_starts_after_the_scheduler_began_was_planned_as_it_started() -> None:
    net = SafetyNet(30)
    net.left_running([])  # none running as it began
    later = T0 + timedelta(seconds=5)
    assert _choice(net, _seen(), later) == []  # another scheduler started and planned it
    assert _choice(net, _seen(), later + timedelta(seconds=29)) == []
    assert _choice(net, _seen(), later + timedelta(seconds=30)) == [Why.SWEEP]


def test_a_run_that_started_again_was_planned_as_it_started_again() -> None:
    net = SafetyNet(30)
    net.left_running([RUN.id])
    _planned(net)
    restarted = RunningSince(1, "d", "v", T0 + timedelta(hours=1))
    again = Seen([restarted], set(), set(), set())
    assert net.choose(again, T0 + timedelta(hours=1)) == []
    assert net.choose(again, T0 + timedelta(hours=1, seconds=30)) == [(restarted, Why.SWEEP)]


def test_a_run_left_running_stays_new_until_planned() -> None:
    net = SafetyNet(30)
    net.left_running([RUN.id])
    assert _choice(net, _seen()) == [Why.NEW]  # a loop without room for it
    assert _choice(net, _seen(), T0 + timedelta(seconds=1)) == [Why.NEW]
    net.planned(RUN, _seen(), T0, idle=False)
    assert _choice(net, _seen(), T0 + timedelta(seconds=1)) == []


def test_requests_due_retries_and_the_sweep_each_bring_a_plan() -> None:
    net = _planned(SafetyNet(30))
    assert _choice(net, _seen(requested={1})) == [Why.REQUESTED]
    assert _choice(net, _seen(due={1})) == [Why.RETRY_DUE]
    assert _choice(net, _seen(), T0 + timedelta(seconds=29)) == []
    assert _choice(net, _seen(), T0 + timedelta(seconds=30)) == [Why.SWEEP]


def test_a_quiet_run_is_planned_until_a_plan_finds_nothing_to_move() -> None:
    quiet = _seen(quiet={1})
    net = _planned(SafetyNet(30))
    assert _choice(net, quiet) == [Why.QUIET]
    net.planned(RUN, quiet, T0, idle=False)  # its plan moved something: look again
    assert _choice(net, quiet) == [Why.QUIET]
    net.planned(RUN, quiet, T0, idle=True)
    assert _choice(net, quiet) == []
    assert _choice(net, _seen()) == []  # it moved again (a request, a retry)...
    assert _choice(net, quiet) == [Why.QUIET]  # ...and went quiet again


def test_runs_no_longer_running_are_forgotten() -> None:
    net = SafetyNet(30)
    net.left_running([RUN.id])
    _planned(net, _seen(quiet={1}), idle=True)
    assert _choice(net, _seen(quiet={1})) == []
    net.choose(Seen([], set(), set(), set()), T0)
    # Running again (sent back by a person): planned as it started, its quiet look anew.
    assert _choice(net, _seen(quiet={1})) == [Why.QUIET]


def test_runs_a_loop_had_no_room_to_plan_come_first_in_the_next() -> None:
    net = SafetyNet(30)
    old = [RunningSince(pk, "d", "v", T0) for pk in (5, 6, 7)]
    seen = Seen(old, set(), set(), set())
    assert [run.id for run, _ in net.choose(seen, T0)] == [5, 6, 7]
    net.planned(old[0], seen, T0, idle=False)  # a loop with room for one
    # Runs chosen later, with lower ids (the order of the read), come after the two left
    # waiting.
    later = T0 + timedelta(seconds=1)
    new = [RunningSince(pk, "e", "v", later) for pk in (1, 2)]
    seen = Seen([*new, *old], {1, 2}, set(), set())
    assert [run.id for run, _ in net.choose(seen, later)] == [6, 7, 1, 2]
    # Planned, they leave the queue.
    net.planned(old[1], seen, later, idle=False)
    net.planned(old[2], seen, later, idle=False)
    assert [run.id for run, _ in net.choose(seen, later)] == [1, 2]
