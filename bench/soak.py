"""Soak test: does any long-running Conveyor process grow in memory over an hour?

Starts two real clusters side by side, each with its own home, PostgreSQL database, Redis
database number and queue name:

- ``idle``: DAGs present but unscheduled, so the scheduler and workers only loop and beat;
- ``busy``: a small DAG (a Python task and a shell task) scheduled every minute.

Each cluster is ``conveyor scheduler``, two ``conveyor worker`` processes (Celery executor)
and, when the command exists, ``conveyor web``. Every ``--interval`` seconds the script
records each process's proportional set size (PSS, from ``/proc/PID/smaps_rollup``) with and
without its descendants (pool children, tries), and the main process's private memory (USS;
PSS moves when other processes start or stop sharing pages, USS does not) as JSON lines. At
the end it prints, per process, the first, last and largest figure and the slope in MiB/hour
fitted by least squares over the second half of the samples (the first half includes warm-up:
imports, caches, pools).

    .venv/bin/python bench/soak.py --minutes 60 --out /tmp/soak
    .venv/bin/python bench/soak.py --summarize /tmp/soak/samples.jsonl   # figures so far

The databases ``conveyor_soak_idle`` and ``conveyor_soak_busy`` (``--db-prefix``) are dropped
and created again at the start: point ``--pg-url`` only at a server where that is fine.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

CONVEYOR = str(Path(sys.executable).parent / "conveyor")
MIB = 1024.0

IDLE_DAGS = """
from datetime import datetime
from conveyor import DAG, BashOperator, PythonOperator

def noop():
    return None

for n in range(5):
    with DAG(f"soak_idle_{{n}}", schedule=None, start_date=datetime(2024, 1, 1)):
        a = PythonOperator(task_id="a", python_callable=noop, queue="{queue}")
        b = BashOperator(task_id="b", bash_command="true", queue="{queue}")
        a >> b
"""

BUSY_DAG = """
from datetime import datetime
from conveyor import DAG, BashOperator, PythonOperator

def produce():
    return {{"rows": list(range(100))}}

with DAG("soak_busy", schedule="* * * * *", start_date=datetime(2024, 1, 1), catchup=False):
    a = PythonOperator(task_id="produce", python_callable=produce, queue="{queue}")
    b = BashOperator(task_id="shell", bash_command="echo soak; sleep 1", queue="{queue}")
    c = PythonOperator(task_id="again", python_callable=produce, queue="{queue}")
    a >> b >> c
