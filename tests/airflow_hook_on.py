"""The Airflow import hook for a unit test, and the check that Airflow's import paths give
Conveyor's objects: the same set-up the provider and compat tests each used to carry.

Imported as ``airflow_hook_on`` (``tests/`` is on ``sys.path``, as for ``conftest``).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest

from conveyor import airflow_compat
from conveyor.airflow_compat import AirflowNameError
from conveyor.airflow_compat.lint import check_source
from conveyor.model.context import DagContext


@contextmanager
def hook_on(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """A home under ``tmp_path``, ``airflow_compat`` at its default (on) and the hook
    installed; afterwards the hook uninstalled, the DAGs made meanwhile forgotten and
    ``AIRFLOW_HOME`` (which activating sets) as it was."""
    monkeypatch.setenv("CONVEYOR_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CONVEYOR_AIRFLOW_COMPAT", raising=False)
    monkeypatch.delenv("AIRFLOW_HOME", raising=False)
    assert airflow_compat.activate() is True
    try:
        yield
    finally:
        airflow_compat.uninstall()
        DagContext.created.clear()
        DagContext.entered.clear()


def assert_paths_give(paths: Mapping[str, Mapping[str, object]]) -> None:
    """Each ``{module: {name: expected}}`` imports, and gives ``expected`` or a subclass of it
    (operators come as Airflow-keyword-taking subclasses, ``rebinding.py``)."""
    for module_name, names in paths.items():
        module = importlib.import_module(module_name)
        for name, expected in names.items():
            found = getattr(module, name)
            same = found is expected
            assert same or issubclass(found, expected), f"{module_name}.{name}"  # type: ignore[arg-type]


def assert_import_names_the_extra(module: str, name: str, extra: str, linted: str) -> None:
    """Importing ``name`` from ``module`` fails with one line that names it and the extra to
    install (``conveyor[extra]``), and the lint says the same of the import line ``linted``."""
    with pytest.raises(AirflowNameError) as failed:
        getattr(importlib.import_module(module), name)
    message = str(failed.value)
    assert "\n" not in message and name in message and f"conveyor[{extra}]" in message
    found = check_source(linted)
    assert len(found) == 1 and f"conveyor[{extra}]" in found[0].message
