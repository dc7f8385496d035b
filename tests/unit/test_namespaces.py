"""Helper modules by folder in one process: ``loading/namespaces.py`` through the importer.

Each test imports DAG files of two folders in this process, one after the other and back, as
a runner does, with ``namespaces.leave()`` where a try ends.
"""

from __future__ import annotations

import importlib.util
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from conveyor.loading import namespaces
from conveyor.loading.importer import import_dag_file
from conveyor.model.dag import DAG

DAG_FILE = """
    from conveyor import DAG, EmptyOperator
    @IMPORTS@

    with DAG("@ID@", schedule=None) as dag:
        EmptyOperator(task_id="t")
    dag.doc_md = @SEEN@
"""


@pytest.fixture(autouse=True)
def process_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The importer changes sys.path, sys.modules and the namespaces: undo all three."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    before = set(sys.modules)
    yield
    namespaces.leave()
    for space in list(namespaces._namespaces.values()):
        namespaces.forget(space)
    for name in set(sys.modules) - before:
        del sys.modules[name]


def _dag_file(folder: Path, dag_id: str, imports: str, seen: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    text = textwrap.dedent(DAG_FILE).replace("@IMPORTS@", imports)
    path = folder / f"{dag_id}.py"
    path.write_text(text.replace("@ID@", dag_id).replace("@SEEN@", seen))
    return path


def _seen(path: Path) -> str | None:
    (found,) = import_dag_file(str(path))
    assert isinstance(found, DAG)
    namespaces.leave()  # the try ends
    return found.doc_md


def test_same_named_helpers_of_two_folders_and_one_folders_dags_sharing_theirs(
    tmp_path: Path,
) -> None:
    runs = tmp_path / "runs.txt"
    for team in ("team_a", "team_b"):
        folder = tmp_path / team
        folder.mkdir()
        # Each execution of a helper leaves a line: a helper is imported once per folder.
        (folder / "utils.py").write_text(
            f"with open({str(runs)!r}, 'a') as out:\n    out.write('{team}\\n')\nWHO = {team!r}\n"
        )
    a1 = _dag_file(tmp_path / "team_a", "a1", "import utils", "utils.WHO")
    a2 = _dag_file(tmp_path / "team_a", "a2", "import utils", "utils.WHO")
    b1 = _dag_file(tmp_path / "team_b", "b1", "import utils", "utils.WHO")
    seen = [_seen(p) for p in (a1, b1, a2, b1, a1)]
    assert seen == ["team_a", "team_b", "team_a", "team_b", "team_a"]
    assert runs.read_text().split() == ["team_a", "team_b"]
    assert "utils" not in sys.modules  # between tries, no folder's helper is


def test_helper_packages_without_an_init_file(tmp_path: Path) -> None:
    paths = []
    for team in ("team_a", "team_b"):
        package = tmp_path / team / "lib"
        package.mkdir(parents=True)
        (package / "names.py").write_text(f"WHO = {team!r}\n")
        paths.append(_dag_file(tmp_path / team, team, "from lib import names", "names.WHO"))
    assert [_seen(p) for p in paths + paths] == ["team_a", "team_b", "team_a", "team_b"]


def test_a_folder_a_dag_file_puts_on_sys_path_itself(tmp_path: Path) -> None:
    imports = (
        "import os, sys\n"
        "sys.path.append(os.path.join(os.path.dirname(__file__), 'vendor'))\n"
        "import common"
    )
    paths = []
    for team in ("team_a", "team_b"):
        (tmp_path / team / "vendor").mkdir(parents=True)
        (tmp_path / team / "vendor" / "common.py").write_text(f"WHO = {team!r}\n")
        paths.append(_dag_file(tmp_path / team, team, imports, "common.WHO"))
    path_before = list(sys.path)
    assert [_seen(p) for p in paths + paths] == ["team_a", "team_b", "team_a", "team_b"]
    assert sys.path == path_before  # put back at the end of each try


def test_a_helper_named_like_a_standard_module_never_stands_in_for_it(tmp_path: Path) -> None:
    """As on Airflow, whose processes append the DAG folder to ``sys.path``: ``import wave``
    is the standard module in every folder, whether or not a DAG imported it before."""
    assert "wave" not in sys.modules, "this test needs a standard module nobody imported"
    (tmp_path / "team_a").mkdir()
    (tmp_path / "team_a" / "wave.py").write_text("WHO = 'team_a'\n")
    seen = "getattr(wave, 'WHO', 'the standard wave')"
    a = _dag_file(tmp_path / "team_a", "a", "import wave", seen)
    b = _dag_file(tmp_path / "team_b", "b", "import wave", seen)
    assert [_seen(p) for p in (a, b, a, b)] == ["the standard wave"] * 4


def test_a_plugins_package_named_like_an_installed_one_leaves_it_alone(tmp_path: Path) -> None:
    """A real team's plugins folder holds a ``pandas/`` package of its own helpers, imported
    as ``plugins.pandas``; ``import pandas`` is still the installed one (here: another
    installed package nobody imported yet), as on Airflow."""
    name = next(
        n
        for n in ("text_unidecode", "sortedcontainers", "tabulate", "mdurl")
        if n not in sys.modules and importlib.util.find_spec(n) is not None
    )
    plugins = tmp_path / "plugins"
    (plugins / name).mkdir(parents=True)
    (plugins / name / "__init__.py").write_text("WHO = 'the plugins folder'\n")
    path = _dag_file(
        tmp_path / "dags", "t", f"import {name}", f"getattr({name}, 'WHO', 'installed')"
    )
    (found,) = import_dag_file(
        str(path), folders=[str(tmp_path / "dags"), str(plugins)], plugins_folder=str(plugins)
    )
    namespaces.leave()
    assert found.doc_md == "installed"


def test_a_new_version_of_a_dag_file_imports_a_helper_that_changed_anew(tmp_path: Path) -> None:
    folder = tmp_path / "team_a"
    folder.mkdir()
    (folder / "utils.py").write_text("WHO = 'first'\n")
    (folder / "same.py").write_text("WHO = 'unchanged'\n")
    path = _dag_file(folder, "a", "import utils, same", "utils.WHO + ' ' + same.WHO")
    assert _seen(path) == "first unchanged"
    namespace = namespaces.for_folders([str(folder)])
    unchanged = namespace.modules["same"]
    (folder / "utils.py").write_text("WHO = 'second, longer'\n")
    assert _seen(path) == "second, longer unchanged"
    assert namespace.modules["same"] is unchanged  # imported once all the same


def test_validating_a_folder_leaves_the_process_as_it_found_it(tmp_path: Path) -> None:
    """``dags validate`` (and a team's own check that calls it) imports each file as the
    processor does, then gives sys.path and sys.modules back: the folder's ``common`` must not
    stay importable for whatever the process imports next."""
    from conveyor.loading.yaml.validate import validate_paths

    folder = tmp_path / "team_a"
    (folder / "common").mkdir(parents=True)
    (folder / "common" / "__init__.py").write_text("WHO = 'team_a'\n")
    _dag_file(folder, "a", "import common", "common.WHO")
    path_before = list(sys.path)
    assert validate_paths([str(folder)]) == []
    assert sys.path == path_before
    assert "common" not in sys.modules
    assert namespaces._entered is None
