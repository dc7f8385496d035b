"""Which files of a folder are looked at: ``.airflowignore`` in both syntaxes, Airflow 3.3's
parse heuristic, and which YAML files are Conveyor pipelines.

The expected lists of the two layouts below are what Airflow 3.3.2's own file discovery
(``find_path_from_directory``) returns for the same trees, measured once on a real install.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conveyor.airflow_compat.plugins import module_names
from conveyor.loading.discovery import (
    Discovery,
    candidate_files,
    find_dag_files,
    is_pipeline_file,
    looks_like_dag_file,
)

DAG_TEXT = "from airflow import DAG\n"

GLOB_TREE = {
    ".airflowignore": (
        "# the team's rules\ntests/\n*_wip.py   # half done\n"
        "/scripts/run.py\n!keep_wip.py\ndbt/**\n"
    ),
    "a.py": DAG_TEXT,
    "b_wip.py": DAG_TEXT,
    "keep_wip.py": DAG_TEXT,
    "tests/test_a.py": DAG_TEXT,
    "scripts/run.py": DAG_TEXT,
    "scripts/other.py": DAG_TEXT,
    "sub/run.py": DAG_TEXT,
    "sub/c_wip.py": DAG_TEXT,
    "sub/.airflowignore": "local.py\n/deep/x.py\n!c_wip.py\n",
    "sub/local.py": DAG_TEXT,
    "sub/deep/x.py": DAG_TEXT,
    "sub/deep/y.py": DAG_TEXT,
    "sub/deep/local.py": DAG_TEXT,
    "other/local.py": DAG_TEXT,
    "other/deep/x.py": DAG_TEXT,
    "dbt/models/m.py": DAG_TEXT,
    "notes.yml": DAG_TEXT,
}
#: Airflow 3.3.2 with dag_ignore_file_syntax = glob.
GLOB_KEPT = [
    "a.py",
    "keep_wip.py",
    "notes.yml",
    "other/deep/x.py",
    "other/local.py",
    "scripts/other.py",
    "sub/c_wip.py",
    "sub/deep/y.py",
    "sub/run.py",
]

REGEXP_TREE = {
    ".airflowignore": "tests\n_wip\\.py$   # half done\n^scripts/run\n[unclosed\n",
    "a.py": DAG_TEXT,
    "b_wip.py": DAG_TEXT,
    "tests/test_a.py": DAG_TEXT,
    "mytests.py": DAG_TEXT,
    "scripts/run.py": DAG_TEXT,
    "scripts/other.py": DAG_TEXT,
    "sub/run.py": DAG_TEXT,
    # A nested file's expressions are matched against the path from the DAG folder's root,
    # and apply below its own folder only.
    "sub/.airflowignore": "^sub/local\nlocal2\n",
    "sub/local.py": DAG_TEXT,
    "sub/local2.py": DAG_TEXT,
    "other/local.py": DAG_TEXT,
    "other/local2.py": DAG_TEXT,
}
#: Airflow 3.3.2 with dag_ignore_file_syntax = regexp (the invalid line is skipped).
REGEXP_KEPT = ["a.py", "other/local.py", "other/local2.py", "scripts/other.py", "sub/run.py"]


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def relative(root: Path, paths: list[Path]) -> list[str]:
    return sorted(os.path.relpath(p, root) for p in paths)


def test_glob_rules_match_airflow_3(tmp_path: Path) -> None:
    root = write_tree(tmp_path, GLOB_TREE)
    found = candidate_files(root, Discovery(ignore_syntax="glob"))
    assert relative(root, found) == GLOB_KEPT


def test_regexp_rules_match_airflow_3(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    root = write_tree(tmp_path, REGEXP_TREE)
    found = candidate_files(root, Discovery(ignore_syntax="regexp"))
    assert relative(root, found) == REGEXP_KEPT
    assert "invalid regular expression '[unclosed' skipped" in caplog.text
    assert f"{root / '.airflowignore'}:4" in caplog.text


def test_the_syntax_comes_from_airflows_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONVEYOR_HOME", str(tmp_path / "home"))
    root = write_tree(tmp_path / "dags", {".airflowignore": "^skipped\n", "skipped.py": DAG_TEXT})
    monkeypatch.setenv("AIRFLOW__CORE__DAG_IGNORE_FILE_SYNTAX", "regexp")
    assert find_dag_files(root) == []
    monkeypatch.setenv("AIRFLOW__CORE__DAG_IGNORE_FILE_SYNTAX", "glob")  # Airflow 3's default
    assert find_dag_files(root) == [root / "skipped.py"]


def test_a_changed_ignore_file_is_read_again(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {".airflowignore": "a.py\n", "a.py": DAG_TEXT, "b.py": DAG_TEXT})
    glob = Discovery(ignore_syntax="glob")
    assert relative(root, candidate_files(root, glob)) == ["b.py"]
    (root / ".airflowignore").write_text("b.py  # now the other one\n")
    assert relative(root, candidate_files(root, glob)) == ["a.py"]


DEFAULT = Discovery()


def test_the_heuristic_is_airflow_3_3s(tmp_path: Path) -> None:
    def check(text: str, discovery: Discovery = DEFAULT) -> bool:
        path = tmp_path / "f.py"
        path.write_text(text)
        return looks_like_dag_file(path, discovery)

    assert check("from airflow.sdk import asset\n@asset(schedule=None)\ndef orders(): ...\n")
    assert check("import AIRFLOW  # my_Dag")
    assert check("from conveyor import Asset")
    assert not check("import airflow\n")  # neither dag nor asset
    assert not check("def build_dag(): ...\n")  # neither airflow nor conveyor
    assert not check("from airflow import DAG", Discovery(airflow=False))
    assert check("print('a helper')\n", Discovery(safe_mode=False))  # every Python file


def test_a_yaml_file_is_a_pipeline_only_with_its_dags_key(tmp_path: Path) -> None:
    files = {
        "pipeline.yaml": "# sales\ndefaults:\n  retries: 1\ndags:\n  sales: {}\n",
        "quoted.yml": '"dags":\n  x: {}\n',
        "second_document.yaml": "---\ndags:\n  y: {}\n",
        "dbt/dbt_project.yml": "name: shop\nversion: '1.0'\nprofile: shop\n",
        "dbt/models/properties.yml": "version: 2\nmodels:\n  - name: orders\n",
        "factory.yml": "orders_dag:\n  default_args:\n    owner: me\n  tasks:\n    dags: {}\n",
        "ci.yml": "on: push\njobs:\n  test: {}\n",
    }
    root = write_tree(tmp_path, files)
    pipelines = sorted(rel for rel in files if is_pipeline_file(root / rel))
    assert pipelines == ["pipeline.yaml", "quoted.yml", "second_document.yaml"]
    assert relative(root, find_dag_files(root, Discovery())) == pipelines


def test_the_plugins_folder_honours_its_ignore_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONVEYOR_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("AIRFLOW__CORE__DAG_IGNORE_FILE_SYNTAX", raising=False)
    monkeypatch.delenv("CONVEYOR_DAG_IGNORE_FILE_SYNTAX", raising=False)
    plugins = write_tree(
        tmp_path / "plugins",
        {
            ".airflowignore": "scratch.py\ntests/\n",
            "kept.py": "",
            "scratch.py": "",
            "tests/test_kept.py": "",
            "ops/__init__.py": "",
            "ops/.airflowignore": "old_*.py\n",
            "ops/old_sensor.py": "",
            "ops/sensor.py": "",
        },
    )
    assert module_names(str(plugins)) == ["kept", "ops", "ops.sensor"]
