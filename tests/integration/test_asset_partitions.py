"""Airflow 3.2's asset partitions through the real scheduler and ``/api/v2``, on SQLite and
PostgreSQL: a ``CronPartitionTimetable`` run's key travels with its asset event to a
``PartitionedAssetTimetable`` consumer (its mapper making the day of the hour), which runs
once per key its condition holds for; a task names the partitions it updated
(``add_partitions``); the API creates keyed events, shows and filters runs by
key, triggers a keyed run, and clears a partition."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from conftest import run_scheduler
from conveyor.clock import utcnow
from conveyor.lifecycle import Actor
from conveyor.scheduler import datasets as dataset_runs
from conveyor.scheduler.datasets import create_dataset_runs
from conveyor.states import RUN_FINISHED, RunState
from conveyor.store.engine import Store
from conveyor.store.mapping import xcom_value
from conveyor.store.tables import dataset_event, partition_dag_queue, partition_key_log
from conveyor.web import accounts
from conveyor.web.app import create_app
from run_env import Env

DAGS = """
from datetime import datetime

from airflow.sdk import (
    DAG,
    Asset,
    CronPartitionTimetable,
    PartitionedAssetTimetable,
    FanOutMapper,
    FixedKeyMapper,
    MinimumCount,
    PartitionedAtRuntime,
    RollupMapper,
    SegmentWindow,
    StartOfDayMapper,
    StartOfWeekMapper,
    WeekWindow,
    task,
)
STORES = Asset(name="stores", uri="s3://lake/stores")
WEEKLY = Asset(name="weekly", uri="s3://lake/weekly")

HOURLY = Asset(name="hourly_sales", uri="s3://lake/hourly_sales")
REGIONS = Asset(name="regions", uri="s3://lake/regions")
PRICES = Asset(name="prices", uri="s3://lake/prices")
START = datetime(2026, 1, 1)

with DAG(
    "hourly_load",
    schedule=CronPartitionTimetable("0 * * * *", timezone="UTC"),
    start_date=START,
    catchup=False,
):
    @task(outlets=[HOURLY])
    def load(dag_run=None):
        return dag_run.partition_key
    load()

with DAG(
    "daily_rollup",
    schedule=PartitionedAssetTimetable(
        assets=HOURLY, default_partition_mapper=StartOfDayMapper()
    ),
    start_date=START,
):
    @task
    def roll(dag_run=None, triggering_asset_events=None, partition_key=None, partition_date=None):
        keys = [e.partition_key for e in triggering_asset_events[HOURLY]]
        dates = [partition_date.isoformat(), dag_run.partition_date.isoformat()]
        return [dag_run.partition_key, keys, partition_key, dates]
    roll()

with DAG("regional_prices", schedule=None, start_date=START):
    @task(outlets=[PRICES])
    def publish(outlet_events=None):
        outlet_events[PRICES].add_partitions(["us", "eu"])
    publish()

with DAG(
    "joined_partitions",
    schedule=PartitionedAssetTimetable(assets=REGIONS & PRICES),
    start_date=START,
):
    @task
    def join(dag_run=None):
        return dag_run.partition_key
    join()

with DAG(
    "all_stores",
    schedule=PartitionedAssetTimetable(
        assets=STORES,
        default_partition_mapper=RollupMapper(
            upstream_mapper=FixedKeyMapper("all"), window=SegmentWindow(["north", "south"])
        ),
    ),
    start_date=START,
):
    @task
    def total():
        pass
    total()

with DAG(
    "never_stores",
    schedule=PartitionedAssetTimetable(
        assets=STORES,
        default_partition_mapper=RollupMapper(
            upstream_mapper=FixedKeyMapper("all"),
            window=SegmentWindow(["north", "south"]),
            wait_policy=MinimumCount(3),
        ),
    ),
    start_date=START,
):
    @task
    def never():
        pass
    never()

for dag_id, cap in (("store_days", None), ("capped_days", 3)):
    with DAG(
        dag_id,
        schedule=PartitionedAssetTimetable(
            assets=WEEKLY,
            default_partition_mapper=FanOutMapper(
                upstream_mapper=StartOfWeekMapper(), window=WeekWindow(), max_downstream_keys=cap
            ),
        ),
        start_date=START,
    ):
        @task
        def day():
            pass
        day()

with DAG("keyed_when_triggered", schedule=PartitionedAtRuntime(), start_date=START):
    @task
    def read(partition_key=None, partition_date=None):
        return [partition_key, partition_date]
    read()
