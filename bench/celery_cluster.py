"""Cluster mode's hop and throughput next to a raw Celery round trip on the same broker.

Runs the chain of 50 and the fan-out of 200 (the same DAGs as ``local_executor.py``) through
the real scheduler with the Celery executor, a real ``conveyor worker`` process, Redis as the
broker and PostgreSQL as the store. In the same run it measures the floor for a cluster hop:
a bare no-op Celery task sent and its result awaited, on the same broker, by a worker of the
same pool type. The ratio hop / round trip is the figure to report.

    .venv/bin/python bench/celery_cluster.py [--chain 50] [--fanout 200] [--concurrency 8]
        [--database-url postgresql://postgres@127.0.0.1/conveyor_bench]
        [--broker redis://127.0.0.1:6379/9] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from celery import Celery
from local_executor import (  # the same DAGs and metrics as the local benchmark
    CHAIN_DAG,
    FANOUT_DAG,
    _finished_or_late,
    _read_timing,
    chain_metrics,
    fanout_metrics,
    log_folder,
    run_home,
    with_marks,
)
from sqlalchemy.engine import make_url

from conveyor.config import load_config
from conveyor.executors.celery_executor import CeleryExecutor
from conveyor.loading.processor import DagFileProcessor
from conveyor.scheduler.loop import Scheduler
from conveyor.store import runs, schema
from conveyor.store.engine import Store

CONVEYOR = str(Path(sys.executable).parent / "conveyor")
RAW_APP = """
from celery import Celery
app = Celery("raw", broker="{broker}", backend="{backend}")
app.conf.update(task_serializer="json", accept_content=["json"], worker_prefetch_multiplier=1)

@app.task(name="raw.noop")
def noop():
    return None