"""


@dataclass
class Cluster:
    name: str
    root: Path
    database_url: str
    broker_url: str
    queue: str
    dag_source: str
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    web_port: int | None = None

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "CONVEYOR_HOME": str(self.root / "home"),
            "CONVEYOR_DAGS_FOLDER": str(self.root / "dags"),
            "CONVEYOR_DAGS_ARE_PAUSED_AT_CREATION": "false",  # a bench runs its DAGs at once
            "CONVEYOR_DATABASE_URL": self.database_url,
            "CONVEYOR_BROKER_URL": self.broker_url,
            "CONVEYOR_EXECUTOR": "celery",
        }

    def start(self, command: list[str], label: str) -> None:
        log = (self.root / f"{label}.log").open("ab")
        self.processes[label] = subprocess.Popen(
            [CONVEYOR, *command], env=self.env, stdout=log, stderr=subprocess.STDOUT
        )


def recreate_database(pg_url: str, name: str) -> str:
    base = pg_url.rstrip("/").rsplit("/", 1)[0] if pg_url.count("/") > 2 else pg_url
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{base}/{name}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def has_web_command() -> bool:
    """Whether this tree has ``conveyor web`` (with --port) yet."""
    shown = subprocess.run([CONVEYOR, "web", "--help"], capture_output=True, text=True)
    return shown.returncode == 0 and "--port" in shown.stdout


def poll_web(port: int) -> None:
    """What a monitoring system does to the web process: /health and /metrics."""
    for path in ("/health", "/metrics"):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as reply:
                reply.read()
        except OSError:
            pass  # 503 from /health is an answer too; a failure shows in the web's log


def start_cluster(cluster: Cluster, web: bool) -> None:
    (cluster.root / "dags").mkdir(parents=True, exist_ok=True)
    (cluster.root / "home").mkdir(parents=True, exist_ok=True)
    (cluster.root / "dags" / f"{cluster.name}.py").write_text(
        cluster.dag_source.format(queue=cluster.queue)
    )
    subprocess.run([CONVEYOR, "db", "migrate"], env=cluster.env, check=True)
    cluster.start(["scheduler"], "scheduler")
    for n in (1, 2):
        cluster.start(
            ["worker", "-q", cluster.queue, "-c", "2", "-n", f"soak-{cluster.name}-{n}@%h"],
            f"worker{n}",
        )
    if web:
        cluster.web_port = free_port()
        cluster.start(["web", "--host", "127.0.0.1", "--port", str(cluster.web_port)], "web")


# ---- memory ---------------------------------------------------------------------------


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = defaultdict(list)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may contain spaces and parentheses: split after the last ')'.
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children[ppid].append(int(entry.name))
    return children


def _descendants(pid: int, children: dict[int, list[int]]) -> list[int]:
    found, stack = [], [pid]
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(children.get(current, []))
    return found


def rollup_kib(pid: int, *fields: str) -> int:
    """The sum of these fields of /proc/PID/smaps_rollup, in KiB (0 if the process ended)."""
    total = 0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            name = line.split(":", 1)[0]
            if name in fields:
                total += int(line.split()[1])
    except (OSError, ValueError):
        return 0  # the process ended between listing and reading
    return total


def pss_kib(pid: int) -> int:
    return rollup_kib(pid, "Pss")


def uss_kib(pid: int) -> int:
    """Memory only this process uses: unaffected by other processes sharing pages."""
    return rollup_kib(pid, "Private_Clean", "Private_Dirty")


def run_counts(database_url: str) -> dict[str, int]:
    try:
        with psycopg.connect(database_url, connect_timeout=5) as conn:
            rows = conn.execute("SELECT state, count(*) FROM dag_run GROUP BY state").fetchall()
    except psycopg.Error:
        return {}
    return {str(state): int(count) for state, count in rows}


def sample(clusters: list[Cluster], started: float, out: Any) -> None:
    children = _children_map()
    now = datetime.now(UTC).isoformat(timespec="seconds")
    for cluster in clusters:
        runs = run_counts(cluster.database_url)
        if cluster.web_port is not None:
            for _ in range(4):  # a scrape every ~10 s at the default interval
                poll_web(cluster.web_port)
        for label, proc in cluster.processes.items():
            tree = _descendants(proc.pid, children)
            record = {
                "time": now,
                "elapsed_s": round(time.monotonic() - started, 1),
                "scenario": cluster.name,
                "process": label,
                "pid": proc.pid,
                "alive": proc.poll() is None,
                "pss_kib": sum(pss_kib(pid) for pid in tree),
                "pss_main_kib": pss_kib(proc.pid),
                "uss_main_kib": uss_kib(proc.pid),
                "nproc": len(tree),
                "runs": runs,
            }
            out.write(json.dumps(record) + "\n")
    out.flush()


# ---- summary --------------------------------------------------------------------------


def slope_per_hour(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MiB), in MiB per hour."""
    if len(points) < 2:
        return 0.0
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    var = sum((x - mean_x) ** 2 for x, _ in points)
    if var == 0:
        return 0.0
    cov = sum((x - mean_x) * (y - mean_y) for x, y in points)
    return cov / var * 3600


def _uss(records: list[dict[str, Any]], half: int) -> str:
    if "uss_main_kib" not in records[0]:
        return "not recorded"
    uss = [(r["elapsed_s"], r["uss_main_kib"] / MIB) for r in records]
    return f"{uss[0][1]:.1f} / {uss[-1][1]:.1f}, {slope_per_hour(uss[half:]):+.2f}/h"


