"""Airflow plugins in the plugins folder: what they register, per folder, and what is refused.

Each test imports a DAG file in this process with its folder, the DAG folder's root and a
plugins folder on ``sys.path`` (as the parse and the try do), then leaves its namespace.
"""

from __future__ import annotations

import logging
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from conveyor.exceptions import DagImportError
from conveyor.loading import namespaces
from conveyor.loading.importer import import_dag_file, search_folders
from conveyor.model.dag import DAG

pytestmark = pytest.mark.usefixtures("airflow_hook")

PLUGIN = """
    from airflow.models import BaseOperator
    from airflow.plugins_manager import AirflowPlugin


    class SayOperator(BaseOperator):
        said = @SAID@


    class SayPlugin(AirflowPlugin):
        name = "@NAME@"
        operators = [SayOperator]
        @EXTRA@
"""
DAG_FILE = """
    from airflow import DAG
    from airflow.operators.@NAME@ import SayOperator
    from common.words import WORD

    with DAG("@DAG@", schedule=None):
        SayOperator(task_id=WORD)
"""


@pytest.fixture(autouse=True)
def leave_namespace() -> Iterator[None]:
    yield
    namespaces.leave()


def _folder(tmp: Path, name: str, said: str, extra: str = "", module: str = "say") -> Path:
    """A DAG folder ``tmp/dags`` with a file in a subfolder, and ``tmp/plugins``; the path of
    the DAG file."""
    plugins, dags = tmp / "plugins", tmp / "dags"
    (dags / "team").mkdir(parents=True)
    (dags / "common").mkdir()
    plugins.mkdir()
    (dags / "common" / "__init__.py").write_text("")
    (dags / "common" / "words.py").write_text(f"WORD = {said!r}\n")
    text = textwrap.dedent(PLUGIN).replace("@NAME@", name).replace("@SAID@", repr(said))
    (plugins / f"{module}.py").write_text(text.replace("@EXTRA@", extra))
    path = dags / "team" / f"{name}_dag.py"
    dag_text = textwrap.dedent(DAG_FILE).replace("@NAME@", name).replace("@DAG@", f"d_{said}")
    path.write_text(dag_text)
    return path


def _import(path: Path) -> list[DAG]:
    dags, plugins = path.parents[1], path.parents[2] / "plugins"
    folders = search_folders(str(path), dags, plugins)
    return import_dag_file(str(path), folders=folders, plugins_folder=str(plugins.resolve()))


def test_two_plugins_folders_of_one_name_each_serve_their_own_dags(tmp_path: Path) -> None:
    first = _folder(tmp_path / "a", "say_plugin", "one")
    second = _folder(tmp_path / "b", "say_plugin", "two")
    (dag_a,) = _import(first)
    namespaces.leave()
    (dag_b,) = _import(second)
    assert type(dag_a.get_task("one")).said == "one"  # type: ignore[attr-defined]
    assert type(dag_b.get_task("two")).said == "two"  # type: ignore[attr-defined]


def test_a_plugin_with_executors_is_refused_with_what_to_write(tmp_path: Path) -> None:
    path = _folder(tmp_path, "loud_plugin", "x", extra="executors = ['a.B']", module="loud")
    with pytest.raises(DagImportError) as err:
        _import(path)
    assert "plugin 'loud_plugin' declares executors" in err.value.message
    assert "executor = 'local' or 'celery'" in err.value.message


def test_web_ui_keys_are_said_not_to_be_shown(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = _folder(tmp_path, "ui_plugin", "y", extra="flask_blueprints = [object()]", module="ui")
    with caplog.at_level(logging.WARNING, logger="conveyor.airflow_compat.plugins"):
        (found,) = _import(path)
    assert found.task_ids == ["y"]
    assert "plugin 'ui_plugin': flask_blueprints change Airflow's web UI" in caplog.text


def test_a_missing_plugin_names_the_broken_plugin_file(tmp_path: Path) -> None:
    path = _folder(tmp_path, "gone_plugin", "z", module="gone")
    (tmp_path / "plugins" / "broken.py").write_text("raise RuntimeError('half written')\n")
    (tmp_path / "plugins" / "gone.py").unlink()
    with pytest.raises(DagImportError) as err:
        _import(path)
    assert "no plugin named 'gone_plugin'" in err.value.message
    assert "broken failed: RuntimeError: half written" in err.value.message


def test_validate_takes_the_root_and_a_plugins_path_and_refuses_a_missing_plugin(
    tmp_path: Path,
) -> None:
    from conveyor.loading.yaml.validate import validate_paths

    path = _folder(tmp_path, "checked_plugin", "w", module="checked")
    dags, plugins = tmp_path / "dags", tmp_path / "plugins"
    assert validate_paths([str(dags)], None, plugins) == []
    namespaces.leave()
    assert validate_paths([str(path)], dags, plugins) == []  # a file, inside the DAG folder
    namespaces.leave()
    path.write_text(path.read_text().replace("checked_plugin", "missing_plugin"))
    problems = validate_paths([str(path)], dags, plugins)
    # The module imports (Airflow 2.10 has modules there); its operator refuses where used.
    assert [p.line for p in problems] == [7]
    assert "airflow.operators.missing_plugin" in problems[0].detail
