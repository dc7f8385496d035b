"""The Celery executor: hands tries to Celery workers over Redis or RabbitMQ.

The scheduler publishes; workers run, heartbeat and record. This side holds nothing: a
message the broker loses leaves its try queued in the store, and the scheduler's requeue
step sends it again after ``requeue_after_seconds``, or at once when the loss is seen: a broker
that came back empty, a worker that died (``lost_messages``).
"""

from __future__ import annotations

import logging
from datetime import datetime

from kombu.exceptions import OperationalError as BrokerError

from conveyor import interrupts
from conveyor.config import Settings
from conveyor.engine.progress import QueuedTry
from conveyor.exceptions import ConveyorError
from conveyor.executors.base import Executor
from conveyor.executors.celery_app import make_app, publish_tries, release_producer
from conveyor.executors.lost_messages import LostMessages
from conveyor.store import runs
from conveyor.store.engine import Store

log = logging.getLogger(__name__)


class BrokerUnavailable(ConveyorError):
    """The broker cannot be reached; the message names it."""


class CeleryExecutor(Executor):
    sees_ends = False  # the workers record a try's end in the store

    def __init__(self, settings: Settings, store: Store | None = None) -> None:
        self.settings = settings
        self.app = make_app(settings)
        self.store = store or Store(settings.db_url)
        self.lost = LostMessages(
            self.store,
            settings.broker_url,
            settings.heartbeat_seconds,
            settings.requeue_after_seconds,
        )

    def start(self) -> None:
        try:
            with self.app.connection_for_write() as conn:
                conn.ensure_connection(max_retries=3)
        except BrokerError as exc:
            raise BrokerUnavailable(
                f"cannot reach the broker at {self.settings.broker_url}: {exc}"
            ) from exc

    def submit(self, tries: list[QueuedTry]) -> None:
        publish_tries(self.app, tries)

    def poll(self, timeout: float) -> int:
        interrupts.sleep(timeout)
        return 0

    def holds(self, ti_id: int) -> bool:
        return False

    def free_slots(self) -> int:
        """``parallelism`` caps the tries in flight across the cluster (queued or running).

        Without a cap, tries would wait in the broker behind busy workers, and those waiting
        past ``requeue_after_seconds`` would be published again for nothing.
        """
        with self.store.read() as conn:
            busy = runs.in_flight(conn)
        return max(self.settings.parallelism - busy, 0)

    def resend_queued_before(self, now: datetime) -> datetime | None:
        """A broker that came back empty, or a worker that died with tries it had taken:
        see ``lost_messages``."""
        try:
            return self.lost.resend_queued_before(now)
        except Exception:  # the check is an optimisation; the usual requeue still works
            log.exception("could not check for lost broker messages")
            return None

    def stop(self, grace: float) -> None:
        release_producer(self.app)
        self.lost.close()
        self.store.dispose()
