"""Conveyor's metric names held to Airflow's own registry of them (its ``metrics_template.yaml``,
taken from the released apache-airflow-core wheel by ``ensure_airflow_spec`` in
scripts/services.sh, never kept in the repository): each legacy name is made by Airflow's
template, and docs/metrics.md says of every metric Airflow has whether it is sent, or why not.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from conveyor.stats.legacy_names import TEMPLATES
from tools_cache import tools_dir

REPO = Path(__file__).resolve().parents[2]
AIRFLOW_VERSION = "3.3.2"


@pytest.fixture(scope="module")
def registry() -> dict[str, dict[str, Any]]:
    default = tools_dir() / "airflow-spec" / AIRFLOW_VERSION / "metrics_template.yaml"
    path = Path(os.environ.get("CONVEYOR_TEST_AIRFLOW_METRICS", default))
    if not path.is_file():
        pytest.fail(
            f"Airflow's metric registry is not at {path}: scripts/test fetches it "
            "(ensure_airflow_spec in scripts/services.sh); run `source scripts/_venv.sh; "
            "source scripts/services.sh; ensure_airflow_spec` once"
        )
    metrics = yaml.safe_load(path.read_text())["metrics"]
    return {metric["name"]: metric for metric in metrics}


def _documented() -> dict[str, str]:
    """docs/metrics.md's tables: each name of a row's first cell, and what the row says."""
    rows: dict[str, str] = {}
    for line in (REPO / "docs" / "metrics.md").read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not cells[0].startswith("`"):
            continue
        for name in re.findall(r"`([^`]+)`", cells[0]):
            rows[name] = cells[-1]
    return rows


def test_each_legacy_name_is_airflows(registry: dict[str, dict[str, Any]]) -> None:
    for name, template in TEMPLATES.items():
        assert name in registry, f"{name} is not one of Airflow's metrics"
        assert registry[name].get("legacy_name") == template, name


def test_every_airflow_metric_is_said_sent_or_why_not(
    registry: dict[str, dict[str, Any]],
) -> None:
    documented = _documented()
    wildcards = [name.removesuffix("*") for name in documented if name.endswith(".*")]
    missing = [
        name
        for name in registry
        if name not in documented and not any(name.startswith(w) for w in wildcards)
    ]
    assert missing == [], f"docs/metrics.md does not say whether these are sent: {missing}"
    unsaid = {
        name: said
        for name, said in documented.items()
        if name in registry and not said.startswith(("sent", "not sent: ", "not sent yet: "))
    }
    assert unsaid == {}, f"each row says `sent` or `not sent: why`: {unsaid}"


def test_a_sent_metric_with_a_legacy_name_is_sent_under_it(
    registry: dict[str, dict[str, Any]],
) -> None:
    sent = {name for name, said in _documented().items() if said.startswith("sent")}
    with_legacy = {
        name for name, metric in registry.items() if metric.get("legacy_name", "-") != "-"
    }
    assert sorted((sent & with_legacy) - TEMPLATES.keys()) == []
