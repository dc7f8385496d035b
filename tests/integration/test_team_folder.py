"""A team's DAG folder as it is kept on Airflow: an ``.airflowignore`` (in each syntax), a dbt
project and other YAML beside the DAGs, a plugins folder whose module a DAG imports, a helper
package at the folder's root and a file that defines only an ``@asset``. Every command that
parses the folder (the scheduler's processor, ``dags reserialize``, ``dags list``, ``dags
validate``) finds the same DAGs and no false import error; ``conveyor run FILE`` on a file of
a subfolder imports from the folder's root.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from conveyor.cli.common import settings as cli_settings
from conveyor.cli.main import cli
from conveyor.config import load_config
from conveyor.loading.builder import processor_for
from conveyor.store.engine import Store
from conveyor.store.reads import dags as dag_reads

CONVEYOR = str(Path(sys.executable).parent / "conveyor")

USES_PLUGIN = """
from datetime import datetime

from airflow import DAG
from team_operators.shout import ShoutOperator

with DAG("uses_plugin", start_date=datetime(2024, 1, 1), schedule=None):
    ShoutOperator(task_id="shout", words="hi")
"""

SHOUT = """
from airflow.models.baseoperator import BaseOperator


class ShoutOperator(BaseOperator):
    def __init__(self, words, **kwargs):
        super().__init__(**kwargs)
        self.words = words

    def execute(self, context):
        return self.words.upper()
"""

NESTED = """
from datetime import datetime

from airflow import DAG
from airflow.operators.bash import BashOperator
from common.paths import OUT

with DAG("nested", start_date=datetime(2024, 1, 1), schedule=None):
    BashOperator(task_id="write", bash_command=f"echo from-root > {OUT}")
"""

KICKER = """
from datetime import datetime

from airflow import DAG
from airflow.operators.trigger_dagrun import TriggerDagRunOperator

with DAG("kicker", start_date=datetime(2024, 1, 1), schedule=None):
    TriggerDagRunOperator(task_id="kick", trigger_dag_id="nested", wait_for_completion=True,
                          poke_interval=0.5)
"""

ASSET_ONLY = """
from airflow.sdk import asset


@asset(schedule=None)
def orders():
    return 1
"""

BROKEN = "from airflow import DAG\nraise RuntimeError('work in progress')\n"

YAML_PIPELINE = "dags:\n  from_yaml:\n    tasks:\n      only: {operator: empty}\n"

#: The ignore file in each syntax, ignoring the same things.
IGNORE = {
    "glob": "# not DAGs\ntests/\n*_wip.py\ndbt/\n",
    "regexp": "# not DAGs\n^tests/\n_wip\\.py$\n^dbt/\n",
}
EXPECTED = {"uses_plugin", "nested", "kicker", "orders", "from_yaml"}


def write_folder(root: Path, syntax: str, out: Path) -> tuple[Path, Path]:
    dags, plugins = root / "dags", root / "plugins"
    files = {
        dags / ".airflowignore": IGNORE[syntax],
        dags / "uses_plugin.py": USES_PLUGIN,
        dags / "team" / "nested.py": NESTED,
        dags / "team" / "kicker.py": KICKER,
        dags / "common" / "__init__.py": "",
        dags / "common" / "paths.py": f"OUT = {str(out)!r}\n",
        dags / "assets.py": ASSET_ONLY,
        dags / "pipeline.yaml": YAML_PIPELINE,
        dags / "broken_wip.py": BROKEN,
        dags / "tests" / "test_dags.py": BROKEN,
        dags / "dbt" / "dbt_project.yml": "name: shop\nversion: '1.0'\n",
        dags / "dbt" / "models" / "schema.yml": "version: 2\nmodels: []\n",
        dags / "factory" / "config.yml": "orders_dag:\n  tasks: {}\n",
        plugins / "team_operators" / "__init__.py": "",
        plugins / "team_operators" / "shout.py": SHOUT,
    }
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return dags, plugins


@pytest.fixture(params=["glob", "regexp"])
def folder(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, str]]:
    syntax = request.param
    dags, plugins = write_folder(tmp_path, syntax, tmp_path / "out.txt")
    environ = {
        "CONVEYOR_HOME": str(tmp_path / "home"),
        "CONVEYOR_DAGS_FOLDER": str(dags),
        "CONVEYOR_PLUGINS_FOLDER": str(plugins),
        "AIRFLOW__CORE__DAG_IGNORE_FILE_SYNTAX": syntax,
    }
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    cli_settings.cache_clear()
    yield environ
    cli_settings.cache_clear()


def test_the_schedulers_processor_loads_the_folder_on_both_stores(
    folder: dict[str, str], store: Store
) -> None:
    config = load_config(folder, database_url=store.url).settings
    processor = processor_for(config, store)
    processor.sync()
    with store.read() as conn:
        assert set(dag_reads.active_dag_ids(conn)) == EXPECTED
        assert [(e.fileloc, e.message) for e in dag_reads.import_errors(conn)] == []
    # A file the ignore file lists from now on goes with its DAGs, as a deleted file does.
    ignore_file = config.dags_path / ".airflowignore"
    ignore_file.write_text(ignore_file.read_text() + "assets.py\n")
    processor.sync()
    with store.read() as conn:
        assert set(dag_reads.active_dag_ids(conn)) == EXPECTED - {"orders"}


def test_reserialize_list_and_validate_see_the_same_folder(
    folder: dict[str, str], tmp_path: Path
) -> None:
    environ = {**folder, "CONVEYOR_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}
    runner = CliRunner()
    reserialized = runner.invoke(cli, ["dags", "reserialize"], env=environ)
    assert reserialized.exit_code == 0, reserialized.output
    assert "5 DAG(s), 0 file(s) fail to load" in reserialized.output
    listed = runner.invoke(cli, ["dags", "list", "-o", "json"], env=environ)
    assert listed.exit_code == 0, listed.output
    assert all(dag_id in listed.output for dag_id in EXPECTED)
    assert "broken" not in listed.output and "orders_dag" not in listed.output
    errors = runner.invoke(cli, ["dags", "errors"], env=environ)
    assert errors.exit_code == 0, errors.output
    dags = folder["CONVEYOR_DAGS_FOLDER"]
    validated = runner.invoke(cli, ["dags", "validate", dags], env=environ)
    assert validated.exit_code == 0, validated.output
    assert "wip" not in validated.output and "dbt" not in validated.output


def test_run_file_in_a_subfolder_imports_from_the_folders_root(
    folder: dict[str, str], tmp_path: Path
) -> None:
    """The DAG run triggers the DAG of another file of its folder, which imports from the
    DAG folder's root: both files are parsed as the folder's."""
    if folder["AIRFLOW__CORE__DAG_IGNORE_FILE_SYNTAX"] == "regexp":
        pytest.skip("the run does not depend on the ignore syntax: once is enough")
    kicker = Path(folder["CONVEYOR_DAGS_FOLDER"]) / "team" / "kicker.py"
    environ = {**os.environ, **folder}
    done = subprocess.run(
        [CONVEYOR, "run", str(kicker)],
        env=environ,
        capture_output=True,
        text=True,
        timeout=90,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "out.txt").read_text().strip() == "from-root"
