"""What a parse ships with a DAG file: the modules it loaded from the DAG folder, found by
``loading/shipping.py`` also where the process noted its modules before any DAG file was
loaded (the fork server does, for its parse children)."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

from conveyor.loading import shipping


@pytest.fixture
def noted_modules(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """This process's modules noted as the fork server notes them; forgotten after."""
    monkeypatch.setattr(shipping, "_preloaded", {})
    monkeypatch.setattr(sys, "modules", dict(sys.modules))
    yield


def _module(name: str, path: Path) -> types.ModuleType:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"NAME = {name!r}\n")
    module = types.ModuleType(name)
    module.__file__ = str(path)
    sys.modules[name] = module
    return module


@pytest.mark.usefixtures("noted_modules")
def test_the_dag_folders_modules_are_found_whether_or_not_the_process_noted_them(
    tmp_path: Path,
) -> None:
    dags = tmp_path / "dags"
    dag_file = dags / "pipeline.py"
    dag_file.parent.mkdir(parents=True)
    dag_file.write_text("")
    _module("helpers_known_early", dags / "helpers_known_early.py")
    _module("library_known_early", tmp_path / "lib" / "library_known_early.py")
    _module("replaced_later", tmp_path / "lib" / "replaced_later.py")
    shipping.remember_module_folders()
    assert "library_known_early" in shipping._preloaded

    _module("helpers_loaded_by_the_file", dags / "common" / "helpers_loaded_by_the_file.py")
    _module("library_loaded_by_the_file", tmp_path / "lib" / "library_loaded_by_the_file.py")
    _module("replaced_later", dags / "replaced_later.py")  # a new module under a noted name

    found = shipping.helper_files(str(dag_file), dags)

    assert sorted(found) == [
        "common/helpers_loaded_by_the_file.py",
        "helpers_known_early.py",
        "replaced_later.py",
    ]
    assert found["replaced_later.py"] == "NAME = 'replaced_later'\n"


@pytest.mark.usefixtures("noted_modules")
def test_a_folder_linked_into_the_dag_folder_after_the_process_noted_its_modules(
    tmp_path: Path,
) -> None:
    """A folder the DAG folder reaches through a link is resolved when the file loads
    from it, not from what the process noted."""
    dags = tmp_path / "dags"
    dags.mkdir()
    dag_file = dags / "pipeline.py"
    dag_file.write_text("")
    shipping.remember_module_folders()
    elsewhere = tmp_path / "shared_code"
    elsewhere.mkdir()
    (dags / "shared").symlink_to(elsewhere, target_is_directory=True)
    _module("shared_helper", dags / "shared" / "shared_helper.py")

    assert shipping.helper_files(str(dag_file), dags) == {}  # its real place is outside

    _module("own_helper", dags / "own_helper.py")
    assert list(shipping.helper_files(str(dag_file), dags)) == ["own_helper.py"]
