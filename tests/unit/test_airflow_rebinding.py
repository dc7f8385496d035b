"""What a try rebinds in the ``airflow.*`` modules is put back when it ends, and nothing else.

Pure tests: the hook is installed in this process for each and removed afterwards, as in
``test_airflow_hook.py``; ``rebinding.start`` and ``undo`` stand for a try's start and end.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from conveyor import airflow_compat
from conveyor.airflow_compat import rebinding


@pytest.fixture(autouse=True)
def hook(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.setenv("CONVEYOR_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CONVEYOR_AIRFLOW_COMPAT", raising=False)
    assert airflow_compat.activate() is True
    yield
    rebinding.undo()
    airflow_compat.uninstall()


def test_a_name_rebound_or_deleted_in_a_try_is_put_back_when_it_ends() -> None:
    airflow = importlib.import_module("airflow")
    models = importlib.import_module("airflow.models")
    dag_class = models.DAG
    rebinding.start()
    models.DAG = "another DAG"
    models.added_by_a_dag = 1
    # Not rebindings: a submodule the import system binds, a name cached as it is looked up.
    python = importlib.import_module("airflow.operators.python")
    operator = python.PythonOperator
    del python.PythonOperator
    rebinding.undo()
    assert models.DAG is dag_class
    assert "added_by_a_dag" not in models.__dict__
    assert python.__dict__["PythonOperator"] is operator
    assert airflow.operators.python is python


def test_a_name_rebound_before_its_first_use_is_put_back_too() -> None:
    models = importlib.import_module("airflow.models")
    models.__dict__.pop("Variable", None)  # not looked up yet in this try's process
    rebinding.start()
    models.Variable = "another Variable"
    rebinding.undo()
    assert models.Variable != "another Variable"
    assert isinstance(models.Variable, type)
