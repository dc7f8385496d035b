"""The executor contract.

An executor takes tries that the store already holds as ``queued`` and makes a process run
them; the process itself moves the try to running and records how it ended. So an executor
can lose nothing that matters: a try it never starts stays queued, and the scheduler sends it
again after ``requeue_after_seconds``.

    submit(tries)   take these queued tries; never blocks
    poll(timeout)   do the executor's work for up to ``timeout`` seconds: start, supervise,
                    reap; return early when a try ends, so the scheduler can react
    holds(ti_id)    whether this executor has the try in hand (so it is not sent again)
    free_slots()    how many more tries it can start now
    stop(grace)     stop taking tries; let running ones finish within ``grace`` seconds
    resend_queued_before(now)
                    optional: a moment before which queued tries lost their messages (the
                    executor saw it happen), to send them again now rather than after
                    ``requeue_after_seconds``
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime
from typing import ClassVar

from conveyor.engine.progress import QueuedTry


class Executor(ABC):
    #: Whether ``poll`` learns of the tries that end (it starts and reaps them). An executor
    #: whose tries end elsewhere (Celery workers) does not: the scheduler watches the store
    #: for the slots they free while tries wait for one.
    sees_ends: ClassVar[bool] = True

    @abstractmethod
    def start(self) -> None: ...

    @abstractmethod
    def submit(self, tries: list[QueuedTry]) -> None: ...

    @abstractmethod
    def poll(self, timeout: float) -> int:
        """Returns the number of tries that ended (0 always when not ``sees_ends``)."""

    @abstractmethod
    def holds(self, ti_id: int) -> bool: ...

    def runs_process(self, pid: int) -> bool:
        """Whether ``pid`` is a process this executor started and has not yet reaped: its end,
        and the report it may have sent just before, are this executor's to read."""
        return False

    @abstractmethod
    def free_slots(self) -> int: ...

    @abstractmethod
    def stop(self, grace: float) -> None: ...

    def idle(self) -> bool:
        """True when nothing is running or waiting to run here."""
        return False

    def resend_queued_before(self, now: datetime) -> datetime | None:
        """Tries queued before the moment returned lost their messages: send them again now.
        ``None``: no loss seen; tries still go again after ``requeue_after_seconds``."""
        return None
