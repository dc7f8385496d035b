"""Curves: how a hop and a fan-out hold up as runs grow, on both executors, beside the floors.

For each executor (the embedded default: SQLite and the local executor; the cluster: the
Celery executor with one real ``conveyor worker`` over Redis and PostgreSQL) it runs fan-outs
of each size and chains of each length through the real scheduler, and reads every figure
back from the store (see ``local_executor.py``). The floors are measured in the same run:

- ``python -c pass`` in a fresh interpreter (the embedded default's hop is held to it);
- a raw Celery round trip, and a raw Celery group of the smallest fan-out's size, on the
  same broker, by a worker with the same concurrency (the cluster's hop and fan-out are held
  to them);
- and before each round of a cluster fan-out, a raw Celery group of the same size: the
  fan-out's "/ floor" is the median of the rounds' ratios to the group just before them.

Each size runs ``--rounds`` times (3) and the median round is reported, with every round's
figure beside it. Each figure is printed as a ratio: a fan-out's tasks/s against the fan-out
of the smallest size, a chain's hop p50 against the shortest chain's, and both against the
floors.

    .venv/bin/python bench/scale.py                                  # every size, 3 rounds (20 min)
    .venv/bin/python bench/scale.py --fanouts 200,1000 --chains 50,1000 --executors celery
    .venv/bin/python bench/scale.py --json > /tmp/scale.json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from celery import Celery, group
from celery_cluster import RAW_APP, ensure_database, run_on_cluster
from local_executor import (
    CHAIN_DAG,
    FANOUT_DAG,
    RunTiming,
    chain_metrics,
    fanout_metrics,
    interpreter_start,
    run_dag,
)


@contextlib.contextmanager
def raw_worker(broker: str, concurrency: int) -> Iterator[Celery]:
    """A bare Celery worker running a no-op task, and an app to send it with."""
    backend = broker.rsplit("/", 1)[0] + "/10" if broker.startswith("redis") else "rpc://"
    with tempfile.TemporaryDirectory(prefix="conveyor-raw-") as tmp:
        (Path(tmp) / "raw_app.py").write_text(RAW_APP.format(broker=broker, backend=backend))
        worker = subprocess.Popen(
            [
                *(sys.executable, "-m", "celery", "-A", "raw_app", "worker"),
                *("-c", str(concurrency), "-P", "prefork", "--without-mingle"),
                *("--without-gossip", "-Q", "raw", "-l", "WARNING"),
            ],
            cwd=tmp,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            app = Celery("raw", broker=broker, backend=backend)
            app.conf.update(task_serializer="json", accept_content=["json"])
            app.send_task("raw.noop", queue="raw").get(timeout=60)  # the worker is up
            yield app
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=30)


def raw_floors(broker: str, concurrency: int, samples: int, group_size: int) -> dict[str, float]:
    """The median raw round trip, and the tasks/s of a raw group of ``group_size`` no-ops."""
    with raw_worker(broker, concurrency) as app:
        trips = []
        for _ in range(samples):
            started = time.perf_counter()
            app.send_task("raw.noop", queue="raw").get(timeout=10)
            trips.append(time.perf_counter() - started)
        noop = app.signature("raw.noop", queue="raw")
        started = time.perf_counter()
        group(noop.clone() for _ in range(group_size)).apply_async().get(timeout=600)
        elapsed = time.perf_counter() - started
    return {
        "raw_round_trip": statistics.median(trips),
        "raw_group_tasks_per_second": group_size / elapsed,
    }


def raw_group_rate(broker: str, concurrency: int, size: int) -> float:
    """The tasks/s of one raw Celery group of ``size`` no-ops, on a worker of its own."""
    with raw_worker(broker, concurrency) as app:
        noop = app.signature("raw.noop", queue="raw")
        started = time.perf_counter()
        group(noop.clone() for _ in range(size)).apply_async().get(timeout=3600)
        return size / (time.perf_counter() - started)


def run_one(executor: str, shape: str, size: int, args: argparse.Namespace) -> RunTiming:
    dag_id = f"bench_{shape}"
    source = (
        CHAIN_DAG.format(n=size) if shape == "chain" else FANOUT_DAG.format(n=size, limit=size + 2)
    )
    if executor == "local":
        return run_dag(
            dag_id, source, parallelism=args.parallelism, loop_seconds=0.2, timeout=args.timeout
        )
    return run_on_cluster(  # type: ignore[return-value]
        dag_id,
        source,
        args.database_url,
        args.broker,
        args.concurrency,
        args.timeout,
        warm=args.warm,
    )


#: The figure each shape is judged by, and whether more is better.
FIGURE = {"fanout": ("fanout_tasks_per_second", True), "chain": ("chain_hop_median", False)}


def median_round(executor: str, shape: str, size: int, args: argparse.Namespace) -> dict[str, Any]:
    """``args.rounds`` runs of one size; the median one, with every round's figure. A fan-out
    of 200 lasts about a second, so one round of it is at the mercy of the machine's noise."""
    metric, _ = FIGURE[shape]
    to_metrics = fanout_metrics if shape == "fanout" else chain_metrics
    paired = executor == "celery" and shape == "fanout"
    rounds = []
    for _ in range(args.rounds):
        # A cluster fan-out's round follows a raw Celery group of the same size, measured
        # just before it: the machine's speed swings between rounds (a fan-out of 200 from
        # 143 to 215 tasks/s in one run), and a ratio to a floor taken minutes earlier
        # carries that swing.
        raw = raw_group_rate(args.broker, args.concurrency, size) if paired else None
        metrics = to_metrics(run_one(executor, shape, size, args))
        if raw is not None:
            metrics["raw_group_tasks_per_second"] = raw
            metrics["against_raw_group"] = metrics[metric] / raw
        rounds.append(metrics)
    rounds.sort(key=lambda metrics: metrics[metric])
    middle = rounds[(len(rounds) - 1) // 2]
    row = {
        "executor": executor,
        "shape": shape,
        "size": size,
        **middle,
        "rounds": [metrics[metric] for metrics in rounds],
    }
    if paired:
        row["raw_groups"] = [metrics["raw_group_tasks_per_second"] for metrics in rounds]
        row["against_raw_group_rounds"] = [metrics["against_raw_group"] for metrics in rounds]
        row["against_raw_group_median"] = statistics.median(row["against_raw_group_rounds"])
    return row


def _describe(row: dict[str, Any]) -> str:
    metric, _ = FIGURE[row["shape"]]
    if row["shape"] == "fanout":
        spread = ", ".join(f"{value:.1f}" for value in row["rounds"])
        described = f"{row[metric]:.1f} tasks/s (rounds: {spread})"
        if "raw_groups" in row:
            pairs = ", ".join(
                f"{value:.1f}/{raw:.1f}"
                for value, raw in zip(row["rounds"], row["raw_groups"], strict=True)
            )
            described += (
                f"; against the raw group just before: {row['against_raw_group_median']:.2f}"
                f" (rounds: {pairs})"
            )
        return described
    spread = ", ".join(f"{value * 1000:.1f}" for value in row["rounds"])
    return f"hop p50 {row[metric] * 1000:.1f} ms (rounds: {spread})"


def measure(args: argparse.Namespace) -> dict[str, Any]:
    result: dict[str, Any] = {"floors": {}, "runs": []}
    result["floors"]["python_c_pass"] = interpreter_start("pass", args.samples // 10 or 1)
    if "celery" in args.executors:
        ensure_database(args.database_url)
        result["floors"].update(
            raw_floors(args.broker, args.concurrency, args.samples, args.fanouts[0])
        )
    for executor in args.executors:
        for shape, sizes in (("fanout", args.fanouts), ("chain", args.chains)):
            for size in sizes:
                row = median_round(executor, shape, size, args)
                result["runs"].append(row)
                print(f"  {executor} {shape} {size}: {_describe(row)}", file=sys.stderr)
    return result


def print_table(result: dict[str, Any]) -> None:
    floors = result["floors"]
    print("floors, measured in this run:")
    print(f"  python -c pass                 {floors['python_c_pass'] * 1000:8.1f} ms")
    if "raw_round_trip" in floors:
        print(f"  raw Celery round trip          {floors['raw_round_trip'] * 1000:8.1f} ms")
        print(
            f"  raw Celery group               {floors['raw_group_tasks_per_second']:8.1f} tasks/s"
        )
    print()
    print(
        f"{'executor':<8} {'shape':<7} {'size':>6} {'figure':>16} {'/ smallest':>11} {'/ floor':>8}"
    )
    for executor in dict.fromkeys(r["executor"] for r in result["runs"]):
        for shape in ("fanout", "chain"):
            rows = [r for r in result["runs"] if r["executor"] == executor and r["shape"] == shape]
            if not rows:
                continue
            first = rows[0]
            for row in rows:
                if shape == "fanout":
                    value = row["fanout_tasks_per_second"]
                    against_first = value / first["fanout_tasks_per_second"]
                    floor = (
                        floors.get("raw_group_tasks_per_second") if executor == "celery" else None
                    )
                    if "against_raw_group_median" in row:  # paired rounds: their median ratio
                        floor = value / row["against_raw_group_median"]
                    figure = f"{value:8.1f} tasks/s"
                else:
                    value = row["chain_hop_median"]
                    against_first = value / first["chain_hop_median"]
                    floor = (
                        floors.get("raw_round_trip")
                        if executor == "celery"
                        else floors["python_c_pass"]
                    )
                    figure = f"{value * 1000:8.1f} ms hop"
                ratio = f"{value / floor:8.2f}" if floor else f"{'':>8}"
                label = f"{executor:<8} {shape:<7} {row['size']:>6}"
                print(f"{label} {figure:>16} {against_first:>11.2f} {ratio}")


def print_embedded_against_cluster(result: dict[str, Any]) -> None:
    """The embedded default is held to the cluster: its fan-out against Celery's, size by size."""
    by_key = {(r["executor"], r["shape"], r["size"]): r for r in result["runs"]}
    lines = []
    for (executor, shape, size), row in by_key.items():
        cluster = by_key.get(("celery", shape, size))
        if executor != "local" or cluster is None:
            continue
        if shape == "fanout":
            ratio = row["fanout_tasks_per_second"] / cluster["fanout_tasks_per_second"]
            lines.append(f"  fan-out {size}: embedded tasks/s / cluster tasks/s = {ratio:.2f}")
        else:
            ratio = row["chain_hop_median"] / cluster["chain_hop_median"]
            lines.append(f"  chain {size}: embedded hop / cluster hop = {ratio:.2f}")
    if lines:
        print("\nembedded default against the cluster, same sizes:")
        print("\n".join(lines))


def _sizes(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fanouts", type=_sizes, default=_sizes("200,1000,3000,10000"))
    parser.add_argument("--chains", type=_sizes, default=_sizes("50,1000,3000"))
    parser.add_argument("--executors", type=lambda s: s.split(","), default=["local", "celery"])
    parser.add_argument("--concurrency", type=int, default=2, help="the Celery worker's pool")
    parser.add_argument("--parallelism", type=int, default=8, help="the local executor's slots")
    parser.add_argument("--samples", type=int, default=100, help="raw round trips to time")
    parser.add_argument(
        "--rounds", type=int, default=3, help="runs of each size; the median one is reported"
    )
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument(
        "--database-url", default="postgresql://postgres@127.0.0.1:5432/conveyor_bench"
    )
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/9")
    parser.add_argument(
        "--warm",
        action="store_true",
        help="cluster: measure each DAG's second run on its worker, as on a long-lived worker",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = measure(args)
    if args.json:
        print(json.dumps(result, indent=2, default=str))
    else:
        print_table(result)
        print_embedded_against_cluster(result)


if __name__ == "__main__":
    main()
