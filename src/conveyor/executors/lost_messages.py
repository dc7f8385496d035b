"""Knowing at once that broker messages were lost, instead of waiting out the requeue.

A queued try whose message is lost stays queued in the store, and the scheduler sends it
again after ``requeue_after_seconds``. Two losses can be seen as they happen, and then the
tries they hit are sent again within a scheduler loop or a few heartbeats:

- The broker came back empty (a Redis restarted without persistence, or flushed): a marker
  key the scheduler keeps in the broker's database is missing. Every queued try may have lost
  its message.
- A worker died (its heartbeat went stale) or stopped: the messages it had taken from the
  broker but not yet started went with it. Only tries queued before it went can be among them.

Sending a try again is always safe: a worker starts a try only by moving it from queued to
running in the store, so a second message for the same try finds nothing to do.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlparse

from conveyor.store import liveness, workers
from conveyor.store.engine import Store

log = logging.getLogger(__name__)

#: The marker key; Celery's own keys are queue names and ``_kombu.*``.
EPOCH_KEY = "conveyor:broker-epoch"


class BrokerEpoch:
    """Notices a Redis broker that lost its data, by a key that is gone when the data is.

    The first scheduler to find the key missing writes a new value; every scheduler that sees
    the value change (or finds it missing) reports that the broker came back empty once. A
    scheduler's first look reports it only if the key was missing: a broker that lost its data
    while no scheduler ran.
    """

    def __init__(self, broker_url: str) -> None:
        self.client = _redis_client(broker_url)
        self.seen: bytes | None = None

    def came_back_empty(self) -> bool:
        if self.client is None:
            return False  # not Redis: a RabbitMQ queue outlives a restart (durable, persistent)
        import redis

        try:
            value = self.client.get(EPOCH_KEY)
            created = False
            if value is None:
                created = bool(self.client.set(EPOCH_KEY, uuid.uuid4().hex, nx=True))
                value = self.client.get(EPOCH_KEY)
        except redis.RedisError:
            return False  # down: nothing can be sent now; the check after its return tells
        emptied = created or (self.seen is not None and value != self.seen)
        self.seen = value
        return emptied

    def close(self) -> None:
        if self.client is not None:
            self.client.close()


def _redis_client(broker_url: str) -> Any:
    if urlparse(broker_url).scheme not in ("redis", "rediss"):
        return None
    import redis

    return redis.Redis.from_url(broker_url, socket_timeout=1, socket_connect_timeout=1)


class GoneWorkers:
    """Workers that died or stopped since the last look, each reported once."""

    def __init__(self, store: Store, heartbeat_seconds: float, requeue_after_seconds: float):
        self.store = store
        self.beat = heartbeat_seconds
        self.horizon = requeue_after_seconds  # older losses the usual requeue has covered
        #: (name, started, gone at): a worker that beats again and then goes silent again,
        #: or one restarted under the same name, is another loss.
        self.reported: set[tuple[str, datetime, datetime]] = set()

    def gone_since_last_look(self, now: datetime) -> list[workers.GoneWorker]:
        since = now - timedelta(seconds=self.horizon)
        with self.store.read() as conn:
            gone = workers.gone_workers(
                conn,
                now=now,
                threshold=liveness.stale_after(self.beat),
                since=since,
                beat_seconds=self.beat,
            )
        new = [w for w in gone if (w.hostname, w.started_at, w.gone_at) not in self.reported]
        self.reported = {(w.hostname, w.started_at, w.gone_at) for w in gone}
        return new


class LostMessages:
    """What the Celery executor asks each scheduler loop: resend queued tries queued before
    when? ``None`` when nothing was seen lost."""

    def __init__(
        self,
        store: Store,
        broker_url: str,
        heartbeat_seconds: float,
        requeue_after_seconds: float,
    ) -> None:
        self.epoch = BrokerEpoch(broker_url)
        self.workers = GoneWorkers(store, heartbeat_seconds, requeue_after_seconds)

    def resend_queued_before(self, now: datetime) -> datetime | None:
        moments = []
        seen_before = self.epoch.seen is not None  # else a new broker, or one that lost its
        if self.epoch.came_back_empty():  # data while no scheduler ran: no news worth a warning
            say = log.warning if seen_before else log.info
            say("the broker came back empty: sending every queued try again")
            moments.append(now)
        for gone in self.workers.gone_since_last_look(now):
            log.warning(
                "worker %s is gone (since %s): sending again the tries queued before",
                gone.hostname,
                f"{gone.gone_at:%H:%M:%S}",
            )
            moments.append(min(gone.gone_at, now))
        return max(moments, default=None)

    def close(self) -> None:
        self.epoch.close()
