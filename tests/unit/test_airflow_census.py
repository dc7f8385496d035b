"""The census of real Airflow DAG files (bench/data) and the script that reports on it."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _census_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("airflow_census", BENCH / "airflow_census.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def test_the_census_keeps_names_only_from_enough_files_and_repositories() -> None:
    records = json.loads((BENCH / "data" / "airflow_census.json").read_text())["files"]
    assert len(records) >= 150
    assert len({r["repository"] for r in records}) >= 50
    fields = {"repository", "commit", "path", "imports", "dag_keywords", "call_keywords"}
    for record in records:
        assert set(record) == fields
        prefixes = ("import airflow", "from airflow")
        assert all(line.startswith(prefixes) for line in record["imports"])
        assert all(keyword.isidentifier() for keyword in record["call_keywords"])


def test_a_file_is_accepted_only_when_every_name_and_keyword_is_taken() -> None:
    census = _census_script()
    taken = {
        "repository": "a/b",
        "path": "dags/ok.py",
        "imports": ["from airflow import DAG", "from airflow.operators.bash import BashOperator"],
        "call_keywords": ["task_id", "bash_command"],
    }
    assert census.judge(taken).accepted

    refused = {**taken, "imports": [*taken["imports"], "from airflow.providers.zzz.hooks import H"]}
    verdict = census.judge(refused)
    assert not verdict.accepted
    assert verdict.refused == ("airflow.providers.zzz.hooks.H",)
    assert census.is_provider(verdict.refused[0])
    assert not census.is_provider("airflow.operators.PythonOperator")


def test_the_report_ranks_refused_names_by_files() -> None:
    census = _census_script()
    verdicts = [
        census.FileVerdict("r1", "a.py", ("airflow.providers.x.A", "airflow.providers.x.A")),
        census.FileVerdict("r1", "b.py", ("airflow.providers.x.A", "airflow.configuration.conf")),
        census.FileVerdict("r2", "c.py", ()),
    ]
    result = census.report(verdicts, top=5)
    assert result["accepted"] == 1
    assert result["repositories"] == 2
    assert result["blocked_by_providers_only"] == 1
    assert result["blocked_by_both"] == 1
    assert result["refused_names"][0] == ("airflow.providers.x.A", 2)
