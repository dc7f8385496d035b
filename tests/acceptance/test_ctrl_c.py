"""Ctrl-C stops every long-running command within 5 s, whatever it is doing; a second one
stops it at once.

Each command runs as a real process in a group of its own, and the Ctrl-C goes to the whole
group as a terminal sends it. The time is measured until the command exited *and* its output
closed, since a child that keeps the pipe open keeps whoever reads it waiting too.
"""

from __future__ import annotations

import sqlite3
import subprocess
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import select

from celery_workers import REDIS_URL, require_redis, wait_for_worker
from cli_processes import CONVEYOR, CTRL_C_LIMIT_SECONDS, cli_env, cli_process
from conftest import make_settings
from conveyor.executors.celery_app import make_app
from conveyor.store.engine import Store
from conveyor.store.tables import task_instance

#: A task that runs until it is stopped, saying when it started.
NAPPING = """
    import time
    from conveyor import DAG, task

    with DAG("napping"):
        @task
        def nap():
            print("napping", flush=True)
            time.sleep(600)

        nap()
"""

#: A DAG file that works at import time for longer than anyone waits; it says when it began.
SLOW_TO_IMPORT = """
    import os
    import time
    from conveyor import DAG, task

    open(os.environ["TEST_IMPORT_BEGAN"], "w").close()
    time.sleep(600)

    with DAG("slow"):
        @task
        def never():
            pass

        never()
"""


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return cli_env(
        tmp_path,
        CONVEYOR_HEARTBEAT_SECONDS="0.5",
        TEST_IMPORT_BEGAN=str(tmp_path / "import-began"),
    )


def write_dag(env: dict[str, str], name: str, body: str) -> Path:
    path = Path(env["CONVEYOR_DAGS_FOLDER"]) / name
    path.write_text(textwrap.dedent(body))
    return path


