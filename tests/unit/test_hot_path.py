"""The hop of a process: background work waits while a try is started or recorded, goes
while the try's code has run for a while, and never waits past its bound."""

from __future__ import annotations

import threading
import time

from conveyor import hot_path


def test_a_process_with_no_try_in_its_hop_is_quiet_at_once() -> None:
    started = time.monotonic()
    assert hot_path.wait_for_quiet(5)
    assert time.monotonic() - started < 1


def test_a_wait_ends_when_the_hop_does_or_at_its_bound() -> None:
    inside, leave = threading.Event(), threading.Event()

    def a_try() -> None:
        with hot_path.hop():
            inside.set()
            leave.wait(10)

    thread = threading.Thread(target=a_try)
    thread.start()
    inside.wait(5)
    started = time.monotonic()
    assert not hot_path.wait_for_quiet(0.1)  # in the hop: the bound runs out
    assert time.monotonic() - started >= 0.1
    threading.Timer(0.1, leave.set).start()
    assert hot_path.wait_for_quiet(10)  # the hop ended
    thread.join()


def test_one_try_leaving_its_hop_leaves_another_threads_try_in_its_own() -> None:
    with hot_path.hop():  # a thread pool's two tries
        with hot_path.hop():
            pass
        assert not hot_path.wait_for_quiet(0.05)  # the first is still in its hop
    assert hot_path.wait_for_quiet(1)


def test_a_tasks_code_is_quiet_once_it_has_run_for_a_while() -> None:
    with hot_path.hop():
        with hot_path.task_code():
            started = time.monotonic()
            assert hot_path.wait_for_quiet(5)
            assert time.monotonic() - started >= hot_path.SETTLE * 0.9
        assert not hot_path.wait_for_quiet(0.05)  # its end is the hop again
    assert hot_path.wait_for_quiet(1)


def test_a_hop_that_ended_keeps_background_work_back_a_moment_for_the_next() -> None:
    """A burst of tries (a chain, a fan-out) has its next hop soon after the last: the
    background work waits for a moment without one."""
    with hot_path.hop():
        pass
    started = time.monotonic()
    assert hot_path.wait_for_quiet(5)
    assert time.monotonic() - started >= hot_path.AFTER_HOP * 0.9


def test_a_hop_that_begins_in_that_moment_keeps_the_work_back_until_it_ends() -> None:
    with hot_path.hop():
        pass
    quiet_at: list[float] = []
    waiting = threading.Thread(
        target=lambda: hot_path.wait_for_quiet(5) and quiet_at.append(time.monotonic())
    )
    waiting.start()
    with hot_path.hop():  # the burst's next try, within AFTER_HOP of the last
        time.sleep(0.2)
        left = time.monotonic()
    waiting.join(10)
    assert quiet_at and quiet_at[0] - left >= hot_path.AFTER_HOP * 0.9
