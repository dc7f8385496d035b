"""Curves: how a hop and a fan-out hold up as runs grow, on both executors, beside the floors.

For each executor (the embedded default: SQLite and the local executor; the cluster: the
Celery executor with one real ``conveyor worker`` over Redis and PostgreSQL) it runs fan-outs
of each size and chains of each length through the real scheduler, and reads every figure
back from the store (see ``local_executor.py``). The floors are measured in the same run:

- ``python -c pass`` in a fresh interpreter (the embedded default's hop is held to it);
- a folder and a file made beside the runs' homes, at the start and at the end, as each try
  makes its log's (not a floor the figures are held to: it tells a disk slowed by files
  removed nearby, which every try pays; see ``local_executor.run_home``);
- a raw Celery round trip, and a raw Celery group of the smallest fan-out's size, on the
  same broker, by a worker with the same concurrency (the cluster's hop and fan-out are held
  to them);
- and before each round of a cluster fan-out, a raw Celery group of the same size: the
  fan-out's "/ floor" is the median of the rounds' ratios to the group just before them.

A round runs every size of every shape on every executor once, and there are ``--rounds``
of them (3). Each ratio is taken within a round (a size against the smallest size, the
embedded default against the cluster, a cluster fan-out against its raw group) and the
median of the rounds' ratios is reported: this machine's speed drifts over minutes, and a
ratio between two runs half an hour apart measured the drift as much as the code. The
figure shown for a size is its median round, with every round's beside it.

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
    folder_and_file,
    hop_by_tenth,
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


def raw_floors(
    broker: str, concurrency: int, samples: int, group_size: int | None
) -> dict[str, float]:
    """The median raw round trip, and the tasks/s of a raw group of ``group_size`` no-ops
    (none without fan-outs to hold to it)."""
    with raw_worker(broker, concurrency) as app:
        trips = []
        for _ in range(samples):
            started = time.perf_counter()
            app.send_task("raw.noop", queue="raw").get(timeout=10)
            trips.append(time.perf_counter() - started)
        floors = {"raw_round_trip": statistics.median(trips)}
        if group_size is not None:
            noop = app.signature("raw.noop", queue="raw")
            started = time.perf_counter()
            group(noop.clone() for _ in range(group_size)).apply_async().get(timeout=600)
            floors["raw_group_tasks_per_second"] = group_size / (time.perf_counter() - started)
    return floors


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
            dag_id,
            source,
            parallelism=args.parallelism,
            loop_seconds=0.2,
            timeout=args.timeout,
            logs_under=args.logs_under,
        )
    return run_on_cluster(  # type: ignore[return-value]
        dag_id,
        source,
        args.database_url,
        args.broker,
        args.concurrency,
        args.timeout,
        warm=args.warm,
        logs_under=args.logs_under,
    )


#: The figure each shape is judged by.
FIGURE = {"fanout": "fanout_tasks_per_second", "chain": "chain_hop_median"}


def one_round(executor: str, shape: str, size: int, args: argparse.Namespace) -> dict[str, Any]:
    """One run of one size. A cluster fan-out follows a raw Celery group of the same size,
    measured just before it: the machine's speed swings between rounds (a fan-out of 200 from
    143 to 215 tasks/s in one run), and a ratio to a floor taken minutes earlier carries that
    swing."""
    metric = FIGURE[shape]
    to_metrics = fanout_metrics if shape == "fanout" else chain_metrics
    paired = executor == "celery" and shape == "fanout"
    raw = raw_group_rate(args.broker, args.concurrency, size) if paired else None
    timing = run_one(executor, shape, size, args)
    metrics: dict[str, Any] = to_metrics(timing)
    if shape == "chain":
        metrics["chain_hop_tenths"] = hop_by_tenth(timing)
    if raw is not None:
        metrics["raw_group_tasks_per_second"] = raw
        metrics["against_raw_group"] = metrics[metric] / raw
    return metrics


def _paired(
    rounds: list[dict[str, Any]], baseline: list[dict[str, Any]], metric: str
) -> tuple[list[float], float]:
    """Each round's figure against the baseline's in the same round, and their median."""
    ratios = [mine[metric] / base[metric] for mine, base in zip(rounds, baseline, strict=True)]
    return ratios, statistics.median(ratios)


def summarize(
    executor: str,
    shape: str,
    size: int,
    rounds: list[dict[str, Any]],
    smallest: list[dict[str, Any]],
    cluster: list[dict[str, Any]] | None,
) -> dict[str, Any]:
    """One size's row: the median round, every round's figure, and the ratios paired by round:
    to the smallest size's run, to the cluster's run of the same size (``cluster``, for the
    embedded default) and, for a cluster fan-out, to the raw group just before."""
    metric = FIGURE[shape]
    middle = sorted(rounds, key=lambda metrics: metrics[metric])[(len(rounds) - 1) // 2]
    row = {
        "executor": executor,
        "shape": shape,
        "size": size,
        **middle,
        "rounds": [metrics[metric] for metrics in rounds],
    }
    row["against_smallest_rounds"], row["against_smallest_median"] = _paired(
        rounds, smallest, metric
    )
    if cluster is not None:
        row["against_cluster_rounds"], row["against_cluster_median"] = _paired(
            rounds, cluster, metric
        )
    if "against_raw_group" in middle:
        row["raw_groups"] = [metrics["raw_group_tasks_per_second"] for metrics in rounds]
        row["against_raw_group_rounds"] = [metrics["against_raw_group"] for metrics in rounds]
        row["against_raw_group_median"] = statistics.median(row["against_raw_group_rounds"])
    return row


def _describe(metrics: dict[str, Any], shape: str) -> str:
    if shape == "fanout":
        described = f"{metrics['fanout_tasks_per_second']:.1f} tasks/s"
        if "raw_group_tasks_per_second" in metrics:
            described += f" (raw group just before: {metrics['raw_group_tasks_per_second']:.1f})"
        return described
    tenths = ", ".join(f"{hop * 1000:.1f}" for hop in metrics["chain_hop_tenths"])
    return f"hop p50 {metrics['chain_hop_median'] * 1000:.1f} ms (by tenth of the chain: {tenths})"


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Every size of every shape on every executor, round after round: a round runs each of
    them once, so the figures a ratio compares (a size against the smallest, the embedded
    default against the cluster) are measured minutes apart, not half an hour apart, and
    each ratio is taken within a round before the median is taken across rounds."""
    result: dict[str, Any] = {"floors": {}, "runs": []}
    result["floors"]["python_c_pass"] = interpreter_start("pass", args.samples // 10 or 1)
    result["floors"]["folder_and_file_start"] = folder_and_file()
    if "celery" in args.executors:
        ensure_database(args.database_url)
        result["floors"].update(
            raw_floors(
                args.broker,
                args.concurrency,
                args.samples,
                args.fanouts[0] if args.fanouts else None,
            )
        )
    plan = [
        (executor, shape, size)
        for executor in args.executors
        for shape, sizes in (("fanout", args.fanouts), ("chain", args.chains))
        for size in sizes
    ]
    rounds: dict[tuple[str, str, int], list[dict[str, Any]]] = {key: [] for key in plan}
    for number in range(1, args.rounds + 1):
        for executor, shape, size in plan:
            metrics = one_round(executor, shape, size, args)
            rounds[(executor, shape, size)].append(metrics)
            print(
                f"  round {number}: {executor} {shape} {size}: {_describe(metrics, shape)}",
                file=sys.stderr,
            )
    result["floors"]["folder_and_file_end"] = folder_and_file()
    for executor, shape, size in plan:
        sizes = args.fanouts if shape == "fanout" else args.chains
        smallest = rounds[(executor, shape, sizes[0])]
        cluster = rounds.get(("celery", shape, size)) if executor == "local" else None
        result["runs"].append(
            summarize(executor, shape, size, rounds[(executor, shape, size)], smallest, cluster)
        )
    return result


def _rounds(values: list[float], scale: float = 1.0) -> str:
    return ", ".join(f"{value * scale:.2f}" for value in values)


def print_table(result: dict[str, Any]) -> None:
    """The figure of each size is its median round; "/ smallest", and a cluster fan-out's
    "/ floor" (its raw group), are medians of ratios taken within each round (the rounds'
    ratios follow the table). A chain's "/ floor" is against the floor measured at the start."""
    floors = result["floors"]
    print("floors, measured in this run:")
    print(f"  python -c pass                 {floors['python_c_pass'] * 1000:8.1f} ms")
    disk = floors["folder_and_file_start"], floors["folder_and_file_end"]
    print(
        f"  a log's folder and file        {disk[0] * 1e6:8.0f} µs at the start, "
        f"{disk[1] * 1e6:.0f} µs at the end"
    )
    if "raw_round_trip" in floors:
        print(f"  raw Celery round trip          {floors['raw_round_trip'] * 1000:8.1f} ms")
    if "raw_group_tasks_per_second" in floors:
        print(
            f"  raw Celery group               {floors['raw_group_tasks_per_second']:8.1f} tasks/s"
        )
    print()
    print(
        f"{'executor':<8} {'shape':<7} {'size':>6} {'figure':>16} {'/ smallest':>11} {'/ floor':>8}"
    )
    notes = []
    for row in result["runs"]:
        executor, shape, size = row["executor"], row["shape"], row["size"]
        if shape == "fanout":
            value = row["fanout_tasks_per_second"]
            figure = f"{value:8.1f} tasks/s"
            ratio = row.get("against_raw_group_median")
            rounds = f"tasks/s {_rounds(row['rounds'])}"
        else:
            value = row["chain_hop_median"]
            figure = f"{value * 1000:8.1f} ms hop"
            floor = (
                floors.get("raw_round_trip") if executor == "celery" else floors["python_c_pass"]
            )
            ratio = value / floor if floor else None
            rounds = f"hop ms {_rounds(row['rounds'], 1000)}"
        shown = f"{ratio:8.2f}" if ratio is not None else f"{'':>8}"
        label = f"{executor:<8} {shape:<7} {size:>6}"
        print(f"{label} {figure:>16} {row['against_smallest_median']:>11.2f} {shown}")
        note = f"  {label}: {rounds}; / smallest {_rounds(row['against_smallest_rounds'])}"
        if "against_raw_group_rounds" in row:
            note += f"; / raw group {_rounds(row['against_raw_group_rounds'])}"
        notes.append(note)
    print("\nrounds, in order:")
    print("\n".join(notes))


def print_embedded_against_cluster(result: dict[str, Any]) -> None:
    """The embedded default is held to the cluster: size by size, the median of the rounds'
    ratios (each round ran both)."""
    lines = []
    for row in result["runs"]:
        if "against_cluster_median" not in row:
            continue
        shape, size = row["shape"], row["size"]
        what = "tasks/s" if shape == "fanout" else "hop"
        lines.append(
            f"  {'fan-out' if shape == 'fanout' else 'chain'} {size}: embedded {what} / cluster"
            f" {what} = {row['against_cluster_median']:.2f}"
            f" (rounds: {_rounds(row['against_cluster_rounds'])})"
        )
    if lines:
        print("\nembedded default against the cluster, same sizes, paired by round:")
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
    parser.add_argument(
        "--logs-under",
        type=Path,
        default=None,
        help="put each run's task logs in a fresh folder here (e.g. /dev/shm) instead of its "
        "home: the hop without the disk's cost of a log folder and file",
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
