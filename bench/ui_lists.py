"""The DAG list at 1,000 DAGs and the runs and task-instances pages at 10,000 runs: how long
the server takes to answer them, and how long after navigation chromium shows the rows.

A fresh SQLite store (``--pg-url``: also a scratch PostgreSQL database) gets ``--dags`` DAGs
(default 1,000, 3 tasks each, parsed by the real file processor from one file) and ``--runs``
manual runs (default 10,000) spread over the first 100 of them, a tenth of them failed (their
last task failed, the run failed), the rest successful. Then a real ``conveyor web`` serves
it, and this measures:

- ``API``: the median and worst of ``--repeat`` (default 15) requests, as the pages ask them:
  the DAG list's first page (50), its 10th page, a search, the failed DAGs, sorted by last
  run; the runs page's first page, the failed runs of the last 24 h; the task instances'
  first page and the failed ones;
- ``page``: seconds from chromium's navigation to the rows drawn (50, all at once), for ``/`` (the
  DAG list, its first paint embedded), ``/?page=10``, ``/runs`` and ``/task-instances``
  (their rows come from the API after load); the median of 5 navigations. The target is 1 s.

    .venv/bin/python bench/ui_lists.py
    .venv/bin/python bench/ui_lists.py --dags 1000 --runs 10000 --pg-url postgresql://postgres@127.0.0.1:5432/postgres

Chromium: Debian's, at /usr/bin/chromium (``scripts/services.sh``: ``ensure_chromium``).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import Connection, create_engine, insert, select, text

from conveyor.loading.processor import DagFileProcessor
from conveyor.store import schema
from conveyor.store.engine import Store
from conveyor.store.tables import dag, dag_run, task_instance
from conveyor.web import accounts

CONVEYOR = str(Path(sys.executable).parent / "conveyor")
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "bench-secret-12"

DAGS_FILE = """
from conveyor import DAG, task

for number in range({n}):
    with DAG(f"dag_{{number:04d}}", schedule=None, tags=["bench", f"team_{{number % 10}}"]):

        @task
        def extract() -> int:
            return 1

        @task
        def transform(value: int) -> int:
            return value

        @task
        def load(value: int) -> None:
            print(value)

        load(transform(extract()))
"""


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def build(url: str, folder: Path, dags: int, runs: int) -> None:
    """The DAGs parsed into the store, the runs triggered and finished (a tenth failed)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "bench_dags.py").write_text(DAGS_FILE.format(n=dags))
    store = Store(url)
    schema.migrate(store)
    started = time.monotonic()
    DagFileProcessor(store, folder, timeout=600, scan_every=1, paused_at_creation=False).sync()
    print(f"  {dags} DAGs parsed in {time.monotonic() - started:.1f} s")
    accounts.create_user(store, "bench", "op", PASSWORD)
    started = time.monotonic()
    with store.write() as conn:
        _insert_runs(conn, dags, runs)
    store.dispose()
    print(f"  {runs} runs made in {time.monotonic() - started:.1f} s")


def _insert_runs(conn: Connection, dags: int, runs: int) -> None:
    """Finished runs as the scheduler leaves them, written in bulk (triggering 10,000 runs
    one by one would take longer than the rest): a tenth failed at their last task."""
    now = datetime.now(UTC)
    versions = dict(conn.execute(select(dag.c.dag_id, dag.c.version_hash)).all())
    rows = []
    for number in range(runs):
        dag_id = f"dag_{number % min(dags, 100):04d}"
        moment = now - timedelta(minutes=runs - number)
        rows.append(
            {
                "dag_id": dag_id,
                "run_id": f"bench_{number:06d}",
                "run_type": "manual",
                "state": "failed" if number % 10 == 0 else "success",
                "logical_date": moment,
                "data_interval_start": moment,
                "data_interval_end": moment,
                "conf": {},
                "version_hash": versions[dag_id],
                "created_by": "bench",
                "queued_at": moment,
                "start_date": moment,
                "end_date": moment + timedelta(seconds=30),
            }
        )
    conn.execute(insert(dag_run), rows)
    made = conn.execute(select(dag_run.c.id, dag_run.c.dag_id, dag_run.c.run_id, dag_run.c.state))
    instances = []
    for run in made:
        for task_id in ("extract", "transform", "load"):
            failed = run.state == "failed" and task_id == "load"
            instances.append(
                {
                    "run_pk": run.id,
                    "dag_id": run.dag_id,
                    "run_id": run.run_id,
                    "task_id": task_id,
                    "state": "failed" if failed else "success",
                    "try_number": 1,
                    "max_tries": 1,
                    "queue": "default",
                    "start_date": now - timedelta(minutes=5),
                    "end_date": now - timedelta(minutes=4),
                    "updated_at": now,
                    "map_index": -1,
                }
            )
    conn.execute(insert(task_instance), instances)


