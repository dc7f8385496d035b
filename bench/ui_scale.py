"""The pages an Airflow user works in every day, at size: the DAG list of 1,000 DAGs, and the
grid, the graph (fitted to the window) and a task page of a 1,000-task DAG with 50 runs.

A fresh SQLite store (``--pg-url``: also a scratch PostgreSQL database) gets ``--dags`` small
DAGs (3 tasks each, 2,000 finished runs over the first 100, as ``ui_lists.py`` makes them)
and one DAG of ``--tasks`` tasks (a start, two fan-outs with a task between them, an end),
parsed by the real file processor, with ``--runs`` finished runs of it written in bulk (every
task instance success, but for one failed task in the newest run). A real ``conveyor web``
serves it; headless chromium (Debian's) then opens each page ``--samples`` times (default 9)
and this prints, for each page, the time from navigation start to its content drawn, as the
page's own clock (``performance.now()``) reads it when the content first appears, its median
and p95, the HTML's size and the server's time to answer it, and the machine's load average
(1 min) while the samples were taken. The target is 1 s.

    .venv/bin/python bench/ui_scale.py
    .venv/bin/python bench/ui_scale.py --samples 15 --pg-url postgresql://postgres@127.0.0.1:5432/postgres
    .venv/bin/python bench/ui_scale.py --screenshots /tmp/ui_scale   # a PNG of each page

"Content drawn", per page: the DAG list's rows; the graph fitted, with every node drawn; the
Durations tab's first bar (60 runs); the task page's state badge. The grid is visited as a
user would, each step as soon as the one before is done, each timed from navigation start:
its first rows on screen (the frame they were drawn in, as the page notes it), a click on a
square there answered (its details shown), a scroll to the bottom with the last row's
squares drawn (also timed from the scroll: "scroll to drawn"), and a click there answered.
"browser" is chromium's main-thread time for the page up to that point (scripts, style,
layout, paint: its own work, not waiting for the server), "cpu" the web process's CPU per
HTML answer: both grow far less than wall time on a loaded machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Connection, create_engine, insert, select, text

sys.path.insert(0, str(Path(__file__).parent))
from ui_lists import DAGS_FILE, PASSWORD, _insert_runs, _port, login, serve

from conveyor.loading.processor import DagFileProcessor
from conveyor.store import schema
from conveyor.store.engine import Store
from conveyor.store.tables import dag, dag_run, task_instance
from conveyor.web import accounts

CHROMIUM = "/usr/bin/chromium"
BIG = "big_dag"

BIG_FILE = """
from conveyor import DAG, EmptyOperator

with DAG("big_dag", schedule=None, tags=["bench"]):
    start = EmptyOperator(task_id="start")
    middle = EmptyOperator(task_id="middle")
    end = EmptyOperator(task_id="end")
    for number in range({half}):
        start >> EmptyOperator(task_id=f"extract_{{number:04d}}") >> middle
    for number in range({rest}):
        middle >> EmptyOperator(task_id=f"load_{{number:04d}}") >> end
