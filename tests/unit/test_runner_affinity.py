"""Which idle runner the local executor hands a try to.

A runner keeps the DAG versions it imported; with many DAGs, sending a try to any idle
runner would make every runner import every DAG file in the end.
"""

from __future__ import annotations

from itertools import count
from multiprocessing import Pipe
from pathlib import Path
from types import SimpleNamespace

from conveyor.config import Settings
from conveyor.engine.progress import QueuedTry
from conveyor.executors.local import LocalExecutor, _Runner

_sentinels = count(1000)


def _runner(*dag_ids: str) -> _Runner:
    """A runner whose process is only a sentinel; its pipes are real."""
    inbox_end, inbox = Pipe(duplex=False)
    outbox, _ = Pipe(duplex=False)
    runner = _Runner(SimpleNamespace(sentinel=next(_sentinels)), inbox, outbox)
    runner.dag_ids.update(dag_ids)
    runner.received = inbox_end  # type: ignore[attr-defined]
    return runner


def _work(ti_id: int, dag_id: str) -> QueuedTry:
    return QueuedTry(ti_id, 1, "default", 1, dag_id, "manual", "t", None)


def _executor(tmp_path: Path, idle: list[_Runner]) -> LocalExecutor:
    executor = LocalExecutor(Settings(home=tmp_path).resolved())
    executor._idle = list(idle)
    return executor


def test_an_idle_runner_that_imported_the_dag_takes_its_try(tmp_path: Path) -> None:
    knows_a, knows_b, knows_c = _runner("a"), _runner("b", "x"), _runner("c")
    executor = _executor(tmp_path, [knows_a, knows_b, knows_c])

    assert executor._take_idle_runner("b") is knows_b
    assert executor._idle == [knows_a, knows_c]


def test_without_such_a_runner_the_one_idle_last_takes_it(tmp_path: Path) -> None:
    first, last = _runner("a"), _runner("c")
    executor = _executor(tmp_path, [first, last])

    assert executor._take_idle_runner("new") is last
    assert executor._take_idle_runner("new") is first
    assert executor._take_idle_runner("new") is None


def test_of_two_runners_that_know_the_dag_the_one_idle_last_takes_it(tmp_path: Path) -> None:
    earlier, later = _runner("a"), _runner("a")
    executor = _executor(tmp_path, [earlier, _runner("b"), later])

    assert executor._take_idle_runner("a") is later


def test_a_handed_try_goes_down_the_chosen_runners_pipe_and_it_remembers_the_dag(
    tmp_path: Path,
) -> None:
    knows_a, knows_b = _runner("a"), _runner("b")
    executor = _executor(tmp_path, [knows_a, knows_b])

    executor._hand_to_runner(_work(7, "a"))

    assert knows_a.received.poll(1) and knows_a.received.recv() == (7, 1)  # type: ignore[attr-defined]
    assert not knows_b.received.poll(0)  # type: ignore[attr-defined]
    executor._idle.append(knows_a)
    executor._hand_to_runner(_work(8, "c"))
    executor._idle = [knows_a, knows_b]  # both idle again: "c" went to the one idle last
    assert executor._take_idle_runner("c").dag_ids == {"a", "c"}  # type: ignore[union-attr]
