"""``task_state_store`` (Airflow 3.3): a value a task instance sets survives into its retry,
in a sync task, an async one (``aget``/``aset``) and each instance of a mapped task apart;
run with ``conveyor run`` in a fresh home. A state backend Conveyor does not have is refused
at the first use."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CLI = str(Path(sys.executable).parent / "conveyor")

DAG_FILE = """
import asyncio
from datetime import datetime

from airflow.sdk import DAG, task
from airflow.sdk.execution_time.context import NEVER_EXPIRE

with DAG("state_store", schedule=None, start_date=datetime(2026, 1, 1)):

    @task(retries=2, retry_delay=0)
    def job(task_state_store=None, ti=None):
        seen = task_state_store.get("seen", default=[])
        seen.append(ti.try_number)
        task_state_store.set("seen", seen, retention=NEVER_EXPIRE)
        if ti.try_number < 3:
            raise RuntimeError(f"try {ti.try_number} fails")
        print("seen by the last try:", seen)
        task_state_store.delete("seen")
        assert task_state_store.get("seen") is None

    @task(retries=1, retry_delay=0)
    async def ajob(task_state_store=None, ti=None):
        count = await task_state_store.aget("count", default=0)
        await task_state_store.aset("count", count + 1)
        await asyncio.sleep(0)
        if ti.try_number == 1:
            raise RuntimeError("the first try fails")
        print("count on the retry:", count + 1)

    @task
    def mapped(x, task_state_store=None, ti=None):
        assert task_state_store.get("x") is None  # another instance's value is not this one's
        task_state_store.set("x", x * 10)
        print(f"instance {ti.map_index} keeps", task_state_store.get("x"))

    job()
    ajob()
    mapped.expand(x=[1, 2])
"""


def test_a_tasks_state_outlives_its_failed_tries(tmp_path: Path) -> None:
    (tmp_path / "dags").mkdir()
    path = tmp_path / "dags" / "state_store.py"
    path.write_text(DAG_FILE)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONVEYOR_", "AIRFLOW"))}
    env["CONVEYOR_HOME"] = str(tmp_path / "home")
    done = subprocess.run(
        [CLI, "run", str(path)], env=env, capture_output=True, text=True, timeout=180, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    logs = {p.parent.name + p.name: p.read_text() for p in (tmp_path / "home").rglob("try-*.log")}
    text = "\n".join(logs.values())
    assert "seen by the last try: [1, 2, 3]" in text
    assert "count on the retry: 2" in text
    assert "instance 0 keeps 10" in text and "instance 1 keeps 20" in text


BACKEND_DAG = """
from datetime import datetime

from airflow.sdk import DAG, task

with DAG("state_backend", schedule=None, start_date=datetime(2026, 1, 1)):

    @task
    def job(task_state_store=None):
        task_state_store.set("k", 1)

    job()
"""


def test_a_state_backend_conveyor_does_not_have_is_refused_at_first_use(tmp_path: Path) -> None:
    (tmp_path / "dags").mkdir()
    path = tmp_path / "dags" / "state_backend.py"
    path.write_text(BACKEND_DAG)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONVEYOR_", "AIRFLOW"))}
    env["CONVEYOR_HOME"] = str(tmp_path / "home")
    env["AIRFLOW__WORKERS__STATE_STORE_BACKEND"] = "mypackage.state.S3StateBackend"
    done = subprocess.run(
        [CLI, "run", str(path)], env=env, capture_output=True, text=True, timeout=180, check=False
    )
    assert done.returncode != 0, done.stdout + done.stderr
    text = "\n".join(p.read_text() for p in (tmp_path / "home").rglob("try-*.log"))
    assert "[workers] state_store_backend = 'mypackage.state.S3StateBackend'" in text, text
    assert "keeps task and asset state in its store only" in text
