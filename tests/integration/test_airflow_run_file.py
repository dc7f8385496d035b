"""``conveyor run FILE`` and ``conveyor dags validate`` on Airflow folders, as subprocesses in a
fresh home: the DAGs a file's tasks trigger or wait for are found in its folder, and a DAG
file that reads a variable at import is checked and run without any setup first.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

CLI = str(Path(sys.executable).parent / "conveyor")

CONTROLLER = """
from datetime import datetime

from airflow import DAG
from airflow.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sensors.external_task import ExternalTaskSensor

with DAG("nb_controller", start_date=datetime(2024, 1, 1), schedule=None):
    kick = TriggerDagRunOperator(task_id="kick", trigger_dag_id="nb_target",
                                 wait_for_completion=True, poke_interval=0.5)
    wait = ExternalTaskSensor(task_id="wait", external_dag_id="nb_upstream",
                              external_task_id="make", poke_interval=0.5, timeout=60)
"""

TARGET = """
from datetime import datetime

from airflow import DAG
from airflow.operators.trigger_dagrun import TriggerDagRunOperator

with DAG("nb_target", start_date=datetime(2024, 1, 1), schedule=None):
    TriggerDagRunOperator(task_id="onwards", trigger_dag_id="nb_last",
                          wait_for_completion=True, poke_interval=0.5)
"""

LAST = """
from datetime import datetime

from airflow import DAG
from airflow.operators.bash import BashOperator

with DAG("nb_last", start_date=datetime(2024, 1, 1), schedule=None):
    BashOperator(task_id="hello", bash_command="echo last ran > @TMP@/last.txt")
"""

UPSTREAM = """
from datetime import datetime

from airflow import DAG
from airflow.operators.bash import BashOperator

with DAG("nb_upstream", start_date=datetime(2024, 1, 1), schedule="@daily"):
    BashOperator(task_id="make", bash_command="echo made")
"""

LONELY = """
from datetime import datetime

from airflow import DAG
from airflow.sensors.external_task import ExternalTaskSensor

with DAG("nb_lonely", start_date=datetime(2024, 1, 1), schedule=None):
    ExternalTaskSensor(task_id="wait", external_dag_id="nb_elsewhere", poke_interval=0.2,
                       timeout=1)
"""

UNRELATED = """
from airflow import DAG

raise RuntimeError("a file no run here needs: never imported")
"""

READS_VARIABLE = """
from datetime import datetime

from airflow import DAG
from airflow.models import Variable
from airflow.operators.bash import BashOperator

WHO = Variable.get("who", default_var="world")

with DAG("reads_variable", start_date=datetime(2024, 1, 1), schedule=None):
    BashOperator(task_id="hi", bash_command=f"echo hi {WHO}")
"""

NEEDS_VARIABLE = """
from airflow import DAG
from airflow.models import Variable

URL = Variable.get("warehouse_url")

with DAG("needs_variable", schedule=None):
    pass
"""


def _write(folder: Path, name: str, text: str, tmp: Path) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip("\n").replace("@TMP@", str(tmp)))
    return path


def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONVEYOR_", "AIRFLOW"))}
    env["CONVEYOR_HOME"] = str(tmp_path / "fresh-home")  # never made or migrated before
    return subprocess.run(
        [CLI, *args], env=env, capture_output=True, text=True, timeout=180, check=False
    )


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    dags = tmp_path / "dags"
    dags.mkdir()
    return dags


def test_run_finds_the_dags_a_file_triggers_and_waits_for(tmp_path: Path, folder: Path) -> None:
    controller = _write(folder, "controller.py", CONTROLLER, tmp_path)
    _write(folder, "target.py", TARGET, tmp_path)
    (folder / "more").mkdir()
    _write(folder / "more", "last.py", LAST, tmp_path)
    _write(folder, "upstream.py", UPSTREAM, tmp_path)
    _write(folder, "unrelated.py", UNRELATED, tmp_path)

    done = _cli(tmp_path, "run", str(controller))

    assert done.returncode == 0, done.stdout + done.stderr
    assert "kick success" in done.stdout and "wait success" in done.stdout
    assert "also running DAG nb_upstream" in done.stdout
    # A DAG the triggered DAG triggers is found too (in a subfolder), and ran.
    assert (tmp_path / "last.txt").read_text().strip() == "last ran"
    assert "unrelated.py" not in done.stdout + done.stderr


def test_run_says_which_dag_no_file_of_the_folder_defines(tmp_path: Path, folder: Path) -> None:
    lonely = _write(folder, "lonely.py", LONELY, tmp_path)
    _write(folder, "upstream.py", UPSTREAM, tmp_path)

    done = _cli(tmp_path, "run", str(lonely))

    assert done.returncode == 1
    assert f"no file in {folder} defines DAG 'nb_elsewhere'" in " ".join(done.stdout.split())
    assert "also running" not in done.stdout


def test_a_fresh_home_validates_and_runs_a_file_reading_a_variable(
    tmp_path: Path, folder: Path
) -> None:
    reads = _write(folder, "reads_variable.py", READS_VARIABLE, tmp_path)

    checked = _cli(tmp_path, "dags", "validate", str(folder))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    ran = _cli(tmp_path, "run", str(reads))
    assert ran.returncode == 0, ran.stdout + ran.stderr

    _write(folder, "needs_variable.py", NEEDS_VARIABLE, tmp_path)
    refused = _cli(tmp_path, "dags", "validate", str(folder))
    assert refused.returncode == 1
    assert "needs_variable.py:4" in refused.stdout
    assert "no variable 'warehouse_url'" in refused.stdout and "table" not in refused.stdout
