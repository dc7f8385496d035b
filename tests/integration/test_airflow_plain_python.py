"""A team's own tests run unchanged: plain ``python`` and plain ``pytest`` of an environment
where Conveyor is installed import Airflow's names (``conveyor_airflow.pth``), even beside
the bare ``airflow/`` folder a provider package leaves, and a team's
``tests/test_dag_integrity.py`` builds a ``DagBag`` of its folder and runs ``dag.test()``.

The environment is a throwaway venv of this interpreter laid out as ``pip install -e .``
lays site-packages out (Conveyor's ``src`` on the path, the ``.pth`` beside it; this
environment's packages after them): its interpreter processes the ``.pth`` at start as any
installed one does. About 15 s (one venv, three interpreters, one pytest run).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"


@pytest.fixture(scope="module")
def python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The interpreter of a venv where Conveyor is installed as ``pip install -e .`` does,
    with a provider package's namespace folder ``airflow/providers/redis`` beside it."""
    root = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    interpreter = root / "bin" / "python"
    purelib = subprocess.run(
        [str(interpreter), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    site = Path(purelib)
    (site / "_editable_impl_conveyor.pth").write_text(f"{SRC}\n")
    (site / "zz_environment.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    shutil.copy(SRC / "conveyor_airflow.pth", site / "conveyor_airflow.pth")
    namespace = site / "airflow" / "providers" / "redis"  # no airflow/__init__.py: a namespace
    namespace.mkdir(parents=True)
    (namespace / "__init__.py").write_text("")
    return interpreter


def _run(python: Path, args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {"PATH": os.environ.get("PATH", "/usr/bin"), "CONVEYOR_HOME": str(cwd / "home")}
    return subprocess.run(
        [str(python), *args],
        cwd=cwd,
        env={**environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_plain_python_imports_airflow_names_beside_a_provider_namespace(
    python: Path, tmp_path: Path
) -> None:
    code = (
        "import sys; assert 'conveyor' not in sys.modules  # nothing of Conveyor at start\n"
        "from airflow.operators.bash import BashOperator\n"
        "from airflow.sdk import DAG\n"
        "import airflow\n"
        "import conveyor\n"
        "assert issubclass(BashOperator, conveyor.BashOperator)\n"
        "print(airflow.__version__, DAG.__module__)\n"
    )
    found = _run(python, ["-c", code], tmp_path)
    assert found.returncode == 0, found.stderr
    assert found.stdout.split() == ["3.3.2", "conveyor.airflow_compat.shims"]
    # With the setting off, ``import airflow`` finds what is installed: here the namespace.
    off = _run(
        python,
        ["-c", "import airflow; print(list(airflow.__path__))"],
        tmp_path,
        CONVEYOR_AIRFLOW_COMPAT="false",
    )
    assert off.returncode == 0, off.stderr
    assert "site-packages/airflow" in off.stdout
    # A process that removes the hook itself has decided: the .pth's finder stays out.
    removed = _run(
        python,
        [
            "-c",
            "from conveyor import airflow_compat\n"
            "airflow_compat.activate(); airflow_compat.uninstall()\n"
            "import airflow; print(getattr(airflow, '__conveyor_compat__', False))",
        ],
        tmp_path,
    )
    assert removed.returncode == 0, removed.stderr
    assert removed.stdout.strip() == "False"


def test_the_pth_names_the_finder_the_hook_drops() -> None:
    from conveyor.airflow_compat.hook import STARTUP_FINDER

    assert f'type("{STARTUP_FINDER}"' in (SRC / "conveyor_airflow.pth").read_text()


ALERTS = """
    from airflow.utils.session import create_session


    def on_failure(context):
        with create_session() as session:
            return session.query("connection")
"""
ETL = """
    from datetime import datetime

    from airflow import DAG
    from airflow.operators.bash import BashOperator

    from common.alerts import on_failure

    with DAG(
        "etl",
        start_date=datetime(2026, 1, 1),
        schedule="@daily",
        tags=["team", "etl"],
        default_args={"on_failure_callback": on_failure},
    ):
        BashOperator(task_id="extract", bash_command="echo extract") >> BashOperator(
            task_id="load", bash_command="echo load"
        )
"""
TASKFLOW = """
    from airflow.sdk import dag, task


    @dag(schedule=None, tags=["team"])
    def taskflow():
        @task
        def one():
            return 1

        @task
        def double(x):
            return x * 2

        double(one())


    taskflow()
"""
BROKEN = """
    from airflow import DAG
    import no_such_module_anywhere
"""
INTEGRITY = """
    import os

    import pytest
    from airflow.models import DagBag
    from airflow.utils.state import DagRunState

    DAGS = os.path.join(os.path.dirname(__file__), "..", "dags")


    @pytest.fixture(scope="session")
    def dag_bag():
        return DagBag(dag_folder=DAGS, include_examples=False)


    def test_import_errors(dag_bag):
        assert [os.path.basename(f) for f in dag_bag.import_errors] == ["broken.py"]
        (message,) = dag_bag.import_errors.values()
        assert "no_such_module_anywhere" in message


    def test_dags(dag_bag):
        assert dag_bag.size() == 2
        assert sorted(dag_bag.dag_ids) == ["etl", "taskflow"]
        assert set(dag_bag.dags) == {"etl", "taskflow"}
        etl = dag_bag.get_dag("etl")
        assert len(etl.tasks) == 2 and sorted(etl.tags) == ["etl", "team"]
        assert etl.get_task("extract").downstream_task_ids == {"load"}
        assert dag_bag.get_dag("no_such_dag") is None


    def test_the_shared_helper_refuses_only_when_it_opens_a_session(dag_bag):
        from common.alerts import on_failure

        with pytest.raises(RuntimeError, match="not Airflow's database"):
            on_failure({})


    def test_a_dag_runs(dag_bag):
        run = dag_bag.get_dag("taskflow").test()
        assert run.state == DagRunState.SUCCESS
        assert run.xcom("double") == 2
"""


def test_a_teams_integrity_tests_pass_under_plain_pytest(python: Path, tmp_path: Path) -> None:
    team = tmp_path / "team"
    files = {
        "dags/common/__init__.py": "",
        "dags/common/alerts.py": ALERTS,
        "dags/etl.py": ETL,
        "dags/taskflow.py": TASKFLOW,
        "dags/broken.py": BROKEN,
        "tests/test_dag_integrity.py": INTEGRITY,
    }
    for name, text in files.items():
        (team / name).parent.mkdir(parents=True, exist_ok=True)
        (team / name).write_text(textwrap.dedent(text))
    found = _run(python, ["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"], team)
    assert found.returncode == 0, found.stdout + found.stderr
    assert "4 passed" in found.stdout
