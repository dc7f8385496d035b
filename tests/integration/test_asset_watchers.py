"""Asset watchers through a real ``conveyor triggerer`` process and a real Redis Stream (and an
SQS queue on moto's server), on both stores: each message is one asset event and one run of
the DAG scheduled on the asset; a triggerer killed between receiving a message and
committing its event, or between the commit and the acknowledgement, leaves the next
triggerer to record each message exactly once; one live triggerer holds a watcher; a DAG
that stops naming a watcher removes it."""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
import redis
import s3_server
from sqlalchemy import func, select

from cli_processes import CliProcess, cli_process
from conftest import describe_runs
from conveyor.clock import utcnow
from conveyor.lifecycle import Actor
from conveyor.scheduler.datasets import create_dataset_runs
from conveyor.store import asset_watchers, triggers
from conveyor.store.reads import assets as asset_reads
from conveyor.store.tables import asset_watcher, asset_watcher_message, dag_run, dataset_event
from conveyor.triggerer.watchers import PAUSE_VARIABLE
from run_env import Env

#: A DB of the shared Redis; every test's stream has a name of its own, so others' keys there
#: never meet it.
REDIS_URL = "redis://127.0.0.1:6379/15"
GROUP = "conveyor"

DAG_FILE = """\
from datetime import datetime

from airflow.providers.common.messaging.triggers.msg_queue import MessageQueueTrigger
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, Asset, AssetWatcher

trigger = MessageQueueTrigger(scheme="redis+stream", stream="@STREAM@", url="@URL@")
orders = Asset("orders", watchers=[AssetWatcher(name="orders_stream", trigger=trigger)])

with DAG("on_orders", start_date=datetime(2024, 1, 1), schedule=[orders]):
    EmptyOperator(task_id="take")
"""


@pytest.fixture
def stream() -> Iterator[str]:
    name = f"conveyor-test-watcher-{uuid.uuid4().hex}"
    yield name
    redis.Redis.from_url(REDIS_URL).delete(name)


@pytest.fixture
def watched(env: Env, stream: str) -> Env:
    env.write_dag(
        "on_orders.py",
        DAG_FILE.replace("@STREAM@", stream).replace("@URL@", REDIS_URL),
        header=False,
    )
    env.sync()
    return env


@pytest.fixture
def start_triggerer(env: Env) -> Iterator[Callable[..., CliProcess]]:
    contexts = []

    def start(**extra: str) -> CliProcess:
        process_env = {
            **os.environ,
            "CONVEYOR_HOME": str(env.tmp / "home"),
            "CONVEYOR_DAGS_FOLDER": str(env.dags),
            "CONVEYOR_DATABASE_URL": env.store.url,
            "CONVEYOR_HEARTBEAT_SECONDS": "0.5",
            **extra,
        }
        context = cli_process(["triggerer"], process_env)
        process = context.__enter__()
        contexts.append(context)
        process.wait_for_line("triggerer:", timeout=60)
        return process

    yield start
    for context in contexts:
        context.__exit__(None, None, None)


def wait_for(condition: Callable[[], bool], what: str, env: Env, limit: float = 60) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached in {limit:g}s:\n{describe_runs(env.store)}")
        time.sleep(0.05)


def events(env: Env) -> list[Any]:
    with env.store.read() as conn:
        return list(conn.execute(select(dataset_event).order_by(dataset_event.c.id)))


def pending(stream: str) -> int:
    """Messages delivered to the group and never acknowledged."""
    return int(redis.Redis.from_url(REDIS_URL).xpending(stream, GROUP)["pending"])


def run_count(env: Env) -> int:
    with env.store.read() as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(dag_run).where(dag_run.c.dag_id == "on_orders")
            ).scalar_one()
        )


