"""Templated fields are rendered with Jinja just before ``execute``.

A wrong render runs the wrong command on the wrong day's data, and an undefined variable must
stop the try with the task and field named rather than run a command with a hole in it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from conveyor import DAG, BashOperator, PythonOperator
from conveyor.exceptions import TemplateError
from conveyor.model.templating import render_template_fields, render_value

CONTEXT: dict[str, Any] = {
    "ds": "2024-03-01",
    "ds_nodash": "20240301",
    "run_id": "scheduled__2024-03-01T00:00:00+00:00",
    "params": {"table": "events", "limit": 10},
}


def test_bash_command_env_and_cwd_are_rendered() -> None:
    op = BashOperator(
        task_id="load",
        bash_command="load --day {{ ds }} --table {{ params.table }} --run '{{ run_id }}'\n",
        env={"DAY": "{{ ds_nodash }}", "LIMIT": "{{ params.limit * 2 }}"},
        cwd="/data/{{ ds }}",
    )
    render_template_fields(op, CONTEXT)
    assert op.bash_command == (
        "load --day 2024-03-01 --table events --run 'scheduled__2024-03-01T00:00:00+00:00'"
    )  # the trailing newline is dropped, as Airflow's Jinja environment does
    assert op.env == {"DAY": "20240301", "LIMIT": "20"}
    assert op.cwd == "/data/2024-03-01"


def test_nested_lists_and_dicts_are_rendered_and_other_values_untouched() -> None:
    marker = object()
    when = datetime(2024, 1, 1, tzinfo=UTC)
    op = PythonOperator(
        task_id="py",
        python_callable=lambda *a, **k: None,
        op_args=["{{ ds }}", 7, None, ("{{ params.table }}", 1.5)],
        op_kwargs={
            "paths": ["/in/{{ ds }}", {"out": "/out/{{ ds_nodash }}", "n": 3}],
            "flag": True,
            "when": when,
            "obj": marker,
            "plain": "no template here {not jinja}",
        },
    )
    render_template_fields(op, CONTEXT)
    assert op.op_args == ["2024-03-01", 7, None, ("events", 1.5)]
    assert isinstance(op.op_args[3], tuple)
    assert op.op_kwargs["paths"] == ["/in/2024-03-01", {"out": "/out/20240301", "n": 3}]
    assert op.op_kwargs["flag"] is True
    assert op.op_kwargs["when"] is when
    assert op.op_kwargs["obj"] is marker
    assert op.op_kwargs["plain"] == "no template here {not jinja}"


def test_none_fields_stay_none() -> None:
    op = BashOperator(task_id="t", bash_command="echo {{ ds }}")
    render_template_fields(op, CONTEXT)
    assert (op.env, op.cwd) == (None, None)


def test_jinja_statements_are_rendered() -> None:
    value = "{% for p in parts %}{{ p }}{% if not loop.last %},{% endif %}{% endfor %}"
    assert render_value(value, {"parts": ["a", "b", "c"]}) == "a,b,c"


def test_undefined_variable_names_the_task_and_the_field() -> None:
    with DAG("d"):
        op = BashOperator(task_id="load", bash_command="echo {{ ds }} {{ nope }}")
    with pytest.raises(TemplateError) as err:
        render_template_fields(op, CONTEXT)
    assert (
        str(err.value) == "task 'load', field 'bash_command': UndefinedError: 'nope' is undefined"
    )


def test_undefined_attribute_inside_a_nested_field_is_named_too() -> None:
    op = BashOperator(task_id="t", bash_command="true", env={"X": "{{ params.missing }}"})
    with pytest.raises(TemplateError, match=r"^task 't', field 'env': UndefinedError: .*missing"):
        render_template_fields(op, CONTEXT)


def test_syntax_error_in_a_template_gives_the_template_line() -> None:
    op = BashOperator(task_id="t", bash_command="echo ok\necho {{ ds }\n")
    with pytest.raises(TemplateError) as err:
        render_template_fields(op, CONTEXT)
    message = str(err.value)
    assert message.startswith("task 't', field 'bash_command': TemplateSyntaxError: ")
    assert message.endswith("(template line 2)")
