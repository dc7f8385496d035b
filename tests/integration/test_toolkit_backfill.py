"""``conveyor backfill`` as a user runs it: real processes, a progress bar, Ctrl-C, resume."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from sqlalchemy import select

from conveyor.store.engine import Store
from conveyor.store.tables import dag_run

CONVEYOR = str(Path(sys.executable).parent / "conveyor")
DAYS = [f"2024-01-{d:02d}" for d in range(1, 11)]

DAILY = """
    import time
    from datetime import datetime
    from pathlib import Path
    from conveyor import DAG, task

    OUT = Path("@TMP@")

    with DAG("daily", schedule="@daily", start_date=datetime(2024, 1, 1), catchup=False):
        @task
        def work(ds=None):
            if (OUT / f"fail-{ds}").exists():
                (OUT / f"fail-{ds}").unlink()
                raise RuntimeError(f"bad data for {ds}")
            time.sleep(0.3)
            with open(OUT / "ran.txt", "a") as handle:
                handle.write(ds + "\\n")
        work()
"""


def _env(tmp: Path, store_url: str) -> dict[str, str]:
    dags = tmp / "dags"
    dags.mkdir(exist_ok=True)
    (dags / "daily.py").write_text(textwrap.dedent(DAILY).replace("@TMP@", str(tmp)))
    return {
        **os.environ,
        "CONVEYOR_HOME": str(tmp / "home"),
        "CONVEYOR_DAGS_FOLDER": str(dags),
        "CONVEYOR_DATABASE_URL": store_url,
        "CONVEYOR_SCHEDULER_LOOP_SECONDS": "0.1",
        "CONVEYOR_REQUEUE_AFTER_SECONDS": "1",
        "CONVEYOR_KILL_GRACE_SECONDS": "10",
        "COLUMNS": "120",
    }


def _backfill(env: dict[str, str], *extra: str) -> list[str]:
    return [CONVEYOR, "backfill", "daily", "--from", DAYS[0], "--to", DAYS[-1], *extra]


def _ran(tmp: Path) -> list[str]:
    path = tmp / "ran.txt"
    return (
        sorted(d for d in path.read_text().split() if d.startswith("2024")) if path.exists() else []
    )


def _run_backfill(env: dict[str, str], *extra: str) -> subprocess.CompletedProcess[str]:
    """The backfill of :func:`_backfill` run to its end, its output captured."""
    return subprocess.run(
        _backfill(env, *extra), env=env, capture_output=True, text=True, timeout=120
    )


def _backfill_runs(store_url: str) -> list[tuple[str, str, str]]:
    store = Store(store_url)
    try:
        with store.read() as conn:
            rows = conn.execute(
                select(dag_run.c.run_id, dag_run.c.run_type, dag_run.c.state)
                .where(dag_run.c.run_type == "backfill")
                .order_by(dag_run.c.logical_date)
            ).all()
    finally:
        store.dispose()
    return [tuple(r) for r in rows]


def test_ctrl_c_then_the_same_command_resumes_and_every_date_runs_once(
    tmp_path: Path, store_url: str
) -> None:
    env = _env(tmp_path, store_url)
    first = subprocess.Popen(
        _backfill(env, "--max-active", "2"),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 60
    while len(_ran(tmp_path)) < 3 and time.monotonic() < deadline and first.poll() is None:
        time.sleep(0.05)
    first.send_signal(signal.SIGINT)
    out, _ = first.communicate(timeout=60)
    assert first.returncode == 130, out
    assert "interrupted:" in out and "Run the same command again to resume" in out
    done_before = _ran(tmp_path)
    assert 3 <= len(done_before) < len(DAYS), out

    second = _run_backfill(env, "--max-active", "3")
    assert second.returncode == 0, second.stdout + second.stderr
    assert "backfill daily done: success 10" in second.stdout
    assert "10/10" in second.stdout  # the progress bar's last state
    # Each date the second command finished is reported once, the earlier ones are not new.
    for day in DAYS:
        if day not in done_before:
            assert f"{day}T00:00:00+00:00  success" in second.stdout

    assert _ran(tmp_path) == DAYS  # every date ran, and exactly once
    runs = _backfill_runs(store_url)
    assert [r[0] for r in runs] == [f"backfill__{d}T00:00:00+00:00" for d in DAYS]
    assert {r[2] for r in runs} == {"success"}


def test_reprocess_failed_reruns_only_the_failed_dates(tmp_path: Path, store_url: str) -> None:
    env = _env(tmp_path, store_url)
    (tmp_path / "fail-2024-01-03").write_text("")
    first = _run_backfill(env, "--to", "2024-01-04")
    assert first.returncode == 1, first.stdout  # a failed run makes the command fail
    assert "2024-01-03T00:00:00+00:00  failed" in first.stdout
    assert _ran(tmp_path) == ["2024-01-01", "2024-01-02", "2024-01-04"]

    kept = _run_backfill(env, "--to", "2024-01-04")
    assert "(4 exist already and are kept)" in kept.stdout
    assert _ran(tmp_path) == ["2024-01-01", "2024-01-02", "2024-01-04"]

    again = _run_backfill(env, "--to", "2024-01-04", "--reprocess", "failed")
    assert again.returncode == 0, again.stdout + again.stderr
    assert _ran(tmp_path) == ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"]
    assert {r[2] for r in _backfill_runs(store_url)} == {"success"}
    assert len(_backfill_runs(store_url)) == 4
