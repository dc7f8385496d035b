"""``TriggerDagRunOperator`` with Airflow's keywords for the triggered run's end
(``allowed_states``, ``failed_states``), a templated ``logical_date``,
``skip_when_already_exists``, and ``reset_dag_run`` / ``deferrable`` accepted; run with
``conveyor run`` on a folder in a fresh home."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

CLI = str(Path(sys.executable).parent / "conveyor")

CONTROLLER = """
from datetime import datetime

from airflow import DAG
from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator

with DAG("ts_controller", start_date=datetime(2024, 1, 1), schedule=None):
    BashOperator(task_id="mine", bash_command="echo '{{ logical_date }}' > @TMP@/controller.txt")
    strict = TriggerDagRunOperator(
        task_id="strict", trigger_dag_id="ts_fails", trigger_run_id="strict_{{ run_id }}",
        logical_date="{{ logical_date }}", wait_for_completion=True, poke_interval=0.5,
        allowed_states=["success", "failed"], reset_dag_run=True, deferrable=True,
    )
    lenient = TriggerDagRunOperator(
        task_id="lenient", trigger_dag_id="ts_fails", trigger_run_id="lenient_{{ run_id }}",
        wait_for_completion=True, poke_interval=0.5,
        allowed_states=["success", "failed"], failed_states=[],
    )
    again = TriggerDagRunOperator(
        task_id="again", trigger_dag_id="ts_fails", trigger_run_id="lenient_{{ run_id }}",
        skip_when_already_exists=True,
    )
    lenient >> again
"""

FAILS = """
from datetime import datetime

from airflow import DAG
from airflow.providers.standard.operators.bash import BashOperator

with DAG("ts_fails", start_date=datetime(2024, 1, 1), schedule=None):
    BashOperator(task_id="fail",
                 bash_command="echo '{{ logical_date }}' > @TMP@/{{ run_id[:6] }}.txt; exit 1")
"""

BAD_STATE = """
from datetime import datetime

from airflow import DAG
from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator

with DAG("ts_bad", start_date=datetime(2024, 1, 1), schedule=None):
    TriggerDagRunOperator(task_id="t", trigger_dag_id="x", allowed_states=["finished"])
"""


def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONVEYOR_", "AIRFLOW"))}
    env["CONVEYOR_HOME"] = str(tmp_path / "home")
    return subprocess.run(
        [CLI, *args], env=env, capture_output=True, text=True, timeout=180, check=False
    )


def _write(folder: Path, name: str, text: str, tmp: Path) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip("\n").replace("@TMP@", str(tmp)))
    return path


def test_the_triggered_runs_end_decides_the_tasks_by_allowed_and_failed_states(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "dags"
    folder.mkdir()
    controller = _write(folder, "controller.py", CONTROLLER, tmp_path)
    _write(folder, "fails.py", FAILS, tmp_path)

    done = _cli(tmp_path, "run", str(controller))
    output = " ".join((done.stdout + done.stderr).split())

    assert done.returncode == 1, output
    # "failed" is allowed, but a failed state too by default: failed wins, as in Airflow.
    assert "strict failed" in output and "ended failed, one of failed_states (failed)" in output
    assert "lenient success" in output  # failed_states=[]: a failed run is allowed
    assert "again skipped" in output
    (log,) = (tmp_path / "home" / "logs" / "ts_controller").rglob("again/try-1.log")
    assert "DAG 'ts_fails' already has a run" in log.read_text()
    # The templated logical_date reached the triggered run.
    mine = (tmp_path / "controller.txt").read_text().strip()
    assert (tmp_path / "strict.txt").read_text().strip() == mine


def test_a_state_that_is_no_run_state_is_refused_at_load(tmp_path: Path) -> None:
    folder = tmp_path / "dags"
    folder.mkdir()
    _write(folder, "bad.py", BAD_STATE, tmp_path)
    done = _cli(tmp_path, "dags", "validate", str(folder))
    assert done.returncode == 1
    assert "allowed_states: 'finished' is not a run state" in done.stdout + done.stderr
