"""The ``airflow`` command the package installs, as a script or a BashOperator calls it: a
real process, its exit status and output."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conveyor.airflow_compat.configuration import AIRFLOW_VERSION

AIRFLOW = str(Path(sys.executable).parent / "airflow")


def _airflow(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CONVEYOR_HOME": str(home), "CONVEYOR_DAGS_FOLDER": str(home / "dags")}
    env.pop("CONVEYOR_DATABASE_URL", None)  # the home's own SQLite store
    return subprocess.run(
        [AIRFLOW, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_airflow_runs_conveyors_commands_under_airflows_names(tmp_path: Path) -> None:
    (tmp_path / "dags").mkdir()
    version = _airflow(tmp_path, "version")
    assert (version.returncode, version.stdout) == (0, f"{AIRFLOW_VERSION}\n")
    assert _airflow(tmp_path, "db", "upgrade").returncode == 0  # Airflow 2's name
    waited = _airflow(tmp_path, "db", "check-migrations", "-t", "0")
    assert waited.returncode == 0, waited.stderr
    assert _airflow(tmp_path, "variables", "set", "region", "eu").returncode == 0
    read = _airflow(tmp_path, "variables", "get", "region")
    assert (read.returncode, read.stdout) == (0, "eu\n")
    worker = _airflow(tmp_path, "celery", "worker", "--help")
    assert worker.returncode == 0 and "Usage: airflow worker" in worker.stdout
    probe = _airflow(tmp_path, "jobs", "check", "--job-type", "SchedulerJob", "--local")
    assert probe.returncode == 1 and "No alive jobs found." in probe.stderr


def test_airflow_refuses_what_conveyor_has_no_counterpart_for(tmp_path: Path) -> None:
    refused = _airflow(tmp_path, "dag-processor")
    assert refused.returncode == 1
    assert "Conveyor's scheduler parses the DAG folder" in refused.stderr
    unknown = _airflow(tmp_path, "no-such-command")
    assert unknown.returncode == 2 and "No such command" in unknown.stderr