def test_each_message_is_one_event_and_one_run(
    watched: Env, stream: str, start_triggerer: Callable[..., CliProcess]
) -> None:
    env = watched
    with env.store.read() as conn:
        stored = conn.execute(select(asset_watcher.c.name, asset_watcher.c.classpath)).all()
    assert [tuple(row) for row in stored] == [
        ("orders_stream", "conveyor.triggers.redis_stream.RedisStreamTrigger")
    ]
    with env.store.read() as conn:  # what /api/v2/assets lists as the asset's watchers
        shown = {row.uri: [w.name for w in row.watchers] for row in asset_reads.asset_rows(conn)}
    assert shown == {"orders": ["orders_stream"]}
    start_triggerer()
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    sent = []
    for number in range(3):
        sent.append(client.xadd(stream, {"order": str(number)}))
        wait_for(lambda n=number: len(events(env)) == n + 1, f"event {number}", env)
        assert create_dataset_runs(env.store, Actor("test"), utcnow()) == 1
        assert run_count(env) == number + 1
    found = events(env)
    assert [e.extra["payload"]["id"] for e in found] == sent
    assert [e.extra["payload"]["fields"] for e in found] == [{"order": str(n)} for n in range(3)]
    assert all(e.extra["from_trigger"] is True for e in found)
    with env.store.read() as conn:
        confs = list(conn.execute(select(dag_run.c.conf).order_by(dag_run.c.id)).scalars())
        recorded = dict(
            conn.execute(
                select(asset_watcher_message.c.message_id, asset_watcher_message.c.event_id)
            ).all()
        )
    # Each run was triggered by one message's event, each event by one run.
    assert [[e["id"] for e in conf["dataset_events"]] for conf in confs] == [
        [e.id for e in found[i : i + 1]] for i in range(3)
    ]
    assert recorded == {message: event.id for message, event in zip(sent, found, strict=True)}
    wait_for(lambda: pending(stream) == 0, "every message acknowledged", env)


@pytest.mark.parametrize("stage", ["before_commit", "before_ack"])
def test_a_triggerer_killed_mid_message_records_each_message_once(
    watched: Env,
    stream: str,
    stage: str,
    start_triggerer: Callable[..., CliProcess],
    tmp_path: Path,
) -> None:
    env = watched
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    sent = [client.xadd(stream, {"order": str(n)}) for n in range(3)]
    paused = tmp_path / "paused"
    first = start_triggerer(**{PAUSE_VARIABLE: f"{stage}:{paused}"})
    wait_for(paused.exists, f"the triggerer paused {stage}", env)
    # Paused at the first message: delivered to the triggerer, not acknowledged, and
    # committed (before_ack) or not (before_commit).
    assert pending(stream) >= 1
    assert len(events(env)) == (1 if stage == "before_ack" else 0)
    os.killpg(first.pid, signal.SIGKILL)
    first.popen.wait(timeout=30)
    assert pending(stream) >= 1  # the killed triggerer acknowledged nothing more

    start_triggerer()  # takes the watcher over once the first's heartbeat is stale
    wait_for(lambda: len(events(env)) >= 3 and pending(stream) == 0, "every message", env)
    found = events(env)
    assert [e.extra["payload"]["id"] for e in found] == sent  # one event each, in order
    with env.store.read() as conn:
        recorded = sorted(conn.execute(select(asset_watcher_message.c.message_id)).scalars())
    assert recorded == sorted(sent)
    assert create_dataset_runs(env.store, Actor("test"), utcnow()) == 1


def test_one_live_triggerer_holds_a_watcher(watched: Env) -> None:
    env = watched
    now = utcnow()
    stale_after = timedelta(seconds=30)
    with env.store.write() as conn:
        for name in ("t-1", "t-2"):
            triggers.record_heartbeat(conn, name, "host", 1, 10, 0, now)
        assert asset_watchers.claim(conn, "t-1", now, stale_after) == 1
        assert asset_watchers.claim(conn, "t-2", now, stale_after) == 0  # t-1 is alive
        assert [w.name for w in asset_watchers.held_by(conn, "t-1")] == ["orders_stream"]
        assert asset_watchers.held_by(conn, "t-2") == []
        # t-1's heartbeat goes stale: t-2 takes the watcher over.
        later = now + stale_after * 2
        triggers.record_heartbeat(conn, "t-2", "host", 1, 10, 0, later)
        assert asset_watchers.claim(conn, "t-2", later, stale_after) == 1
        assert asset_watchers.held_by(conn, "t-1") == []
        # A triggerer that stops releases its watchers at once, its heartbeat still fresh.
        asset_watchers.release(conn, "t-2")
        assert asset_watchers.held_by(conn, "t-2") == []
        assert asset_watchers.claim(conn, "t-1", later, stale_after) == 1