"""


def big_task_ids(tasks: int) -> list[str]:
    half = (tasks - 3) // 2
    rest = tasks - 3 - half
    return [
        "start",
        "middle",
        "end",
        *(f"extract_{n:04d}" for n in range(half)),
        *(f"load_{n:04d}" for n in range(rest)),
    ]


def build(url: str, folder: Path, dags: int, tasks: int, runs: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "bench_dags.py").write_text(DAGS_FILE.format(n=dags))
    half = (tasks - 3) // 2
    (folder / "big_dag.py").write_text(BIG_FILE.format(half=half, rest=tasks - 3 - half))
    store = Store(url)
    schema.migrate(store)
    started = time.monotonic()
    DagFileProcessor(store, folder, timeout=600, scan_every=1, paused_at_creation=False).sync()
    print(f"  {dags} DAGs and a {tasks}-task DAG parsed in {time.monotonic() - started:.1f} s")
    accounts.create_user(store, "bench", "op", PASSWORD)
    started = time.monotonic()
    with store.write() as conn:
        _insert_runs(conn, dags, 2000)
        _insert_big_runs(conn, tasks, runs)
    store.dispose()
    print(f"  runs written in {time.monotonic() - started:.1f} s")


def _insert_big_runs(conn: Connection, tasks: int, runs: int) -> None:
    """``runs`` finished runs of the big DAG a day apart, every task instance success but
    one failed task (and the end, upstream_failed) in the newest."""
    version = conn.execute(select(dag.c.version_hash).where(dag.c.dag_id == BIG)).scalar_one()
    first = datetime(2026, 1, 1, tzinfo=UTC)
    ids = big_task_ids(tasks)
    for number in range(runs):
        moment = first + timedelta(days=number)
        newest = number == runs - 1
        run_id = f"big_{number:03d}"
        run_pk = conn.execute(
            insert(dag_run).values(
                dag_id=BIG,
                run_id=run_id,
                run_type="manual",
                state="failed" if newest else "success",
                logical_date=moment,
                data_interval_start=moment,
                data_interval_end=moment,
                conf={},
                version_hash=version,
                created_by="bench",
                queued_at=moment,
                start_date=moment,
                end_date=moment + timedelta(minutes=10),
            )
        ).inserted_primary_key[0]
        rows = []
        for task_id in ids:
            state = "success"
            if newest and task_id == "load_0007":
                state = "failed"
            elif newest and task_id == "end":
                state = "upstream_failed"
            rows.append(
                {
                    "run_pk": run_pk,
                    "dag_id": BIG,
                    "run_id": run_id,
                    "task_id": task_id,
                    "state": state,
                    "try_number": 1,
                    "max_tries": 1,
                    "queue": "default",
                    "start_date": moment,
                    "end_date": moment + timedelta(seconds=30),
                    "updated_at": moment,
                    "map_index": -1,
                }
            )
        conn.execute(insert(task_instance), rows)


def pages(tasks: int, runs: int) -> dict[str, tuple[str, str | None]]:
    """label -> (path, a JavaScript expression true once the page's content is drawn; None
    for the grid, visited step by step: grid_visit)."""
    newest = f"big_{runs - 1:03d}"
    nodes = f"document.querySelectorAll('#graph g.node').length >= {tasks}"
    return {
        "DAG list (/)": ("/", "document.querySelector('#dag-rows tr[data-dag-id]')"),
        "grid 25": (f"/dags/{BIG}", None),
        "grid 50": (f"/dags/{BIG}?runs=50", None),
        "graph, fitted": (
            f"/dags/{BIG}/graph",
            f"document.querySelector('#graph[data-fitted=\"true\"]') && {nodes}",
        ),
        "durations": (f"/dags/{BIG}/durations", "document.querySelector('#durations rect.dur')"),
        "task page": (
            f"/dags/{BIG}/runs/{newest}/tasks/load_0007",
            "document.querySelector('#ti-state [data-state]')",
        ),
    }


# A visit to the big grid as a user makes it, each step as soon as the one before is done:
# the first rows on screen, a click on one of their squares answered (its details shown),
# a scroll to the bottom with the last row's squares drawn, a click there answered. Each
# figure is the time from navigation start, so a step that waits for the page (a click
# queued behind drawing) shows it; "scroll to drawn" is the time from the scroll to the last
# row drawn, with chromium's main-thread time in between.
GRID_STEPS = (
    "on screen",
    "a click answered",
    "last row drawn",
    "scroll to drawn",
    "last row clicked",
)


def _until(page: Any, expression: str) -> float:
    """Seconds from navigation start to the frame in which ``expression`` is first true (a
    number it gives: that time, as the page noted it)."""
    return float(
        page.wait_for_function(
            f"() => {{ const v = ({expression}); "
            "return v ? (typeof v === 'number' ? v : performance.now()) : false; }",
            timeout=60_000,
        ).json_value()
        / 1000
    )


def click(page: Any, selector: str) -> None:
    """A click at the middle of the element, as a pointer gives it (no wait for it to be
    still, as ``page.click`` makes: that is the step's figure to take)."""
    box = page.locator(selector).first.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


def grid_visit(page: Any, cdp: Any, url: str, tasks: int, runs: int) -> list[tuple[float, float]]:
    """(seconds from navigation start, chromium's main-thread seconds so far) at each of
    GRID_STEPS; for "scroll to drawn", both from the scroll."""
    square = '#grid .cell[data-task-id="{}"]'  # the oldest run's: the grid's left
    details = "document.getElementById('details-body').textContent.includes('{}')"
    found = []
    page.goto(url, wait_until="commit")
    near = big_task_ids(tasks)[5]
    # the frame the grid's first rows were drawn in, as the page noted it (grid.js)
    found.append(
        _until(
            page,
            f"document.querySelector('{square.format(near)}') && "
            "Number(document.getElementById('grid').dataset.shownAt || 0)",
        )
    )
    found.append(main_thread(cdp))
    click(page, square.format(near))
    found += [_until(page, details.format(near)), main_thread(cdp)]
    # the grid's last row: its rows are the DAG's tasks in order (the bench DAG has no groups)
    last = page.evaluate("document.getElementById('grid').gridData.tasks.at(-1).task_id")
    before = main_thread(cdp)
    scrolled = page.evaluate(
        "() => { window.scrollTo(0, document.documentElement.scrollHeight); "
        "return performance.now() / 1000; }"
    )
    found += [_until(page, f"document.querySelector('{square.format(last)}')"), main_thread(cdp)]
    found += [found[-2] - scrolled, found[-1] - before]
    click(page, square.format(last))
    found += [_until(page, details.format(last)), main_thread(cdp)]
    return list(zip(found[::2], found[1::2], strict=True))


def loadavg() -> float:
    return os.getloadavg()[0]


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) the process has used so far: unlike wall time, it does not
    grow with the other work on a shared machine."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_times(
    base: str, asks: dict[str, tuple[str, str | None]], samples: int, pid: int
) -> dict[str, str]:
    """Each page's HTML: the server's wall time to answer (median), the web process's CPU
    per answer (mean over the samples) and the HTML's size."""
    found = {}
    with httpx.Client(base_url=base, follow_redirects=True, timeout=60) as client:
        login(client)
        for label, (path, _) in asks.items():
            took = []
            size = 0
            client.get(path)
            cpu = cpu_seconds(pid)
            for _ in range(samples):
                started = time.perf_counter()
                response = client.get(path)
                took.append(time.perf_counter() - started)
                size = len(response.content)
                if response.status_code != 200:
                    raise RuntimeError(f"{path}: {response.status_code}")
            per = (cpu_seconds(pid) - cpu) / samples
            found[label] = (
                f"{statistics.median(took) * 1000:>5.0f} ms {per * 1000:>5.0f} ms "
                f"{size / 1024:>6.0f} KiB"
            )
        grid = client.get(f"/api/v1/dags/{BIG}/grid?limit=25")
        compact = client.get(f"/api/v1/dags/{BIG}/grid?limit=25&compact=true")
        found["API grid, 25 runs"] = (
            f"{len(grid.content) / 1024:.0f} KiB, compact (as the pages ask) "
            f"{len(compact.content) / 1024:.0f} KiB"
        )
    return found