def summarize(path: Path) -> str:
    series: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    runs: dict[str, dict[str, int]] = {}
    for line in path.read_text().splitlines():
        record = json.loads(line)
        series[(record["scenario"], record["process"])].append(record)
        runs[record["scenario"]] = record.get("runs", {})
    lines = [
        "| scenario | process | samples | minutes | start MiB | end MiB | max MiB "
        "| slope, 2nd half (MiB/h) | main process only: start / end MiB, slope "
        "| main process private (USS): start / end MiB, slope |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for (scenario, process), records in sorted(series.items()):
        records = [r for r in records if r["alive"]]
        if not records:
            lines.append(f"| {scenario} | {process} | 0 | | | | | | process died |")
            continue
        tree = [(r["elapsed_s"], r["pss_kib"] / MIB) for r in records]
        main = [(r["elapsed_s"], r["pss_main_kib"] / MIB) for r in records]
        half = len(records) // 2
        minutes = (records[-1]["elapsed_s"] - records[0]["elapsed_s"]) / 60
        lines.append(
            f"| {scenario} | {process} | {len(records)} | {minutes:.0f} "
            f"| {tree[0][1]:.1f} | {tree[-1][1]:.1f} | {max(y for _, y in tree):.1f} "
            f"| {slope_per_hour(tree[half:]):+.2f} "
            f"| {main[0][1]:.1f} / {main[-1][1]:.1f}, {slope_per_hour(main[half:]):+.2f}/h "
            f"| {_uss(records, half)} |"
        )
    for scenario, counts in sorted(runs.items()):
        lines.append(f"\n{scenario}: runs by state at the last sample: {counts or 'none'}")
    return "\n".join(lines)


# ---- main -----------------------------------------------------------------------------


def stop(clusters: list[Cluster], grace: float = 60.0) -> dict[str, int | None]:
    codes: dict[str, int | None] = {}
    for cluster in clusters:
        for proc in cluster.processes.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for cluster in clusters:
        for label, proc in cluster.processes.items():
            try:
                codes[f"{cluster.name}/{label}"] = proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                codes[f"{cluster.name}/{label}"] = None  # did not stop on SIGTERM
    return codes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=60)
    parser.add_argument("--interval", type=float, default=30, help="seconds between samples")
    parser.add_argument("--out", type=Path, default=Path("/tmp/soak"))
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379")
    parser.add_argument("--redis-dbs", default="13,14", help="Redis DB numbers: idle,busy")
    parser.add_argument("--no-web", action="store_true", help="do not start `conveyor web`")
    parser.add_argument("--scenarios", default="idle,busy", help="idle, busy or both")
    parser.add_argument(
        "--db-prefix",
        default="conveyor_soak",
        help="databases PREFIX_idle and PREFIX_busy (dropped first); also the queue names",
    )
    parser.add_argument("--summarize", type=Path, help="only summarize this samples file")
    args = parser.parse_args()
    if args.summarize:
        print(summarize(args.summarize))
        return

    args.out.mkdir(parents=True, exist_ok=True)
    sources = {"idle": IDLE_DAGS, "busy": BUSY_DAG}
    names = [n.strip() for n in args.scenarios.split(",") if n.strip()]
    dbs = args.redis_dbs.split(",")
    if any(n not in sources for n in names) or len(dbs) < len(names):
        parser.error("--scenarios: idle and/or busy, with one --redis-dbs number each")
    clusters = [
        Cluster(
            name,
            args.out / name,
            recreate_database(args.pg_url, f"{args.db_prefix}_{name}"),
            f"{args.redis}/{db}",
            f"{args.db_prefix}_{name}",
            sources[name],
        )
        for name, db in zip(names, dbs, strict=False)
    ]
    web = not args.no_web and has_web_command()
    print(f"conveyor web: {'started, /health and /metrics polled' if web else 'skipped'}")
    stopping = False

    def on_signal(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    samples_path = args.out / "samples.jsonl"
    try:
        for cluster in clusters:
            start_cluster(cluster, web)
        started = time.monotonic()
        end = started + args.minutes * 60
        with samples_path.open("w") as out:
            while not stopping and time.monotonic() < end:
                sample(clusters, started, out)
                next_at = min(end, time.monotonic() + args.interval)
                while not stopping and time.monotonic() < next_at:
                    time.sleep(0.5)
            sample(clusters, started, out)
    finally:
        codes = stop(clusters)
    print(f"samples: {samples_path}")
    print(summarize(samples_path))
    print("\nexit codes after SIGTERM (None: killed after 60 s):", json.dumps(codes))


if __name__ == "__main__":
    main()
