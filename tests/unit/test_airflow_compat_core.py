"""What the Airflow layer changed in Conveyor's own model and runner, for every DAG.

default_args carrying DAG-level keys, XComArg in templates and as text, ``result["key"]``,
``multiple_outputs``, ``do_xcom_push``, logging into the try's log, ``get_current_context``,
and the source checks of ``conveyor dags validate``. Runs go through ``conveyor.testing``
(the real planning and runner on an in-memory store).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from conveyor import DAG, BashOperator, PythonOperator, task
from conveyor.airflow_compat.lint import check_source, refused_at_use
from conveyor.exceptions import TaskError
from conveyor.loading.yaml.validate import validate_paths
from conveyor.model.runtime import get_current_context
from conveyor.model.templating import render_value
from conveyor.model.xcom_arg import XComArg, pull_xcom_arg
from conveyor.testing import run_dag


def test_dag_level_keys_come_from_default_args() -> None:
    start, end = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)
    dag = DAG(
        "da",
        schedule="@daily",
        default_args={"start_date": start, "end_date": end, "params": {"x": 1}, "retries": 2},
        params={"x": 0, "y": 2},
    )
    assert dag.start_date == start and dag.end_date == end
    assert dag.params == {"x": 1, "y": 2}  # default_args' params win, as in Airflow
    explicit = DAG("db", start_date=datetime(2025, 1, 1), default_args={"start_date": start})
    assert explicit.start_date == datetime(2025, 1, 1, tzinfo=UTC)


def test_an_xcom_arg_reads_as_the_template_that_pulls_it() -> None:
    with DAG("s"):
        source = BashOperator(task_id="source", bash_command="echo 1")
    assert str(source.output) == (
        "{{ task_instance.xcom_pull(task_ids='source', key='return_value') }}"
    )
    assert f"echo {XComArg(source, 'n')}" == (
        "echo {{ task_instance.xcom_pull(task_ids='source', key='n') }}"
    )


def test_an_xcom_arg_in_a_templated_field_is_a_dependency() -> None:
    with DAG("t"):
        source = BashOperator(task_id="source", bash_command="echo 1")
        user = BashOperator(task_id="user", bash_command=source.output)
    assert user.upstream_task_ids == {"source"}


class _Ti:
    def __init__(self, values: dict[tuple[str, str], Any]) -> None:
        self.values = values

    def xcom_pull_one(self, task_id: str, key: str = "return_value") -> Any:
        return self.values.get((task_id, key))


def test_a_key_of_a_returned_dict_resolves_and_a_missing_one_is_an_error() -> None:
    with DAG("k"):
        source = BashOperator(task_id="source", bash_command="echo 1")
    ti = _Ti({("source", "return_value"): {"a": 1}, ("source", "pushed"): 7})
    assert pull_xcom_arg(source.output["a"], ti.xcom_pull_one) == 1
    assert pull_xcom_arg(source.output["pushed"], ti.xcom_pull_one) == 7
    assert render_value(source.output["a"], {"ti": ti}) == 1  # data, not rendered again
    with pytest.raises(TaskError, match=r"pushed no XCom 'b' and returned a dict without"):
        pull_xcom_arg(source.output["b"], ti.xcom_pull_one)
    with pytest.raises(TaskError, match="returned list, not a dict"):
        pull_xcom_arg(source.output["a"], _Ti({("source", "return_value"): [1]}).xcom_pull_one)


def test_results_keys_logging_and_context_in_a_run() -> None:
    with DAG("run", start_date=datetime(2026, 1, 1)) as dag:

        @task(multiple_outputs=True)
        def split() -> dict[str, int]:
            logging.getLogger("my.pipeline").info("splitting now")
            return {"low": 1, "high": 9}

        @task
        def plain() -> dict[str, int]:
            return {"mid": 5}

        @task
        def spread(low: int, high: int, mid: int) -> int:
            return high - low + mid + len(get_current_context()["run_id"]) * 0

        parts, other = split(), plain()
        result = spread(parts["low"], parts["high"], other["mid"])
        quiet = PythonOperator(task_id="quiet", python_callable=lambda: 3)
        quiet.do_xcom_push = False
        echo = BashOperator(task_id="echo", bash_command=f"echo spread={result}")
        result >> echo
    outcome = run_dag(dag)
    outcome.raise_for_failure()
    assert outcome.xcom("split", "low") == 1 and outcome.xcom("split", "high") == 9
    assert outcome.xcom("split") == {"low": 1, "high": 9}
    assert outcome.xcom("plain", "mid") is None  # not pushed per key without multiple_outputs
    assert outcome.xcom("spread") == 13
    assert outcome.xcom("quiet") is None
    assert "spread=13" in outcome.tasks["echo"].log
    assert "INFO - splitting now" in outcome.tasks["split"].log


def test_get_current_context_outside_a_task_says_where_to_call_it() -> None:
    with pytest.raises(TaskError, match="outside a running task"):
        get_current_context()


def test_the_source_check_finds_every_problem_with_its_line() -> None:
    source = "\n".join(
        [
            "from airflow import DAG",
            "from airflow.providers.snowflake.operators.snowflake import SnowflakeOperator",
            "from airflow.operators.subdag import SubDagOperator",
            "from airflow.operators.bash import BashOperator, NoSuch",
            "with DAG('x', schedule='@daily', schedule_interval='@daily', timetable=None):",
            "    pass",
        ]
    )
    found = [(f.line, f.message) for f in check_source(source)]
    assert [line for line, _ in found] == [2, 5, 5]
    assert "SnowflakeOperator" in found[0][1] and "'snowflake' provider" in found[0][1]
    assert any("keep schedule=" in m for _, m in found[1:])
    assert any("timetable=" in m for _, m in found[1:])
    # Names of Airflow's core that import and refuse at use: warnings at their lines.
    warned = [(f.line, f.message) for f in refused_at_use(source)]
    assert [line for line, _ in warned] == [3, 4]
    assert "use a TaskGroup" in warned[0][1]
    assert "airflow.operators.bash.NoSuch" in warned[1][1]


def test_validate_reports_every_problem_of_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONVEYOR_HOME", str(tmp_path / "home"))
    path = tmp_path / "mixed.py"
    path.write_text(
        "from conveyor import DAG\n"
        "from conveyor import NoSuchThing\n"
        "with DAG('m', schedule_interval='@daily', concurrency=2):\n"
        "    pass\n"
    )
    problems = validate_paths([str(path)])
    assert [(p.line, p.column) for p in problems] == [(2, 1), (3, 15), (3, 43)]
    assert "schedule=" in problems[1].message and "max_active_tasks=" in problems[2].message


def test_validate_says_a_scheduled_dag_without_start_date_never_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONVEYOR_HOME", str(tmp_path / "home"))
    path = tmp_path / "nostart.py"
    path.write_text("from conveyor import DAG\nd = DAG('nostart', schedule='@daily')\n")
    (problem,) = validate_paths([str(path)])
    assert "never runs" in problem.message and problem.dag_id == "nostart"
