"""What the Celery executor reports as lost, from the store and the broker's marker key.

No broker and no worker here: worker rows are written as workers write them, and the marker
key lives in a stand-in for the Redis client, so every case is exact and fast.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from conveyor.executors.lost_messages import EPOCH_KEY, BrokerEpoch, GoneWorkers, LostMessages
from conveyor.store import workers
from conveyor.store.engine import Store
from conveyor.store.tables import utcnow, worker

BEAT = 1.0


def _worker(store: Store, name: str, beat_at: datetime, stopped_at: datetime | None = None) -> None:
    with store.write() as conn:
        workers.record_heartbeat(
            conn,
            name,
            queues=["default"],
            concurrency=2,
            pid=1,
            started_at=beat_at - timedelta(minutes=1),
            running=[],
        )
        conn.execute(
            worker.update()
            .where(worker.c.hostname == name)
            .values(heartbeat_at=beat_at, stopped_at=stopped_at)
        )


def test_gone_workers_are_reported_once_each(store: Store) -> None:
    now = utcnow()
    _worker(store, "alive@a", now - timedelta(seconds=1))
    _worker(store, "silent@a", now - timedelta(seconds=5))
    _worker(store, "stopped@a", now - timedelta(seconds=1), stopped_at=now)
    _worker(store, "long_gone@a", now - timedelta(minutes=10))  # the usual requeue covered it
    watch = GoneWorkers(store, heartbeat_seconds=BEAT, requeue_after_seconds=30)

    gone = {w.hostname: w.gone_at for w in watch.gone_since_last_look(now)}

    assert set(gone) == {"silent@a", "stopped@a"}
    assert gone["silent@a"] == now - timedelta(seconds=5) + timedelta(seconds=BEAT)
    assert gone["stopped@a"] == now
    assert watch.gone_since_last_look(now + timedelta(seconds=1)) == []
    _worker(store, "silent@a", now)  # it was only slow: it beats again...
    assert watch.gone_since_last_look(now) == []
    later = now + timedelta(seconds=10)  # ...and dies, as the one alive at first did by then
    assert sorted(w.hostname for w in watch.gone_since_last_look(later)) == ["alive@a", "silent@a"]
    _worker(store, "alive@a", now - timedelta(seconds=1))  # restarted under the same name...
    with store.write() as conn:
        conn.execute(
            worker.update()
            .where(worker.c.hostname == "alive@a")
            .values(started_at=now, heartbeat_at=now - timedelta(seconds=4))
        )
    assert [w.hostname for w in watch.gone_since_last_look(now)] == ["alive@a"]  # ...and died


class FakeRedis:
    """The two commands the marker needs, and a restart that empties it."""

    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}
        self.down = False

    def get(self, key: str) -> bytes | None:
        self._check()
        return self.data.get(key)

    def set(self, key: str, value: str, nx: bool = False) -> bool:
        self._check()
        if nx and key in self.data:
            return False
        self.data[key] = value.encode()
        return True

    def close(self) -> None:
        pass

    def _check(self) -> None:
        import redis

        if self.down:
            raise redis.ConnectionError("down")


def _epoch(server: FakeRedis) -> BrokerEpoch:
    epoch = BrokerEpoch("redis://127.0.0.1:1/0")
    epoch.client = server
    return epoch


def test_a_broker_back_empty_is_reported_once_to_every_scheduler() -> None:
    server = FakeRedis()
    server.data[EPOCH_KEY] = b"first"
    one, two = _epoch(server), _epoch(server)
    assert not one.came_back_empty() and not two.came_back_empty()  # found as it was

    server.down = True
    assert not one.came_back_empty()  # down: nothing to send yet
    server.down = False
    server.data.clear()  # back, empty

    assert one.came_back_empty()  # writes the new marker
    assert two.came_back_empty()  # sees it changed
    assert not one.came_back_empty() and not two.came_back_empty()


def test_a_scheduler_starting_on_an_empty_broker_sends_what_is_queued() -> None:
    assert _epoch(FakeRedis()).came_back_empty()


def test_no_marker_on_rabbitmq(store: Store) -> None:
    lost = LostMessages(store, "amqp://guest:guest@127.0.0.1:5672//", BEAT, 30)
    assert lost.epoch.client is None
    assert lost.resend_queued_before(utcnow()) is None


def test_the_latest_loss_sets_the_moment(store: Store) -> None:
    now = utcnow()
    _worker(store, "silent@a", now - timedelta(seconds=5))
    lost = LostMessages(store, "amqp://guest:guest@127.0.0.1:5672//", BEAT, 30)
    assert lost.resend_queued_before(now) == now - timedelta(seconds=4)
    assert lost.resend_queued_before(now) is None
    server = FakeRedis()
    lost.epoch.client = server
    assert lost.resend_queued_before(now) == now  # the empty broker: everything queued