"""


@pytest.fixture
def env(env: Env) -> Env:
    env.write_dag("partitions.py", DAGS, header=False)
    env.sync()
    return env


def _finished(env: Env, dag_id: str) -> Any:
    def check() -> bool:
        return any(RunState(r.state) in RUN_FINISHED for r in env.dag_runs(dag_id))

    return check


def test_a_cron_partition_run_keys_its_event_and_the_consumer_runs_for_the_mapped_day(
    env: Env,
) -> None:
    prices = env.trigger("regional_prices")  # a task naming its partitions as it runs

    def both() -> bool:
        return _finished(env, "daily_rollup")() and _finished(env, "regional_prices")()

    run_scheduler(env.settings(), env.store, both, what="rollup and prices")
    assert env.run_state(prices) is RunState.SUCCESS
    producer = env.dag_runs("hourly_load")[0]
    fire = producer.logical_date.astimezone(UTC)
    key = fire.strftime("%Y-%m-%dT%H:%M:%S")
    assert (producer.run_type, producer.state, producer.partition_key) == (
        "scheduled",
        "success",
        key,
    )
    assert producer.partition_date == fire  # the fire time the key was written from
    with env.store.read() as conn:
        assert xcom_value(conn, producer.id, "load", "return_value") == key
        events = (
            conn.execute(
                select(dataset_event.c.partition_key).where(
                    dataset_event.c.source_dag_id == "hourly_load"
                )
            )
            .scalars()
            .all()
        )
        runtime = (
            conn.execute(
                select(dataset_event.c.partition_key)
                .where(dataset_event.c.source_dag_id == "regional_prices")
                .order_by(dataset_event.c.id)
            )
            .scalars()
            .all()
        )
        waiting = conn.execute(select(partition_dag_queue.c.partition_key)).scalars().all()
        rollup = env.dag_runs("daily_rollup")[0]
        rolled = xcom_value(conn, rollup.id, "roll", "return_value")
    assert events == [key]
    assert runtime == ["eu", "us"]  # add_partitions: an event each, none of the run's own
    assert sorted(waiting) == ["eu", "us"]  # joined_partitions still waits for regions
    assert (rollup.run_type, rollup.state, rollup.partition_key) == (
        "dataset_triggered",
        "success",
        key[:10],
    )
    assert rollup.run_id.endswith(f"__{key[:10]}")
    day = fire.replace(hour=0).isoformat()  # what StartOfDayMapper reads from the day's key
    assert rollup.partition_date == fire.replace(hour=0)
    assert rolled == [key[:10], [key], key[:10], [day, day]]  # dag_run's, events', context's
    assert env.dag_runs("joined_partitions") == []


def _admin(env: Env) -> tuple[TestClient, Any]:
    accounts.create_user(env.store, "admin", "admin", "admin-secret")
    token = accounts.create_token(env.store, "admin", "test")
    app = create_app(env.settings(), Store(env.store.url))
    return TestClient(app, headers={"Authorization": f"Bearer {token}"}), app


def _ok(response: Any) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def test_keyed_events_through_the_api_run_a_partition_once_its_condition_holds_for_that_key(
    env: Env,
) -> None:
    client, app = _admin(env)
    made = lambda: create_dataset_runs(env.store, Actor("test"), utcnow())  # noqa: E731
    with client:
        assets = _ok(client.get("/api/v2/assets", params={"limit": 100}))["assets"]
        ids = {a["uri"]: a["id"] for a in assets}
        regions, prices = ids["s3://lake/regions"], ids["s3://lake/prices"]

        def post(asset_id: int, key: str | None) -> Any:
            body: dict[str, Any] = {"asset_id": asset_id}
            if key is not None:
                body["partition_key"] = key
            return _ok(client.post("/api/v2/assets/events", json=body))

        assert post(regions, "eu")["partition_key"] == "eu"
        post(prices, "us")  # another partition: eu still lacks prices
        post(prices, None)  # no key: counts toward no partition
        assert made() == 0
        post(prices, "eu")
        assert made() == 1 and made() == 0
        (run,) = env.dag_runs("joined_partitions")
        with env.store.read() as conn:
            pending = conn.execute(
                select(partition_dag_queue.c.partition_key, partition_dag_queue.c.dataset_id)
            ).all()
        assert [tuple(p) for p in pending] == [("us", prices)]

        runs_path = "/api/v2/dags/joined_partitions/dagRuns"
        shown = _ok(client.get(f"{runs_path}/{run.run_id}"))
        assert (shown["partition_key"], shown["run_type"]) == ("eu", "asset_triggered")
        upstream = _ok(client.get(f"{runs_path}/{run.run_id}/upstreamAssetEvents"))
        assert sorted(
            (e["asset_id"], e["partition_key"]) for e in upstream["asset_events"]
        ) == sorted([(regions, "eu"), (prices, "eu")])
        for pattern, count in (("eu", 1), ("us", 0)):
            listed = _ok(client.get(runs_path, params={"partition_key_pattern": pattern}))
            assert listed["total_entries"] == count
        triggered = _ok(
            client.post(runs_path, json={"logical_date": None, "partition_key": "manual-1"})
        )
        assert (triggered["partition_key"], triggered["partition_date"]) == ("manual-1", None)
        assert shown["partition_date"] is None  # the API's events: no producing run's date
        hourly = _ok(
            client.post(
                "/api/v2/dags/hourly_load/dagRuns",
                json={"logical_date": None, "partition_key": "2026-01-02T05:00:00"},
            )
        )
        assert hourly["partition_date"] == "2026-01-02T05:00:00Z"  # read with key_format
        hourly_runs = "/api/v2/dags/hourly_load/dagRuns"
        for first, last, count in (("2026-01-02", "2026-01-02", 1), ("2026-01-03", None, 0)):
            days = {"partition_date_gte": first, "order_by": "-partition_date"}
            days |= {"partition_date_lte": last} if last else {}
            assert _ok(client.get(hourly_runs, params=days))["total_entries"] == count
        unpartitioned = client.get(
            "/api/v2/dags/keyed_when_triggered/dagRuns", params={"partition_date_gte": "2026-01-02"}
        )
        assert unpartitioned.status_code == 400 and "is not partitioned" in unpartitioned.text
        window = {"partition_date_start": "2026-01-02T05:00:00", "dry_run": False}
        emptied = _ok(client.post("/api/v2/dags/hourly_load/clearPartitions", json=window))
        assert emptied["dag_runs_cleared"] == 1
        forgotten = _ok(client.get(f"{hourly_runs}/{hourly['dag_run_id']}"))
        assert (forgotten["partition_key"], forgotten["partition_date"]) == (None, None)
        for dag_id, bad, reason in (
            ("hourly_load", "eu", "does not match the timetable's key_format"),
            ("regional_prices", "eu", "is not a partitioned Dag"),
            ("joined_partitions", "  ", "must not be empty"),
        ):
            refused = client.post(
                f"/api/v2/dags/{dag_id}/dagRuns",
                json={"logical_date": None, "partition_key": bad},
            )
            assert refused.status_code == 400 and reason in refused.text, refused.text
        runtime = _ok(
            client.post(
                "/api/v2/dags/keyed_when_triggered/dagRuns",
                json={"logical_date": None, "partition_key": "us"},
            )
        )
        assert (runtime["partition_key"], runtime["partition_date"]) == ("us", None)
        runtime_dag = _ok(client.get("/api/v2/dags/keyed_when_triggered"))
        assert runtime_dag["timetable_description"] == "Never, partition key(s) set at runtime"
        for partitioned in ("joined_partitions", "hourly_load"):  # both timetables are
            assert _ok(client.get(f"/api/v2/dags/{partitioned}"))["timetable_partitioned"]

        clear = "/api/v2/dags/joined_partitions/clearPartitions"
        preview = _ok(client.post(clear, json={"partition_key": "eu"}))
        assert (preview["dag_runs_cleared"], preview["dry_run"]) == (1, True)
        assert _ok(client.get(f"{runs_path}/{run.run_id}"))["partition_key"] == "eu"
        done = _ok(client.post(clear, json={"partition_key": "eu", "dry_run": False}))
        assert (done["dag_runs_cleared"], done["dry_run"]) == (1, False)
        assert _ok(client.get(f"{runs_path}/{run.run_id}"))["partition_key"] is None
        again = _ok(client.post(clear, json={"partition_key": "eu", "dry_run": False}))
        assert again["dag_runs_cleared"] == 0
        manual = _ok(client.get(f"{runs_path}/{triggered['dag_run_id']}"))
        assert manual["partition_key"] == "manual-1"  # another partition: untouched
        by_key = {"partition_key": "manual-1", "dry_run": False}  # clearDagRuns: that run
        cleared = _ok(client.post("/api/v2/dags/joined_partitions/clearDagRuns", json=by_key))
        assert [r["dag_run_id"] for r in cleared["dag_runs"]] == [triggered["dag_run_id"]]
    app.state.store.dispose()


def test_a_rollup_waits_for_its_windows_keys_and_a_fan_out_makes_a_run_of_each(
    env: Env, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dataset_runs, "_TOLD", set())  # told once per process: this one's
    client, app = _admin(env)
    made = lambda: create_dataset_runs(env.store, Actor("test"), utcnow())  # noqa: E731
    with client:
        assets = _ok(client.get("/api/v2/assets", params={"limit": 100}))["assets"]
        ids = {a["uri"]: a["id"] for a in assets}

        def post(uri: str, key: str) -> None:
            body = {"asset_id": ids[uri], "partition_key": key}
            _ok(client.post("/api/v2/assets/events", json=body))

        post("s3://lake/stores", "north")
        post("s3://lake/stores", "north")
        assert made() == 0  # south has not come
        post("s3://lake/stores", "south")
        assert made() == 1 and made() == 0
        (run,) = env.dag_runs("all_stores")
        assert env.dag_runs("never_stores") == []  # 3 keys of a window of 2: never
        told = [r for r in caplog.records if "permanently unreachable" in r.getMessage()]
        assert len(told) == 1 and "never_stores" in told[0].getMessage()
        keys = sorted(e["partition_key"] for e in run.conf["dataset_events"])
        assert (run.partition_key, keys) == ("all", ["north", "south"])
        with env.store.read() as conn:
            logged = select(partition_key_log.c.target_dag_id).distinct()
            assert conn.execute(logged).scalars().all() == ["never_stores"]  # all_stores': used

        post("s3://lake/stores", "north")  # queued under mappers the file then changed:
        with env.store.write() as conn:
            queue = partition_dag_queue.c
            older = update(partition_dag_queue).where(queue.target_dag_id == "all_stores")
            conn.execute(older.values(fingerprint="0" * 64))
        post("s3://lake/stores", "south")
        assert made() == 0  # dropped with its rollup's keys, not made a run of
        with env.store.read() as conn:
            left = select(partition_dag_queue).where(queue.target_dag_id == "all_stores")
            assert conn.execute(left).all() == []
        assert len(env.dag_runs("all_stores")) == 1

        post("s3://lake/weekly", "2026-05-13T00:00:00")  # a Wednesday
        assert made() == 1  # one DAG had runs made: one per key
        days = sorted((r.partition_key, r.partition_date) for r in env.dag_runs("store_days"))
        assert [key for key, _ in days] == [f"2026-05-{d}" for d in range(11, 18)]
        assert days[0][1] == datetime(2026, 5, 11, tzinfo=UTC)
        assert env.dag_runs("capped_days") == []  # 7 keys, past its max_downstream_keys=3
    app.state.store.dispose()


def test_a_partitioned_dag_is_backfilled_by_partition_and_an_asset_partitioned_one_refused(
    env: Env,
) -> None:
    client, app = _admin(env)
    span = {"from_date": "2026-01-03T00:00:00Z", "to_date": "2026-01-03T02:00:00Z"}
    with client:
        manual = {"logical_date": None, "partition_key": "2026-01-03T01:00:00"}
        _ok(client.post("/api/v2/dags/hourly_load/dagRuns", json=manual))  # one exists
        body = {"dag_id": "hourly_load", **span}
        planned = _ok(client.post("/api/v2/backfills/dry_run", json=body))["backfills"]
        assert [(p["partition_key"], p["partition_date"]) for p in planned] == [
            ("2026-01-03T00:00:00", "2026-01-03T00:00:00Z"),
            ("2026-01-03T02:00:00", "2026-01-03T02:00:00Z"),  # 01:00 has its run already
        ]
        _ok(client.post("/api/v2/backfills", json=body))
        made = [r for r in env.dag_runs("hourly_load") if r.run_type == "backfill"]
        assert sorted((r.partition_key, r.partition_date.hour) for r in made) == [
            ("2026-01-03T00:00:00", 0),
            ("2026-01-03T02:00:00", 2),
        ]
        for dag_id in ("joined_partitions", "keyed_when_triggered"):
            refused = client.post("/api/v2/backfills", json={"dag_id": dag_id, **span})
            assert refused.status_code == 400, refused.text
            assert "no partitions of dates to backfill" in refused.text
    app.state.store.dispose()