def test_a_dag_that_drops_its_watcher_stops_it(watched: Env) -> None:
    env = watched
    env.write_dag(
        "on_orders.py",
        """\
        from datetime import datetime
        from airflow.sdk import DAG, Asset
        from airflow.providers.standard.operators.empty import EmptyOperator

        with DAG("on_orders", start_date=datetime(2024, 1, 1), schedule=[Asset("orders")]):
            EmptyOperator(task_id="take")
        """,
        header=False,
    )
    env.sync()
    with env.store.read() as conn:
        assert conn.execute(select(asset_watcher.c.id)).all() == []


# -- SQS (moto's server) -------------------------------------------------------------------

s3_endpoint = s3_server.s3_endpoint  # moto's server answers SQS too

SQS_DAG = """\
from datetime import datetime

from airflow.providers.common.messaging.triggers.msg_queue import MessageQueueTrigger
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, Asset, AssetWatcher

trigger = MessageQueueTrigger(
    scheme="sqs", sqs_queue="@QUEUE@", aws_conn_id="sqs_local", visibility_timeout=2
)
orders = Asset("orders", watchers=[AssetWatcher(name="orders_queue", trigger=trigger)])

with DAG("on_orders", start_date=datetime(2024, 1, 1), schedule=[orders]):
    EmptyOperator(task_id="take")
"""


def sqs_client(endpoint: str) -> Any:
    return boto3.client(
        "sqs",
        endpoint_url=endpoint,
        region_name=s3_server.REGION,
        aws_access_key_id=s3_server.ACCESS_KEY_ID,
        aws_secret_access_key=s3_server.SECRET_ACCESS_KEY,
    )


def left_in(client: Any, queue_url: str) -> int:
    """Messages not deleted, visible or not."""
    found = client.get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(found["ApproximateNumberOfMessages"]) + int(
        found["ApproximateNumberOfMessagesNotVisible"]
    )


@pytest.mark.parametrize("stage", ["before_commit", "before_ack"])
def test_sqs_messages_are_one_event_each_across_a_killed_triggerer(
    env: Env,
    s3_endpoint: str,
    stage: str,
    start_triggerer: Callable[..., CliProcess],
    tmp_path: Path,
) -> None:
    client = sqs_client(s3_endpoint)
    queue_url = client.create_queue(QueueName=f"conveyor-{uuid.uuid4().hex[:12]}")["QueueUrl"]
    env.write_dag("on_orders.py", SQS_DAG.replace("@QUEUE@", queue_url), header=False)
    env.sync()
    sent = [
        client.send_message(QueueUrl=queue_url, MessageBody=f"order {n}")["MessageId"]
        for n in range(2)
    ]
    connection = {"AIRFLOW_CONN_SQS_LOCAL": s3_server.aws_uri(s3_endpoint), **s3_server.ISOLATED}
    paused = tmp_path / "paused"
    first = start_triggerer(**connection, **{PAUSE_VARIABLE: f"{stage}:{paused}"})
    wait_for(paused.exists, f"the triggerer paused {stage}", env)
    assert len(events(env)) == (1 if stage == "before_ack" else 0)
    os.killpg(first.pid, signal.SIGKILL)
    first.popen.wait(timeout=30)
    assert left_in(client, queue_url) == 2  # nothing deleted yet

    second = start_triggerer(**connection)  # the first's messages come back after their 2 s
    wait_for(lambda: left_in(client, queue_url) == 0, "every message deleted", env)
    found = events(env)
    # Seen once in a full run: both messages deleted and no event stored. What the second
    # triggerer said, with the watcher's rows, is what would tell why.
    with env.store.read() as conn:
        rows = [r._asdict() for r in conn.execute(select(asset_watcher_message))]
    told = f"second triggerer's output:\n{second.output}\nrecorded message ids: {rows}"
    assert sorted(e.extra["payload"]["message_batch"][0]["MessageId"] for e in found) == sorted(
        sent
    ), told
    assert sorted(e.extra["payload"]["message_batch"][0]["Body"] for e in found) == [
        "order 0",
        "order 1",
    ]


def test_a_deleted_dag_file_stops_its_watchers(watched: Env) -> None:
    env = watched
    with env.store.read() as conn:
        assert len(conn.execute(select(asset_watcher.c.id)).all()) == 1
    (env.dags / "on_orders.py").unlink()
    env.sync()
    with env.store.read() as conn:
        assert conn.execute(select(asset_watcher.c.id)).all() == []