def serve(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    log = open(Path(env["CONVEYOR_HOME"]).parent / "web.log", "w")  # noqa: SIM115
    web = subprocess.Popen(
        [CONVEYOR, "web", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2):
                return web
        except OSError:
            time.sleep(0.2)
    web.kill()
    raise RuntimeError(f"conveyor web did not start within 180 s: {log.name}")


def login(client: httpx.Client) -> None:
    form = client.get("/login").text
    token = form.split('name="csrf_token" value="')[1].split('"')[0]
    response = client.post(
        "/login", data={"username": "bench", "password": PASSWORD, "csrf_token": token}
    )
    if response.status_code >= 400:
        raise RuntimeError(f"login failed: {response.status_code}")


def api_times(base: str, repeat: int) -> None:
    since = (datetime.now(UTC) - timedelta(hours=24)).strftime("%Y-%m-%dT%H:%M:%SZ")
    asks = {
        "dags, page 1 of 50": "/api/v1/dags?limit=50",
        "dags, page 10": "/api/v1/dags?limit=50&offset=450",
        "dags, search": "/api/v1/dags?limit=50&search=dag_09",
        "dags, failed": "/api/v1/dags?limit=50&state=failed",
        "dags, by last run": "/api/v1/dags?limit=50&order_by=-last_run",
        "runs, page 1": "/api/v1/runs?limit=50",
        "runs, failed 24 h": f"/api/v1/runs?limit=50&state=failed&end_date_gte={since}",
        "runs, page 100": "/api/v1/runs?limit=50&offset=4950&order_by=-logical_date",
        "task instances, page 1": "/api/v1/task-instances?limit=50",
        "task instances, failed": "/api/v1/task-instances?limit=50&state=failed",
    }
    with httpx.Client(base_url=base, follow_redirects=True, timeout=60) as client:
        login(client)
        print(f"  {'API request':<26} {'median':>8} {'worst':>8}")
        for label, path in asks.items():
            took = []
            for _ in range(repeat):
                started = time.perf_counter()
                response = client.get(path)
                took.append(time.perf_counter() - started)
                if response.status_code != 200:
                    raise RuntimeError(f"{path}: {response.status_code} {response.text[:200]}")
            median, worst = statistics.median(took) * 1000, max(took) * 1000
            print(f"  {label:<26} {median:>6.0f} ms {worst:>5.0f} ms")


def page_times(base: str) -> None:
    from playwright.sync_api import sync_playwright

    pages = {
        "/ (DAG list)": ("/", "#dag-rows tr[data-dag-id]"),
        "/?page=10": ("/?page=10", "#dag-rows tr[data-dag-id]"),
        "/runs": ("/runs", "#list-rows tr[data-run-id]"),
        "/task-instances": ("/task-instances", "#list-rows tr[data-task-id]"),
    }
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(f"{base}/login")
        page.fill("#username", "bench")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector("#dag-table")
        print(f"  {'page':<26} {'median':>8} {'worst':>8}   (navigation to the rows drawn)")
        for label, (path, rows) in pages.items():
            took = []
            for _ in range(5):
                started = time.perf_counter()
                page.goto(f"{base}{path}")
                page.locator(rows).first.wait_for(timeout=30_000)  # all rows come at once
                took.append(time.perf_counter() - started)
            print(f"  {label:<26} {statistics.median(took):>6.2f} s {max(took):>6.2f} s")
        browser.close()


def bench(url: str, label: str, dags: int, runs: int, repeat: int) -> None:
    print(f"{label}: {dags} DAGs, {runs} runs")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        build(url, root / "dags", dags, runs)
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
            api_times(base, repeat)
            page_times(base)
        finally:
            web.terminate()
            web.wait(timeout=15)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dags", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--pg-url", help="a PostgreSQL server for a scratch database too")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bench(f"sqlite:///{tmp}/bench.db", "SQLite", args.dags, args.runs, args.repeat)
    if args.pg_url:
        name = f"conveyor_bench_ui_{os.getpid()}"
        admin = create_engine(args.pg_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))
        url = args.pg_url.rsplit("/", 1)[0] + f"/{name}"
        try:
            bench(url, "PostgreSQL", args.dags, args.runs, args.repeat)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            admin.dispose()


if __name__ == "__main__":
    main()