def trigger(env: dict[str, str], dag_id: str) -> None:
    """Register the DAG folder and queue a manual run of ``dag_id``, with no scheduler."""
    result = subprocess.run(
        [CONVEYOR, "dags", "trigger", dag_id], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def wait_until_running(log_folder: Path, timeout: float) -> None:
    """Wait until a try's log says the task is napping: the try is running user code."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for log in log_folder.rglob("*.log"):
            if "napping" in log.read_text(errors="replace"):
                return
        time.sleep(0.1)
    raise AssertionError(f"no try started napping within {timeout:g}s")


def test_ctrl_c_stops_conveyor_run_while_a_try_runs(env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "napping.py"
    path.write_text(textwrap.dedent(NAPPING))
    with cli_process(["run", str(path)], env) as run:
        run.wait_for_line(r"nap running", timeout=60)
        wait_until_running(Path(env["CONVEYOR_HOME"]) / "logs", timeout=30)
        took = run.seconds_to_end(run.ctrl_c(), limit=30)
        assert took < CTRL_C_LIMIT_SECONDS, run.output
        assert run.returncode == 130, run.output
        assert "stopped by Ctrl-C" in run.output
        assert "Traceback" not in run.output


def test_ctrl_c_stops_conveyor_run_while_its_dag_file_is_imported(
    env: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "slow.py"
    path.write_text(textwrap.dedent(SLOW_TO_IMPORT))
    with cli_process(["run", str(path)], env) as run:
        _wait_for_the_import(env, timeout=60)
        took = run.seconds_to_end(run.ctrl_c(), limit=30)
        assert took < CTRL_C_LIMIT_SECONDS, run.output
        assert run.returncode == 130, run.output


def test_ctrl_c_stops_the_scheduler_while_a_dag_file_is_imported_and_a_try_runs(
    env: dict[str, str],
) -> None:
    write_dag(env, "napping.py", NAPPING)
    trigger(env, "napping")
    with cli_process(["scheduler"], env) as scheduler:
        wait_until_running(Path(env["CONVEYOR_HOME"]) / "logs", timeout=60)
        write_dag(env, "slow.py", SLOW_TO_IMPORT)  # found within a scan: parsed from now on
        _wait_for_the_import(env, timeout=30)
        took = scheduler.seconds_to_end(scheduler.ctrl_c(), limit=30)
        assert took < CTRL_C_LIMIT_SECONDS, scheduler.output
        assert scheduler.returncode == 0, scheduler.output
        assert "scheduler stopped" in scheduler.output


def test_ctrl_c_stops_standalone_while_a_try_runs(env: dict[str, str]) -> None:
    write_dag(env, "napping.py", NAPPING)
    trigger(env, "napping")
    with cli_process(["standalone", "--port", "0"], env) as standalone:
        wait_until_running(Path(env["CONVEYOR_HOME"]) / "logs", timeout=60)
        took = standalone.seconds_to_end(standalone.ctrl_c(), limit=30)
        assert took < CTRL_C_LIMIT_SECONDS, standalone.output
        assert standalone.returncode == 0, standalone.output


@contextmanager
def store_locked_by_another_process(env: dict[str, str]) -> Iterator[None]:
    """SQLite's write lock held by another process: a scheduler's stop waits for it (up to
    the busy timeout, 30 s) in a C call, where no Python signal handler runs."""
    holder = sqlite3.connect(Path(env["CONVEYOR_HOME"]) / "conveyor.db", timeout=30)
    try:
        holder.execute("BEGIN IMMEDIATE")
        yield
    finally:
        holder.close()


def test_ctrl_c_stops_a_scheduler_within_the_limit_even_while_the_store_is_locked(
    env: dict[str, str],
) -> None:
    write_dag(env, "napping.py", NAPPING)
    trigger(env, "napping")
    with cli_process(["scheduler"], env) as scheduler:
        wait_until_running(Path(env["CONVEYOR_HOME"]) / "logs", timeout=60)
        with store_locked_by_another_process(env):
            took = scheduler.seconds_to_end(scheduler.ctrl_c(), limit=30)
        assert took < CTRL_C_LIMIT_SECONDS, scheduler.output
        assert scheduler.returncode == 130, scheduler.output
        assert "not stopped 4s after Ctrl-C; stopped at once" in scheduler.output


def test_a_second_ctrl_c_stops_at_once(env: dict[str, str]) -> None:
    write_dag(env, "napping.py", NAPPING)
    trigger(env, "napping")
    with cli_process(["scheduler"], env) as scheduler:
        wait_until_running(Path(env["CONVEYOR_HOME"]) / "logs", timeout=60)
        with store_locked_by_another_process(env):
            scheduler.ctrl_c()
            time.sleep(1.5)
            assert scheduler.returncode is None, scheduler.output  # the stop is waiting
            took = scheduler.seconds_to_end(scheduler.ctrl_c(), limit=30)
        assert took < 1.5, scheduler.output
        assert scheduler.returncode == 130, scheduler.output
        assert "second Ctrl-C: stopped at once" in scheduler.output


@pytest.fixture
def celery_env(env: dict[str, str], pg_database_url: str) -> Iterator[dict[str, str]]:
    require_redis()
    broker = f"{REDIS_URL}/11"
    yield {
        **env,
        "CONVEYOR_DATABASE_URL": pg_database_url,
        "CONVEYOR_EXECUTOR": "celery",
        "CONVEYOR_BROKER_URL": broker,
        # A SIGTERM would give tries this long; a Ctrl-C must not wait for it.
        "CONVEYOR_KILL_GRACE_SECONDS": "30",
    }


@pytest.mark.postgres
def test_ctrl_c_stops_a_celery_worker_while_a_try_runs(
    celery_env: dict[str, str], tmp_path: Path, pg_database_url: str
) -> None:
    make_app(
        make_settings(tmp_path, tmp_path, "sqlite://", broker_url=celery_env["CONVEYOR_BROKER_URL"])
    ).control.purge()  # messages an earlier test left behind
    write_dag(celery_env, "napping.py", NAPPING)
    trigger(celery_env, "napping")
    with (
        cli_process(
            ["worker", "-q", "default", "-c", "1", "-n", "ctrlc@test"], celery_env
        ) as worker,
        cli_process(["scheduler"], celery_env),
    ):
        wait_for_worker(pg_database_url, "ctrlc@test")
        wait_until_running(Path(celery_env["CONVEYOR_HOME"]) / "logs", timeout=60)
        took = worker.seconds_to_end(worker.ctrl_c(), limit=30)
        assert took < CTRL_C_LIMIT_SECONDS, worker.output
    store = Store(pg_database_url)
    try:
        with store.read() as conn:
            state = conn.execute(select(task_instance.c.state)).scalar_one()
    finally:
        store.dispose()
    assert state != "running"  # handed back, not left for the zombie check


def _wait_for_the_import(env: dict[str, str], timeout: float) -> None:
    """Wait until a parse of ``SLOW_TO_IMPORT`` runs its module's code."""
    deadline = time.monotonic() + timeout
    while not Path(env["TEST_IMPORT_BEGAN"]).exists():
        if time.monotonic() > deadline:
            raise AssertionError(f"no parse of the slow DAG file began within {timeout:g}s")
        time.sleep(0.1)