def main_thread(cdp: Any) -> float:
    """Seconds chromium's renderer main thread has spent on tasks (scripts, style, layout,
    paint) for the page's document so far: its own work, apart from waiting for the server."""
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    return float(metrics.get("TaskDuration", 0.0))


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def page_visit(page: Any, cdp: Any, url: str, drawn: str) -> list[tuple[float, float]]:
    """(seconds from navigation start to the content drawn, chromium's main-thread seconds)."""
    page.goto(url, wait_until="commit")
    return [(_until(page, drawn), main_thread(cdp))]


def step_labels(label: str, drawn: str | None) -> list[str]:
    return [label] if drawn is not None else [f"{label}, {step}" for step in GRID_STEPS]


def browser_times(
    base: str, asks: dict[str, tuple[str, str | None]], args: argparse.Namespace
) -> dict[str, str]:
    from playwright.sync_api import sync_playwright

    found = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(f"{base}/login")
        page.fill("#username", "bench")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector("#dag-table")
        cdp = page.context.new_cdp_session(page)
        cdp.send("Performance.enable")
        for label, (path, drawn) in asks.items():
            visits, loads = [], []
            for _ in range(args.samples + 1):  # the first warms chromium's cache of the scripts
                loads.append(loadavg())
                if drawn is None:
                    visits.append(grid_visit(page, cdp, f"{base}{path}", args.tasks, args.runs))
                else:
                    visits.append(page_visit(page, cdp, f"{base}{path}", drawn))
            visits, loads = visits[1:], loads[1:]
            for number, name in enumerate(step_labels(label, drawn)):
                took = [visit[number][0] for visit in visits]
                busy = [visit[number][1] for visit in visits]  # counted again for each document
                found[name] = (
                    f"{statistics.median(took):>6.2f} s {p95(took):>6.2f} s "
                    f"{min(took):>6.2f} s {statistics.median(busy):>6.2f} s   "
                    f"{min(loads):>4.1f}-{max(loads):<4.1f}"
                )
            if args.screenshots is not None:
                args.screenshots.mkdir(parents=True, exist_ok=True)
                name = "".join(c if c.isalnum() else "_" for c in label)
                page.screenshot(path=str(args.screenshots / f"{name}.png"))
        page.goto("about:blank")
        browser.close()
    return found


