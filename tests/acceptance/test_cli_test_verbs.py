"""``conveyor dags test`` and ``conveyor tasks test`` as processes: they run on a throwaway
store and leave the configured one (SQLite or PostgreSQL) untouched."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from conveyor.store.engine import Store
from conveyor.store.tables import dag_run

CONVEYOR = str(Path(sys.executable).parent / "conveyor")

STEPS = """
    import os
    from conveyor import DAG, BashOperator

    OUT = os.environ["STEPS_OUT"]

    with DAG("steps"):
        a = BashOperator(task_id="a", bash_command=f"echo {{{{ ds }}}} > {OUT}/a")
        b = BashOperator(task_id="b", bash_command=f"echo {{{{ ds }}}} > {OUT}/b")
        c = BashOperator(task_id="c", bash_command=f"echo {{{{ ds }}}} > {OUT}/c")
        broken = BashOperator(task_id="broken", bash_command="exit 3", retries=0)
        a >> b >> c
"""


@pytest.fixture
def env(tmp_path: Path, store_url: str) -> dict[str, str]:
    dags, out = tmp_path / "dags", tmp_path / "out"
    dags.mkdir()
    out.mkdir()
    (dags / "steps.py").write_text(textwrap.dedent(STEPS))
    return {
        **os.environ,
        "CONVEYOR_HOME": str(tmp_path / "home"),
        "CONVEYOR_DAGS_FOLDER": str(dags),
        "CONVEYOR_DATABASE_URL": store_url,
        "STEPS_OUT": str(out),
        "COLUMNS": "200",
    }


def conveyor(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CONVEYOR, *args], env=env, capture_output=True, text=True, timeout=120)


def _no_runs_in(store: Store) -> bool:
    with store.read() as conn:
        return conn.execute(select(func.count()).select_from(dag_run)).scalar_one() == 0


def test_tasks_test_runs_one_task_alone_at_the_logical_date(
    env: dict[str, str], store: Store
) -> None:
    result = conveyor(env, "tasks", "test", "steps", "b", "2024-03-01")
    assert result.returncode == 0, result.stdout + result.stderr
    out = Path(env["STEPS_OUT"])
    assert (out / "b").read_text().strip() == "2024-03-01"
    assert not (out / "a").exists() and not (out / "c").exists()  # neither up nor downstream
    assert _no_runs_in(store)


def test_tasks_test_of_a_failing_task_exits_1(env: dict[str, str], store: Store) -> None:
    result = conveyor(env, "tasks", "test", "steps", "broken")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "broken: failed" in result.stdout
    assert _no_runs_in(store)


def test_dags_test_runs_the_whole_dag(env: dict[str, str], store: Store) -> None:
    result = conveyor(env, "dags", "test", "steps", "2024-03-02")
    assert result.returncode == 1  # broken fails the run
    out = Path(env["STEPS_OUT"])
    assert [(out / t).read_text().strip() for t in "abc"] == ["2024-03-02"] * 3
    assert _no_runs_in(store)


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["tasks", "test", "steps", "nope"], 1, "DAG 'steps' has no task 'nope'"),
        (["dags", "test", "nothere"], 1, "no DAG 'nothere'"),
        (["tasks", "test", "steps", "b", "yesterday"], 2, "'yesterday' does not match"),
    ],
)
def test_bad_input(
    env: dict[str, str], store: Store, args: list[str], code: int, message: str
) -> None:
    result = conveyor(env, *args)
    assert result.returncode == code, result.stdout + result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert _no_runs_in(store)


DATED = """
    import os
    from datetime import datetime, timedelta
    from conveyor import DAG, BashOperator

    OUT = os.environ["STEPS_OUT"]

    with DAG("dated", start_date=datetime(2024, 1, 1), dagrun_timeout=timedelta(seconds=1)):
        BashOperator(task_id="slow", bash_command=f"sleep 2; echo {{{{ run_id }}}} > {OUT}/run")
"""


def test_dags_test_matches_airflows(tmp_path: Path) -> None:
    """As Airflow's dags test: the run is named after the call's time and no dagrun_timeout
    ends it (a date before the DAG's start_date runs no task: the scheduled path's test,
    test_airflow_outcomes, covers the run it makes). Its store is a throwaway one whatever
    the configured store: once is enough."""
    dags, out = tmp_path / "dags", tmp_path / "out"
    dags.mkdir()
    out.mkdir()
    (dags / "dated.py").write_text(textwrap.dedent(DATED))
    env = {
        **os.environ,
        "CONVEYOR_HOME": str(tmp_path / "home"),
        "CONVEYOR_DAGS_FOLDER": str(dags),
        "CONVEYOR_DATABASE_URL": f"sqlite:///{tmp_path / 'configured.db'}",
        "STEPS_OUT": str(out),
    }
    called = datetime.now(UTC)
    result = conveyor(env, "dags", "test", "dated", "2024-03-01")
    assert result.returncode == 0, result.stdout + result.stderr
    run_id = (Path(env["STEPS_OUT"]) / "run").read_text().strip()
    assert run_id.startswith("manual__") and "2024-03-01" not in run_id
    assert datetime.fromisoformat(run_id.removeprefix("manual__")) >= called
