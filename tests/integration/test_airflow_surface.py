"""Every module and public name of Airflow 2.10 and 3.0-3.3 (core, Task SDK, the standard
provider, the old paths Airflow forwards) imports on Conveyor, read from the released wheels
at test time (``airflow_surface.py``); what Conveyor does not implement refuses at first use
with the name and the docs; Airflow's configuration defaults are the wheel's.

About 7 s with the wheels cached in ``.cache/airflow-wheels`` (the first run downloads
about 40 MB and reads them, about 40 s more).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from airflow_surface import Surface, config_defaults, read_surface

from conveyor import airflow_compat
from conveyor.airflow_compat import AirflowNameError, AirflowNotProvidedError, table
from conveyor.airflow_compat.airflow_defaults import AIRFLOW_DEFAULTS_VERSION, DEFAULTS
from conveyor.airflow_compat.configuration import AIRFLOW_VERSION
from conveyor.airflow_compat.core_values import STANDARD_PROVIDER_VERSION, TASK_SDK_VERSION

# The first run downloads ten wheels (about 40 MB) and parses them.
pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def surface() -> Surface:
    return read_surface()


@pytest.fixture
def hook(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.setenv("CONVEYOR_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CONVEYOR_AIRFLOW_COMPAT", raising=False)
    monkeypatch.delenv("AIRFLOW_HOME", raising=False)
    assert airflow_compat.activate() is True
    yield
    airflow_compat.uninstall()


def test_every_module_and_public_name_of_airflow_imports(surface: Surface, hook: None) -> None:
    assert len(surface.names) > 900  # the wheels were read, not an empty cache
    failed: list[str] = []
    for module_name, names in sorted(surface.names.items()):
        try:
            module = importlib.import_module(module_name)
        except Exception as exc:
            failed.append(f"import {module_name}: {type(exc).__name__}: {exc}")
            continue
        for name in sorted(n for n in names if not n.startswith("__")):
            try:
                getattr(module, name)
            except Exception as exc:
                failed.append(f"{module_name}.{name}: {type(exc).__name__}: {exc}")
    assert failed == []


def test_the_declared_versions_are_the_releases_conveyor_implements(hook: None) -> None:
    import airflow
    import airflow.providers.standard
    import airflow.sdk
    from airflow.version import version

    assert airflow.__version__ == version == AIRFLOW_VERSION == AIRFLOW_DEFAULTS_VERSION
    assert airflow.sdk.__version__ == TASK_SDK_VERSION
    assert airflow.providers.standard.__version__ == STANDARD_PROVIDER_VERSION


def test_old_paths_into_other_providers_import_or_name_the_package(
    surface: Surface, hook: None
) -> None:
    """A 1.10 path that Airflow 2.10 forwards into a provider's package exists on Airflow
    only with that package: Conveyor answers the ones it ships, and refuses the rest at
    import naming the provider."""
    assert len(surface.to_providers) > 100
    for path, target in sorted(surface.to_providers.items()):
        module_name, _, name = path.rpartition(".")
        try:
            getattr(importlib.import_module(module_name), name)
        except AirflowNameError as exc:
            assert "not provided by Conveyor" in str(exc) and table.DOCS in str(exc), path
        except AirflowNotProvidedError:
            pass  # a module Conveyor answers whose name refuses at use: imported
        assert target.startswith("airflow.providers."), path


#: Names of Airflow's core that Conveyor does not implement, with a word of what the message
#: says to use instead. Each is checked to be in the wheels' surface first.
REFUSED = {
    "airflow.models.DagModel": "conveyor dags pause",
    "airflow.models.dag.DagModel": "conveyor dags pause",
    "airflow.models.log.Log": "REST API",
    "airflow.models.taskreschedule.TaskReschedule": "REST API",
    "airflow.models.renderedtifields.RenderedTaskInstanceFields": "REST API",
    "airflow.jobs.job.Job": "REST API",
    "airflow.operators.subdag.SubDagOperator": "TaskGroup",
}


def test_a_sample_of_refused_names_refuses_at_use_with_the_message(
    surface: Surface, hook: None
) -> None:
    for path, instead in REFUSED.items():
        module_name, _, name = path.rpartition(".")
        assert name in surface.names[module_name], f"{path} is not Airflow's"
        refused = getattr(importlib.import_module(module_name), name)

        class Subclassed(refused):  # type: ignore[misc, valid-type]  # a base class works
            pass

        assert not isinstance(object(), refused)
        for use in ("call", "attribute", "subclass"):
            with pytest.raises(AirflowNotProvidedError) as caught:
                if use == "call":
                    refused()
                elif use == "attribute":
                    refused.query  # noqa: B018
                else:
                    Subclassed()
            message = str(caught.value)
            assert path in message and instead in message and table.DOCS in message
    # Every 97th name Conveyor answers with a stand-in, across the whole surface.
    sampled = 0
    for index, (module_name, name) in enumerate(_stand_ins(surface)):
        if index % 97:
            continue
        with pytest.raises(AirflowNotProvidedError, match=f"{module_name}.{name}"):
            getattr(importlib.import_module(module_name), name)()
        sampled += 1
    assert sampled > 5


def _stand_ins(surface: Surface) -> Iterator[tuple[str, str]]:
    for module_name, names in sorted(surface.names.items()):
        for name in sorted(names):
            if name.startswith("__") or table.lookup(module_name, name) is not None:
                continue
            if table.known_module(f"{module_name}.{name}"):
                continue  # a submodule Conveyor answers
            yield module_name, name


def test_airflow_defaults_are_the_released_configs() -> None:
    """``conf.get`` gives Airflow's default for a key Conveyor has no setting of its own
    for: the defaults Conveyor carries are the 3.3.2 wheel's, key for key."""
    assert config_defaults(AIRFLOW_DEFAULTS_VERSION) == DEFAULTS
