"""Which try a process keeps of those its hop queues (engine/kept.py): the worker and the
executors say only what they may keep and until when; the engine chooses and publishes."""

from __future__ import annotations

import time
from pathlib import Path

from conveyor.engine.kept import Handoff, Keeper, MayKeep
from conveyor.engine.progress import QueuedTry


def _work(ti_id: int, queue: str = "default", timeout: float | None = None) -> QueuedTry:
    return QueuedTry(ti_id, 1, queue, 7, "d", "r", f"t{ti_id}", timeout)


def test_may_keep_by_queue_time_limit_and_deadline() -> None:
    anything = MayKeep()
    assert anything.allows(_work(1)) and anything.allows(_work(2, "etl", timeout=5.0))

    cluster = MayKeep(frozenset({"default"}), time.monotonic() + 60, untimed_only=True)
    assert cluster.allows(_work(1))
    assert not cluster.allows(_work(2, "etl")), "a queue this worker does not take"
    assert not cluster.allows(_work(3, timeout=5.0)), "a time limit needs a message"

    over = MayKeep(until=time.monotonic() - 1)
    assert not over.allows(_work(1)), "the streak is over"


def test_the_handoff_keeps_the_first_allowed_try_and_publishes_the_rest() -> None:
    sent: list[list[QueuedTry]] = []
    keeper = Keeper(MayKeep(frozenset({"etl"})), "host", 1, Path("/logs"))
    handoff = Handoff(keeper, sent.append)
    tries = [_work(1), _work(2, "etl"), _work(3, "etl")]

    kept = handoff.choose(tries)

    assert kept is not None and kept.ti_id == 2
    assert [[w.ti_id for w in batch] for batch in sent] == [[1, 3]]


def test_without_a_keeper_every_try_is_published() -> None:
    sent: list[list[QueuedTry]] = []
    handoff = Handoff(None, sent.append)

    assert handoff.choose([_work(1), _work(2)]) is None
    assert [[w.ti_id for w in batch] for batch in sent] == [[1, 2]]
