"""``conveyor[airflow]`` brings what teams' DAG code imports of Airflow's core libraries, as
measured over real repositories (``bench/data/airflow_core_imports.json``)."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
MEASURED = ROOT / "bench" / "data" / "airflow_core_imports.json"

#: Import name -> distribution of the measured libraries.
DISTRIBUTIONS = {
    "requests": "requests",
    "pendulum": "pendulum",
    "dateutil": "python-dateutil",
    "tabulate": "tabulate",
    "slugify": "python-slugify",
    "psycopg2": "psycopg2-binary",
    # Conveyor's own dependencies.
    "sqlalchemy": "sqlalchemy",
    "pydantic": "pydantic",
    "jinja2": "jinja2",
    "yaml": "pyyaml",
}


def _extras() -> dict[str, set[str]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    core = {Requirement(r).name for r in project["dependencies"]}
    return {name: {Requirement(r).name for r in reqs} | core for name, reqs in extras.items()}


def test_every_library_two_teams_import_is_installed_by_an_extra() -> None:
    data = json.loads(MEASURED.read_text())
    extras = _extras()
    installed = extras["airflow"] | extras["postgres"]
    for module, repositories in data["repositories_importing"].items():
        if repositories < 2:
            continue  # one team's choice
        assert DISTRIBUTIONS[module] in installed, module


def test_the_airflow_extra_keeps_airflows_version_ranges() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    ranges = {
        Requirement(r).name: str(Requirement(r).specifier)
        for r in project["optional-dependencies"]["airflow"]
    }
    # apache-airflow-core 3.3.2's Requires-Dist for the same distributions.
    assert ranges == {
        "pendulum": ">=3.1.0",
        "requests": "<3,>=2.32.0",
        "python-dateutil": ">=2.7.0",
        "tabulate": ">=0.9.0",
        "python-slugify": ">=5.0",
    }