"""


def ensure_database(url: str) -> None:
    parsed = make_url(url)
    admin = parsed.set(drivername="postgresql", database="postgres")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (parsed.database,)
        ).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{parsed.database}"')


def raw_round_trip(broker: str, samples: int) -> float:
    """Median seconds to send a no-op Celery task and get its result back."""
    backend = broker.rsplit("/", 1)[0] + "/10" if broker.startswith("redis") else "rpc://"
    with tempfile.TemporaryDirectory(prefix="conveyor-raw-") as tmp:
        (Path(tmp) / "raw_app.py").write_text(RAW_APP.format(broker=broker, backend=backend))
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "raw_app",
                "worker",
                "-c",
                "1",
                "-P",
                "prefork",
                "--without-mingle",
                "--without-gossip",
                "-Q",
                "raw",
                "-l",
                "WARNING",
            ],
            cwd=tmp,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            app = Celery("raw", broker=broker, backend=backend)
            app.conf.update(task_serializer="json", accept_content=["json"])
            app.send_task("raw.noop", queue="raw").get(timeout=60)  # the worker is up
            times = []
            for _ in range(samples):
                started = time.perf_counter()
                app.send_task("raw.noop", queue="raw").get(timeout=10)
                times.append(time.perf_counter() - started)
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=30)
    return statistics.median(times)


def run_on_cluster(
    dag_id: str,
    source: str,
    database_url: str,
    broker: str,
    concurrency: int,
    timeout: float,
    *,
    warm: bool = False,
    logs_under: Path | None = None,
) -> object:
    """One run of ``dag_id`` on a new cluster; its timing. ``warm``: one run of the same DAG
    before it, unmeasured, so that the measured one meets the worker as a long-lived worker
    is: its pool processes have imported the DAG and made their connections. ``logs_under``:
    see ``local_executor.log_folder``."""
    with (
        run_home("conveyor-cluster-bench-") as tmp,
        log_folder(logs_under) as logs,
    ):
        home, dags = Path(tmp), Path(tmp) / "dags"
        dags.mkdir()
        source, marks = with_marks(source, home)
        (dags / f"{dag_id}.py").write_text(source)
        env = {
            **os.environ,
            "CONVEYOR_HOME": str(home),
            "CONVEYOR_DAGS_FOLDER": str(dags),
            "CONVEYOR_DAGS_ARE_PAUSED_AT_CREATION": "false",  # a bench runs its DAGs at once
            "CONVEYOR_DATABASE_URL": database_url,
            **logs,
            "CONVEYOR_BROKER_URL": broker,
        }
        settings = load_config(
            env, executor="celery", parallelism=concurrency * 4, scheduler_loop_seconds=0.2
        ).settings
        store = Store(settings.db_url)
        schema.reset(store)
        worker = subprocess.Popen(
            [CONVEYOR, "worker", "-c", str(concurrency)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            time.sleep(3)  # the worker connects and its pool forks
            processor = DagFileProcessor(
                store, dags, timeout=30, scan_every=60, paused_at_creation=False
            )
            processor.sync()
            for _ in range(2 if warm else 1):
                with store.write() as conn:
                    run_pk = runs.create_manual_run(conn, dag_id, created_by="bench")
                assert run_pk is not None
                scheduler = Scheduler(settings, store, CeleryExecutor(settings), processor)
                scheduler.run(until=_finished_or_late(store, run_pk, time.monotonic() + timeout))
            return _read_timing(store, run_pk, marks)
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=60)
            store.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chain", type=int, default=50)
    parser.add_argument("--fanout", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument(
        "--database-url", default="postgresql://postgres@127.0.0.1:5432/conveyor_bench"
    )
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/9")
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="rounds of (round trip, chain); the ratio reported is their median",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    ensure_database(args.database_url)

    # The machines are noisy: each round measures the floor and the chain back to back, and
    # the figure is the median of the rounds' ratios, each taken against its own floor.
    rounds = []
    for _ in range(args.repeat):
        raw = raw_round_trip(args.broker, args.samples)
        chain = chain_metrics(
            run_on_cluster(
                "bench_chain",
                CHAIN_DAG.format(n=args.chain),
                args.database_url,
                args.broker,
                args.concurrency,
                args.timeout,
            )  # type: ignore[arg-type]
        )
        rounds.append({"raw_round_trip": raw, **chain})
    fan = fanout_metrics(
        run_on_cluster(
            "bench_fanout",
            FANOUT_DAG.format(n=args.fanout, limit=args.fanout + 2),
            args.database_url,
            args.broker,
            args.concurrency,
            args.timeout,
        )
    )  # type: ignore[arg-type]
    ratios = [r["chain_hop_median"] / r["raw_round_trip"] for r in rounds]
    middle = rounds[ratios.index(statistics.median_low(ratios))]
    raw = middle["raw_round_trip"]
    result = {**middle, **fan, "hop_ratios": ratios, "hop_ratio": statistics.median(ratios)}
    if args.json:
        print(json.dumps(result, indent=2))
        return
    rows = [
        ("raw Celery round trip (no-op, same broker)", raw, 1.0),
        (
            "chain: hop between two tasks, median",
            middle["chain_hop_median"],
            middle["chain_hop_median"] / raw,
        ),
        (
            "chain: hop between two tasks, p95",
            middle["chain_hop_p95"],
            middle["chain_hop_p95"] / raw,
        ),
        (
            "chain: wall time per task",
            middle["chain_seconds_per_task"],
            middle["chain_seconds_per_task"] / raw,
        ),
        (
            "fanout: wall time per task (1 / throughput)",
            fan["fanout_seconds_per_task"],
            fan["fanout_seconds_per_task"] / raw,
        ),
    ]
    print(
        f"conveyor on Celery: broker {args.broker}, store "
        f"{make_url(args.database_url).render_as_string(hide_password=True)}, "
        f"worker concurrency {args.concurrency}\n"
    )
    for number, r in enumerate(rounds, 1):
        print(
            f"round {number}: round trip {r['raw_round_trip'] * 1000:.1f} ms, "
            f"hop {r['chain_hop_median'] * 1000:.1f} ms, ratio {ratios[number - 1]:.2f}"
        )
    print(f"\n{'metric (the median round)':<45} {'value':>10}  / round trip")
    for name, seconds, ratio in rows:
        print(f"{name:<45} {seconds * 1000:>7.1f} ms  {ratio:>10.2f}")
    print(f"{'fanout: tasks per second':<45} {fan['fanout_tasks_per_second']:>8.1f} /s")
    target = statistics.median(ratios)
    print(
        f"\ntarget: a hop costs at most twice the raw round trip: "
        f"{'met' if target <= 2 else 'NOT met'} (median ratio {target:.2f} over "
        f"{len(ratios)} rounds)"
    )


if __name__ == "__main__":
    main()
