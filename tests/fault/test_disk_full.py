"""A standalone's log folder, or its SQLite store, on a full filesystem.

Each test mounts a small tmpfs of its own (root only; skipped with the reason otherwise),
runs a scheduler with the local executor on a SQLite store, fills the filesystem with one
file until ``No space left on device``, and then removes that file:

- the log folder full: a try that cannot write its log's first line fails at once, saying
  "No space left on device" and which file, in its timeline; the scheduler goes on, and a
  run triggered once space is back succeeds;
- the store full: every write the store refuses ("database or disk is full") is waited out
  like an unreachable store; once space is back every run finishes, each task ran once,
  and ``PRAGMA integrity_check`` finds the database whole.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import closing, suppress
from pathlib import Path

import pytest
from faultlib import (
    CONVEYOR,
    Cluster,
    all_runs_finished,
    dag_parsed,
    links_started,
    make_cluster,
    report,
    running,
    runs_by_state,
    tally,
    wait_for,
    why_lost,
)
from sqlalchemy import select

from conveyor.store import schema
from conveyor.store.engine import Store
from conveyor.store.tables import dag_run

SIZE = "8m"


@pytest.fixture
def small_filesystem() -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs to fill needs root")
    mount_point = Path(tempfile.mkdtemp(prefix="conveyor-full-"))
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={SIZE}", "tmpfs", str(mount_point)],
        check=True,
        capture_output=True,
    )
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False, capture_output=True)
        mount_point.rmdir()


def _fill(mount_point: Path) -> Path:
    """Write one file until the filesystem has no space left; the file, to remove later."""
    filler = mount_point / "filler"
    chunk = b"\0" * (1 << 20)
    with filler.open("wb", buffering=0) as out:
        with suppress(OSError):  # ENOSPC: full
            while True:
                out.write(chunk)
        with suppress(OSError):
            while True:
                out.write(b"\0" * 4096)
    return filler


def _standalone(tmp_path: Path, database_url: str, *, logs: Path) -> Cluster:
    store = Store(database_url)
    schema.migrate(store)
    store.dispose()
    cluster = make_cluster(tmp_path, database_url, width=4, length=10, ticks=0, executor="local")
    cluster.env["CONVEYOR_LOG_FOLDER"] = str(logs)
    return cluster


def _run_ids(cluster: Cluster, dag_id: str) -> list[str]:
    with cluster.store.read() as conn:
        return list(
            conn.execute(
                select(dag_run.c.run_id).where(dag_run.c.dag_id == dag_id).order_by(dag_run.c.id)
            ).scalars()
        )


def _why(cluster: Cluster, dag_id: str, run_id: str, task_id: str) -> str:
    answer = subprocess.run(
        [CONVEYOR, "tasks", "why", dag_id, run_id, task_id],
        env=cluster.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return answer.stdout + answer.stderr


@pytest.mark.timeout(240)
def test_a_full_log_folder_fails_the_try_saying_why_and_work_resumes(
    tmp_path: Path, small_filesystem: Path
) -> None:
    logs = small_filesystem / "logs"
    cluster = _standalone(tmp_path, f"sqlite:///{tmp_path}/store.db", logs=logs)
    with running(cluster):
        cluster.start_scheduler("s1")
        wait_for(dag_parsed(cluster.store, {"chain"}), 60, "DAGs parsed", cluster)
        filler = _fill(small_filesystem)
        cluster.trigger("chain")
        wait_for(all_runs_finished(cluster.store, 1), 60, "the run on a full disk", cluster)
        [full_run] = _run_ids(cluster, "chain")
        why = _why(cluster, "chain", full_run, "link_00")

        filler.unlink()
        freed = time.monotonic()
        cluster.trigger("chain")
        wait_for(all_runs_finished(cluster.store, 2), 60, "the run after space returned", cluster)
        took = time.monotonic() - freed
        states = runs_by_state(cluster.store)
        counted = tally(cluster)
        scheduler_alive = cluster.schedulers["s1"].poll() is None
    ran = {tuple(line.split()[:3]) for line in _lines(cluster)}
    report(
        "the log folder full",
        runs=dict(states),
        seconds_to_finish_after_space_returned=f"{took:.1f}",
        tasks_run_twice=len(counted.twice),
        tries_started_on_the_full_disk=sum(1 for key in ran if key[1] == full_run),
    )
    assert scheduler_alive, cluster.log_tail()
    assert "No space left on device" in why, why
    assert str(logs / "chain") in why, why  # which file
    assert states == {"failed": 1, "success": 1}, dict(states)
    assert counted.twice == [], f"ran twice: {counted.twice}"
    # The task's code never ran on the full disk: the try failed before it.
    assert not any(key[1] == full_run for key in ran), ran


def _lines(cluster: Cluster) -> list[str]:
    return cluster.count_file.read_text().splitlines() if cluster.count_file.exists() else []


@pytest.mark.timeout(240)
def test_a_full_sqlite_store_is_waited_out_and_stays_whole(
    tmp_path: Path, small_filesystem: Path
) -> None:
    database = small_filesystem / "store.db"
    cluster = _standalone(tmp_path, f"sqlite:///{database}", logs=tmp_path / "logs")
    with running(cluster):
        cluster.start_scheduler("s1")
        wait_for(dag_parsed(cluster.store, {"wide", "chain"}), 60, "DAGs parsed", cluster)
        cluster.trigger("wide")
        cluster.trigger("chain")
        wait_for(links_started(cluster, 2), 60, "the chain under way", cluster)
        filler = _fill(small_filesystem)
        filled = time.monotonic()
        wait_for(
            lambda: "database or disk is full" in (tmp_path / "s1.log").read_text(),
            30,
            "the scheduler meeting the full store",
            cluster,
        )
        executions_while_full = len(_lines(cluster))
        refused = subprocess.run(
            [CONVEYOR, "dags", "trigger", "chain"],
            env=cluster.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        # The fault lasts past the time after which an executor that cannot write its
        # heartbeats stops its tries (on PostgreSQL, another scheduler would soon declare
        # them lost): on SQLite no other scheduler can, so the tries in flight, held at
        # their record, must be waited out, not stopped.
        settings = cluster.settings
        fence = settings.worker_fence_fraction * settings.zombie_after_seconds
        time.sleep(max(3.0, fence + 2 - (time.monotonic() - filled)))
        executions_after_full = len(_lines(cluster))
        filler.unlink()
        freed = time.monotonic()
        wait_for(all_runs_finished(cluster.store, 2), 90, "every run", cluster)
        took = time.monotonic() - freed
        states = runs_by_state(cluster.store)
        counted = tally(cluster)
        scheduler_alive = cluster.schedulers["s1"].poll() is None
    with closing(sqlite3.connect(database)) as conn, conn:
        integrity = conn.execute("PRAGMA integrity_check").fetchall()
    report(
        "the SQLite store full",
        runs=dict(states),
        seconds_to_finish_after_space_returned=f"{took:.1f}",
        tries_started_while_full=executions_after_full - executions_while_full,
        tasks_run_twice=len(counted.twice),
        tasks_lost=len(counted.lost),
        integrity=integrity,
    )
    assert scheduler_alive, cluster.log_tail()
    # The command that could not write says why in one line.
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "database or disk is full" in refused.stderr, refused.stderr
    assert "Traceback" not in refused.stderr, refused.stderr
    assert integrity == [("ok",)], integrity
    assert counted.twice == [], f"ran twice: {counted.twice}"
    assert counted.lost == [], why_lost(cluster, counted)
    assert set(states) == {"success"}, dict(states)
