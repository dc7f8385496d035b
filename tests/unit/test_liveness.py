"""The liveness rule: a scheduler or worker is alive while it has not stopped and its last
heartbeat is younger than three heartbeat periods; the store's reads agree with the rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from conveyor.store import liveness, schema
from conveyor.store.engine import Store
from conveyor.store.tables import scheduler, worker

NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)


def test_three_heartbeat_periods_make_a_process_stale() -> None:
    assert liveness.stale_after(5) == timedelta(seconds=15)
    assert liveness.stale_after(0.5) == timedelta(seconds=1.5)


def test_alive_means_a_fresh_heartbeat_and_no_stop() -> None:
    limit = timedelta(seconds=15)
    assert liveness.is_alive(NOW - timedelta(seconds=14), NOW, limit)
    assert not liveness.is_alive(NOW - timedelta(seconds=15), NOW, limit)  # exactly stale
    assert not liveness.is_alive(NOW - timedelta(seconds=16), NOW, limit)
    assert not liveness.is_alive(None, NOW, limit)  # never beat
    assert not liveness.is_alive(NOW, NOW, limit, stopped_at=NOW)  # stopped cleanly
    assert liveness.is_alive(NOW + timedelta(seconds=1), NOW, limit)  # a clock a bit ahead


def _store() -> Store:
    store = Store("sqlite://")
    schema.migrate(store)
    now = datetime.now(UTC)
    rows = {"fresh": (1, None), "stale": (60, None), "stopped": (1, now)}
    with store.write() as conn:
        for name, (ago, stopped) in rows.items():
            beat = now - timedelta(seconds=ago)
            conn.execute(
                scheduler.insert().values(
                    id=name,
                    hostname=name,
                    pid=1,
                    started_at=beat,
                    heartbeat_at=beat,
                    stopped_at=stopped,
                )
            )
            conn.execute(
                worker.insert().values(
                    hostname=name,
                    queues=["default"],
                    concurrency=2,
                    pid=1,
                    running=[7],
                    started_at=beat,
                    heartbeat_at=beat,
                    stopped_at=stopped,
                )
            )
    return store


def test_the_store_reads_follow_the_rule() -> None:
    store = _store()
    limit = liveness.stale_after(5)
    now = datetime.now(UTC)
    with store.read() as conn:
        running = liveness.running_schedulers(conn)
        live = liveness.live_schedulers(conn, now, limit)
        workers = liveness.running_workers(conn)
        live_workers = liveness.live_workers(conn, now, limit)
        anyone = liveness.any_live_scheduler(conn, limit)
    assert [s.id for s in running] == ["fresh", "stale"]
    assert [s.id for s in live] == ["fresh"]
    assert [s.id for s in running if s.alive(now, limit)] == ["fresh"]
    assert [w.hostname for w in workers] == ["fresh", "stale"]
    assert [w.hostname for w in live_workers] == ["fresh"]
    assert workers[0].queues == ["default"] and workers[0].running == [7]
    assert anyone
    store.dispose()
