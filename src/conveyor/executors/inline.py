"""The inline executor: runs each try in this very process, one after another.

For ``conveyor.testing`` and debugging: the real state machine and planning run, but user
code shares the caller's process, so a test can use fixtures, monkeypatching and a
debugger. There is no crash isolation here; the local executor is for everything else.
"""

from __future__ import annotations

import time
from collections import deque

from conveyor.engine.progress import QueuedTry
from conveyor.executors.base import Executor
from conveyor.worker.runner import TryRunner


class InlineExecutor(Executor):
    def __init__(self, runner: TryRunner) -> None:
        self.runner = runner
        self._backlog: deque[QueuedTry] = deque()

    def start(self) -> None:
        pass

    def submit(self, tries: list[QueuedTry]) -> None:
        held = {work.ti_id for work in self._backlog}
        self._backlog.extend(work for work in tries if work.ti_id not in held)

    def holds(self, ti_id: int) -> bool:
        return any(work.ti_id == ti_id for work in self._backlog)

    def free_slots(self) -> int:
        return 1 if not self._backlog else 0

    def idle(self) -> bool:
        return not self._backlog

    def poll(self, timeout: float) -> int:
        """Run every try in hand, including those their fast paths queue."""
        ran = 0
        while self._backlog:
            work = self._backlog.popleft()
            result = self.runner.run(work.ti_id, work.try_number)
            self.submit(result.queued)
            ran += 1
        if not ran and timeout > 0:
            time.sleep(timeout)
        return ran

    def stop(self, grace: float) -> None:
        self._backlog.clear()
