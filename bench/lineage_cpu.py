"""What OpenLineage costs a try's process in CPU: a chain of no-op tasks run in this process
(``conveyor.testing.run_dag``: SQLite, no scheduler, no executor), lineage off against on,
in alternating rounds.

The CPU is this process's (``time.process_time``: the try's thread and the emitter's thread
that sends the events), per task; the events go over HTTP to a server in a process of its
own (``observability_overhead.Sink``), which counts them. Where ``observability_overhead.py``
measures what a hop and a fan-out see, this says what the events' building and sending cost,
which on a machine whose cores a fan-out fills is what its rate loses.

    .venv/bin/python bench/lineage_cpu.py [--tasks 300] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import time
from typing import Any

from observability_overhead import Sink

from conveyor import DAG, lineage
from conveyor.config import load_config
from conveyor.operators.python import PythonOperator
from conveyor.testing import run_dag


def _nothing() -> None:
    return None


def chain(dag_id: str, tasks: int) -> DAG:
    with DAG(dag_id, schedule=None) as dag:
        previous: Any = None
        for index in range(tasks):
            task = PythonOperator(task_id=f"t{index:04d}", python_callable=_nothing)
            if previous is not None:
                previous >> task
            previous = task
    return dag


def cpu_per_task(dag: DAG, tasks: int, *, lineage_on: bool = False) -> float:
    """This process's CPU a task for one run of ``dag``; with lineage, until every event it
    queued is sent."""
    started = time.process_time()
    result = run_dag(dag)
    if lineage_on:
        lineage.stop()  # sends what is still queued
    spent = time.process_time() - started
    if result.state != "success":
        raise SystemExit(f"the chain ended {result.state}")
    return spent / tasks


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    sink = Sink()
    transport = {"type": "http", "url": f"http://127.0.0.1:{sink.port}", "endpoint": "lineage"}
    settings = load_config({}, openlineage_transport=json.dumps(transport)).settings
    found: dict[str, list[float]] = {"off": [], "on": []}
    try:
        cpu_per_task(chain("warm", 20), 20)  # the first run imports what every run uses
        for round_ in range(args.rounds):
            order = ["off", "on"] if round_ % 2 == 0 else ["on", "off"]
            for case in order:
                if case == "on":
                    lineage.start(settings)  # the try runner's own start keeps it registered
                dag = chain(f"chain_{case}_{round_}", args.tasks)
                spent = cpu_per_task(dag, args.tasks, lineage_on=case == "on")
                found[case].append(spent)
                print(f"round {round_ + 1} {case:>3}: {spent * 1000:.2f} ms of CPU a task")
    finally:
        received = sink.received
        sink.close()
    off, on = statistics.median(found["off"]), statistics.median(found["on"])
    print(
        f"\nchain of {args.tasks}, medians of {args.rounds} rounds: off {off * 1000:.2f} ms, "
        f"on {on * 1000:.2f} ms of CPU a task; lineage {(on - off) * 1000:.2f} ms a task "
        f"({on / off:.2f} of off); {received} events received"
    )


if __name__ == "__main__":
    main()
