"""Asset watchers in a triggerer: each runs as a task on the triggers' loop, for good.

An event a watcher's trigger yields goes to the main thread (:class:`Delivery`), which
records it as an event of the asset in one transaction with the message's id
(``store/asset_watchers.record_message``) and then answers; only a committed event is
acknowledged to the queue (``trigger.acknowledge``). A triggerer killed between the two
leaves the message unacknowledged: the queue delivers it again to the next triggerer, which
finds its id stored and acknowledges it without a second event. A watcher whose trigger
fails is started again after :data:`RESTART_SECONDS` (reading its queue's pending messages
first).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conveyor.store.asset_watchers import WatcherRow

log = logging.getLogger(__name__)

#: Seconds before a failed watcher starts again.
RESTART_SECONDS = 5.0
#: Tests only: ``before_commit:PATH`` or ``before_ack:PATH`` makes the main thread write PATH
#: and stop there, so a test can kill the triggerer at that exact point of a message.
PAUSE_VARIABLE = "CONVEYOR_TEST_WATCHER_PAUSE"


@dataclass
class Delivery:
    """One event of a watcher, waiting for the main thread to record it."""

    watcher: WatcherRow
    event: Any
    done: concurrent.futures.Future[bool] = field(default_factory=concurrent.futures.Future)

    @property
    def message_id(self) -> str | None:
        found = getattr(self.event, "message_id", None)
        return None if found is None else str(found)

    @property
    def payload(self) -> Any:
        return getattr(self.event, "payload", self.event)


async def watch(watcher: WatcherRow, trigger: Any, hand_over: Callable[[Delivery], None]) -> None:
    """Run ``trigger`` for ``watcher`` until cancelled: hand each event over, acknowledge it
    once recorded; start again after a failure (or an event the store could not record)."""
    while True:
        try:
            async for event in trigger.run():
                delivery = Delivery(watcher, event)
                hand_over(delivery)
                if not await asyncio.wrap_future(delivery.done):
                    raise RuntimeError("the event could not be recorded")
                acknowledge = getattr(trigger, "acknowledge", None)
                if acknowledge is not None:
                    await acknowledge(event)
            log.warning("watcher %s of %s: its trigger ended; starting it again", *_names(watcher))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning(
                "watcher %s of %s failed; starting it again in %s s:\n%s",
                *_names(watcher),
                RESTART_SECONDS,
                traceback.format_exc(),
            )
        finally:
            try:
                await trigger.cleanup()
            except Exception:
                log.warning("watcher %s of %s: cleanup failed", *_names(watcher))
        await asyncio.sleep(RESTART_SECONDS)


def _names(watcher: WatcherRow) -> tuple[str, str]:
    return watcher.name, watcher.uri


def pause_here(stage: str) -> None:
    """Tests only: stop this thread at ``stage`` for good (the test kills the process)."""
    wanted = os.environ.get(PAUSE_VARIABLE, "")
    found, _, path = wanted.partition(":")
    if found != stage or not path:
        return
    Path(path).write_text(stage)
    while True:
        time.sleep(3600)
