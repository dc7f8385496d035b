"""``conveyor dags validate`` warns, at file:line, about each keyword Conveyor still accepts
and ignores, saying what it does on Airflow; the warnings follow the compat table's notes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conveyor.airflow_compat import table
from conveyor.airflow_compat.lint import ignored_keywords

CLI = str(Path(sys.executable).parent / "conveyor")

TWO_IGNORED = textwrap.dedent(
    """\
    from datetime import datetime

    from airflow import DAG
    from airflow.operators.bash import BashOperator

    with DAG(
        "two_ignored",
        schedule=None,
        start_date=datetime(2024, 1, 1),
        default_view="graph",
    ):
        BashOperator(
            task_id="a",
            bash_command="echo a",
            run_as_user="etl",
        )
    """
)


def test_each_ignored_keyword_is_reported_at_its_line_with_its_airflow_meaning() -> None:
    found = ignored_keywords(TWO_IGNORED)
    assert [(f.line, f.message.split("=")[0]) for f in found] == [
        (10, "keyword default_view"),
        (15, "keyword run_as_user"),
    ]
    assert "on Airflow it opens the DAG on this view in the UI" in found[0].message
    assert "on Airflow it runs the task as this Unix user" in found[1].message
    # The DAG's own start_date is no task's: never a warning.
    assert all("start_date" not in f.message for f in found)


def test_a_keyword_given_its_meaning_is_not_reported_nor_a_file_without_airflow() -> None:
    """A task's own start_date has its meaning now (the task is not scheduled before it):
    no warning; another ignored keyword in its place is; a file that does not import
    Airflow is left alone."""
    dated = TWO_IGNORED.replace('run_as_user="etl"', "start_date=datetime(2024, 2, 1)")
    assert "start_date" not in table.ignored_keywords()
    assert [f.line for f in ignored_keywords(dated)] == [10]
    configured = TWO_IGNORED.replace('run_as_user="etl"', "executor_config={}")
    assert [f.line for f in ignored_keywords(configured)] == [10, 15]
    assert ignored_keywords(configured.replace("airflow", "conveyor")) == []


def test_executor_config_warns_naming_the_executor_that_honours_it_and_only_elsewhere() -> None:
    configured = TWO_IGNORED.replace('run_as_user="etl"', "executor_config={}, resources={}")
    found = [f.message for f in ignored_keywords(configured) if f.line == 15]
    assert len(found) == 2
    assert all("Kubernetes executor" in message for message in found), found
    for executor in ("kubernetes", "celery_kubernetes"):
        assert [f.line for f in ignored_keywords(configured, executor=executor)] == [10]


def test_the_warnings_follow_the_table(monkeypatch: pytest.MonkeyPatch) -> None:
    """A keyword given its meaning (its note no longer says "accepted and ignored") or taken
    out of the table warns no more."""
    accepted = dict(table.ACCEPTED_KEYWORDS)
    accepted["run_as_user"] = "runs the task as this Unix user"
    del accepted["default_view"]
    monkeypatch.setattr(table, "ACCEPTED_KEYWORDS", accepted)
    assert ignored_keywords(TWO_IGNORED) == []


def test_dags_validate_prints_the_warnings_and_still_succeeds(tmp_path: Path) -> None:
    path = tmp_path / "two_ignored.py"
    path.write_text(TWO_IGNORED)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONVEYOR_", "AIRFLOW"))}
    env.update(CONVEYOR_HOME=str(tmp_path / "home"), COLUMNS="300")
    done = subprocess.run(
        [CLI, "dags", "validate", str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{path}:10:5: warning: keyword default_view= is accepted; display only" in done.stdout
    assert f"{path}:15:9: warning: keyword run_as_user= is accepted and ignored" in done.stdout
    assert f"ok: {path}" in done.stdout