def bench(url: str, label: str, args: argparse.Namespace) -> None:
    cores = os.cpu_count()
    print(f"{label}: {args.dags} DAGs, a {args.tasks}-task DAG, {args.runs} runs, {cores} cores")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        build(url, root / "dags", args.dags, args.tasks, args.runs)
        env = {
            **os.environ,
            "CONVEYOR_HOME": str(root / "home"),
            "CONVEYOR_DAGS_FOLDER": str(root / "dags"),
            "CONVEYOR_DAGS_ARE_PAUSED_AT_CREATION": "false",  # a bench runs its DAGs at once
            "CONVEYOR_DATABASE_URL": url,
        }
        port = _port()
        web = serve(env, port)
        try:
            base = f"http://127.0.0.1:{port}"
            asks = pages(args.tasks, args.runs)
            served = server_times(base, asks, 5, web.pid)
            drawn = browser_times(base, asks, args)
        finally:
            web.terminate()
            web.wait(timeout=15)
    print(
        f"  {'page':<28} {'median':>8} {'p95':>8} {'best':>8} {'browser':>8}   {'load':<9}"
        f"{'served':>8} {'cpu':>8} {'size':>10}"
    )
    for label, (_, expression) in asks.items():
        for number, name in enumerate(step_labels(label, expression)):
            print(f"  {name:<28} {drawn[name]}   {served[label] if number == 0 else ''}")
    print(f"  API grid, 25 runs of the {args.tasks}-task DAG: {served['API grid, 25 runs']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dags", type=int, default=1000)
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--samples", type=int, default=9)
    parser.add_argument("--screenshots", type=Path, help="a folder for a PNG of each page")
    parser.add_argument("--pg-url", help="a PostgreSQL server for a scratch database too")
    parser.add_argument(
        "--also",
        default="300:22",
        help="TASKS:RUNS of a second big DAG, measured first in the same run ('' for none)",
    )
    args = parser.parse_args()
    sizes = [tuple(int(n) for n in args.also.split(":"))] if args.also else []
    for tasks, runs in [*sizes, (args.tasks, args.runs)]:
        sized = argparse.Namespace(**{**vars(args), "tasks": tasks, "runs": runs})
        with tempfile.TemporaryDirectory() as tmp:
            bench(f"sqlite:///{tmp}/bench.db", "SQLite", sized)
    if args.pg_url:
        name = f"conveyor_bench_ui_scale_{os.getpid()}"
        admin = create_engine(args.pg_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))
        url = args.pg_url.rsplit("/", 1)[0] + f"/{name}"
        try:
            bench(url, "PostgreSQL", args)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            admin.dispose()


if __name__ == "__main__":
    main()
