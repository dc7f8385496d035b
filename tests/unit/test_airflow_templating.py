"""The standard template context (``macros``, ``execution_date``, ``next_ds`` ...) and template
files (``template_ext`` / ``templates_exts`` with ``template_searchpath``), rendered as the
worker renders them."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from conveyor import DAG, BashOperator, PythonOperator
from conveyor.exceptions import TemplateError
from conveyor.model.templating import (
    ds_add,
    ds_format,
    render_template_fields,
    standard_context,
)
from conveyor.run_views import DagRunType


def context_for(dag: DAG, task: Any, start: datetime, end: datetime) -> dict[str, Any]:
    base = {
        "dag": dag,
        "task": task,
        "logical_date": start,
        "data_interval_start": start,
        "data_interval_end": end,
        "ds": start.strftime("%Y-%m-%d"),
        "ds_nodash": start.strftime("%Y%m%d"),
    }
    return {**standard_context(base), **base}


def test_macros_and_dates_of_a_daily_run() -> None:
    with DAG("daily", schedule="@daily", start_date=datetime(2026, 1, 1)) as d:
        t = BashOperator(
            task_id="t",
            bash_command=(
                "{{ macros.ds_add(ds, 7) }} {{ macros.ds_format(ds, '%Y-%m-%d', '%d/%m') }} "
                "{{ execution_date.year }} {{ prev_ds }} {{ next_ds }} {{ next_ds_nodash }} "
                "{{ yesterday_ds }} {{ tomorrow_ds_nodash }} {{ ts_nodash_with_tz }} "
                "{{ task_instance_key_str }} "
                "{{ (macros.datetime(2026, 1, 1) + macros.timedelta(days=1)).day }} "
                "{{ macros.uuid.uuid4() | string | length }}"
            ),
        )
    start = datetime(2026, 3, 10, tzinfo=UTC)
    task = copy.copy(t)
    render_template_fields(task, context_for(d, task, start, start + timedelta(days=1)))
    assert task.bash_command.split() == [
        "2026-03-17",
        "10/03",
        "2026",
        "2026-03-09",
        "2026-03-11",
        "20260311",
        "2026-03-09",
        "20260311",
        "20260310T000000+0000",
        "daily__t__20260310",
        "2",
        "36",
    ]


def test_ds_helpers() -> None:
    assert ds_add("2026-01-05", -4) == "2026-01-01"
    assert ds_format("2026-01-05", "%Y-%m-%d", "%m-%d-%y") == "01-05-26"


def test_a_value_ending_in_a_template_ext_is_read_from_the_searchpath(tmp_path: Path) -> None:
    (tmp_path / "dag_folder").mkdir()
    (tmp_path / "sql").mkdir()
    (tmp_path / "dag_folder" / "run.sh").write_text("echo {{ ds }} {{ params.who }}\n")
    (tmp_path / "sql" / "q.sql").write_text("select * from t where day = '{{ ds_nodash }}'")
    with DAG("files", template_searchpath=str(tmp_path / "sql"), params={"who": "me"}) as d:
        bash = BashOperator(task_id="bash", bash_command="run.sh")
        literal = BashOperator(task_id="literal", bash_command="run.sh ")  # a space: no file
        py = PythonOperator(
            task_id="py",
            python_callable=lambda: None,
            templates_dict={"query": "q.sql"},
            templates_exts=[".sql"],
        )
    d.fileloc = str(tmp_path / "dag_folder" / "files.py")
    start = datetime(2026, 3, 10, tzinfo=UTC)
    rendered = []
    for original in (bash, literal, py):
        task = copy.copy(original)
        ctx = context_for(d, task, start, start)
        ctx["params"] = d.params
        render_template_fields(task, ctx)
        rendered.append(task)
    # As Airflow's Jinja environment: the file's one trailing newline is dropped.
    assert rendered[0].bash_command == "echo 2026-03-10 me"
    assert rendered[1].bash_command == "run.sh "
    assert rendered[2].templates_dict == {"query": "select * from t where day = '20260310'"}


def test_a_missing_template_file_says_where_it_looked(tmp_path: Path) -> None:
    with DAG("missing") as d:
        BashOperator(task_id="b", bash_command="nope.sh")
    d.fileloc = str(tmp_path / "missing.py")
    task = copy.copy(d.get_task("b"))
    start = datetime(2026, 3, 10, tzinfo=UTC)
    with pytest.raises(TemplateError, match=r"template file 'nope\.sh' not found in .*add a space"):
        render_template_fields(task, context_for(d, task, start, start))


def test_user_defined_macros_and_filters() -> None:
    with DAG(
        "udm", user_defined_macros={"team": "data"}, user_defined_filters={"shout": str.upper}
    ) as d:
        BashOperator(task_id="b", bash_command="{{ team | shout }}")
    task = copy.copy(d.get_task("b"))
    start = datetime(2026, 3, 10, tzinfo=UTC)
    render_template_fields(task, context_for(d, task, start, start))
    assert task.bash_command == "DATA"


def test_prev_ds_follows_the_schedule_not_the_interval_length() -> None:
    with DAG("monthly", schedule="@monthly", start_date=datetime(2026, 1, 1)) as d:
        t = BashOperator(task_id="t", bash_command="{{ prev_ds }} {{ ds }} {{ next_ds }}")
    start = datetime(2026, 3, 1, tzinfo=UTC)
    task = copy.copy(t)
    render_template_fields(task, context_for(d, task, start, datetime(2026, 4, 1, tzinfo=UTC)))
    assert task.bash_command == "2026-02-01 2026-03-01 2026-04-01"
    manual = copy.copy(t)
    render_template_fields(manual, context_for(d, manual, start, start))  # no interval
    assert manual.bash_command == "2026-03-01 2026-03-01 2026-03-01"
    # A person's run covers the last whole month, yet its prev_ds and next_ds are its own
    # ds, as a triggered run's are on Airflow 2.
    triggered = copy.copy(t)
    base = {
        "dag": d,
        "task": triggered,
        "logical_date": start,
        "data_interval_start": datetime(2026, 2, 1, tzinfo=UTC),
        "data_interval_end": start,
        "ds": "2026-03-01",
        "dag_run": SimpleNamespace(run_type=DagRunType.MANUAL),
    }
    render_template_fields(triggered, {**standard_context(base), **base})
    assert triggered.bash_command == "2026-03-01 2026-03-01 2026-03-01"


def test_date_filters_a_macro_named_like_the_context_and_dag_owner() -> None:
    with DAG("filters", user_defined_macros={"ds": "a macro", "team": "ops"}) as d:
        BashOperator(task_id="first", owner="data", bash_command="")
        BashOperator(task_id="second", bash_command="")
        task = BashOperator(
            task_id="t",
            owner="data",
            bash_command=(
                "{{ data_interval_end | ds }} {{ data_interval_end | ds_nodash }} "
                "{{ data_interval_end | ts }} {{ data_interval_end | ts_nodash }} "
                "{{ data_interval_end | ts_nodash_with_tz }} {{ none | ds }} "
                "{{ ds }} {{ team }} {{ dag.owner }}\n"
            ),
        )
    start = datetime(2026, 3, 10, tzinfo=UTC)
    task = copy.copy(task)
    render_template_fields(task, context_for(d, task, start, start + timedelta(hours=30)))
    assert task.bash_command == (
        "2026-03-11 20260311 2026-03-11T06:00:00+00:00 20260311T060000 20260311T060000+0000 "
        "None 2026-03-10 ops data, airflow"  # the run's ds wins; the newline is dropped
    )


def test_a_dag_callbacks_reason_is_airflows_word() -> None:
    from conveyor.callbacks import airflow_reason
    from conveyor.states import RunState

    assert airflow_reason(RunState.SUCCESS, "all tasks succeeded") == "success"
    assert airflow_reason(RunState.FAILED, "task 'load' failed") == "task_failure"
    assert airflow_reason(RunState.FAILED, "run timed out: running longer than ...") == "timed_out"
    assert airflow_reason(RunState.FAILED, "deadlock: a can never run") == "all_tasks_deadlocked"
