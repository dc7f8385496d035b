"""In a try's pod: run the one try the pod was made for, as a Celery pool process runs it.

The Kubernetes executor's pods run ``conveyor tasks run-try TI_ID TRY_NUMBER``. The try goes
through the same ``TryRunner`` as on a Celery worker: the guarded ``queued -> running`` step
(a pod made twice for one try runs it once), the try's record, its XComs and its log, all
through the store and the log folder. No worker process supervises a pod, so a thread here
heartbeats the try; the scheduler's executor watches the pod itself from outside (a pod that
dies, is deleted or never starts fails the try). The log is copied to the container's
standard output as it grows, so ``kubectl logs`` (or ``podman logs``) shows it while the pod
runs. SIGTERM (the pod deleted: a person stopped the try) calls the task's ``on_kill``, as on
a worker. The try's fast path queues what became ready in the store; the executor hands
those tries out when it sees the pod end.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from pathlib import Path

from conveyor.config import Settings
from conveyor.engine.tries import heartbeat
from conveyor.store.engine import Store
from conveyor.worker.runner import TryRunner

log = logging.getLogger(__name__)

#: Seconds between two looks at the log file for new lines to copy to standard output.
FOLLOW_SECONDS = 0.2


class _LogFollower:
    """Copies the try's log file to this process's standard output as it was before the
    runner sent file descriptors 1 and 2 to the log."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.out = os.dup(1)
        self.offset = 0
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._follow, name="conveyor-log", daemon=True)

    def __enter__(self) -> _LogFollower:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.done.set()
        self.thread.join(timeout=10)
        self.copy()  # what the try wrote last
        os.close(self.out)

    def _follow(self) -> None:
        while not self.done.wait(FOLLOW_SECONDS):
            self.copy()

    def copy(self) -> None:
        with contextlib.suppress(OSError), self.path.open("rb") as file:
            file.seek(self.offset)
            while chunk := file.read(1 << 16):
                self.offset += len(chunk)
                os.write(self.out, chunk)


def _beat(store: Store, ti_id: int, every: float, done: threading.Event) -> None:
    while not done.wait(every):
        try:
            with store.write() as conn:
                heartbeat(conn, [ti_id])
        except Exception:  # a store hiccup must not end the try; the next beat retries
            log.exception("the try's heartbeat failed")


def run_try(settings: Settings, ti_id: int, try_number: int, log_name: str | None) -> None:
    """Run the try and record its outcome (or nothing, when it was not this pod's to run:
    another process won it). ``log_name``: the try's log below the log folder."""
    store = Store(settings.db_url, pre_ping=False)
    done = threading.Event()
    beater = threading.Thread(
        target=_beat,
        args=(Store(settings.db_url), ti_id, settings.heartbeat_seconds, done),
        name="conveyor-heartbeat",
        daemon=True,
    )
    follow = _LogFollower(settings.logs_path / log_name) if log_name else contextlib.nullcontext()
    try:
        runner = TryRunner(settings, store, in_process_timeouts=True)
        beater.start()
        with follow:
            runner.run(ti_id, try_number)
    finally:
        done.set()
        store.dispose()
