"""A DAG's ``template_undefined``: what a name no one defined renders as (Airflow's keyword)."""

from __future__ import annotations

import jinja2
import pytest

from conveyor import BashOperator
from conveyor.airflow_compat.lint import check_source
from conveyor.airflow_compat.shims import DAG
from conveyor.exceptions import DagDefinitionError, TemplateError
from conveyor.model.templating import render_template_fields


def _rendered(**dag_options: object) -> str:
    with DAG("d", schedule=None, **dag_options):
        task = BashOperator(task_id="t", bash_command="echo [{{ nobody_set_this }}]")
    render_template_fields(task, {"params": {}})
    return str(task.bash_command)


def test_an_undefined_name_is_an_error_by_default() -> None:
    with pytest.raises(TemplateError, match="'nobody_set_this' is undefined"):
        _rendered()


def test_jinja2_undefined_renders_an_undefined_name_as_nothing() -> None:
    assert _rendered(template_undefined=jinja2.Undefined) == "echo []"


def test_a_value_that_is_no_undefined_class_is_refused() -> None:
    with pytest.raises(DagDefinitionError, match="template_undefined must be a jinja2 Undefined"):
        _rendered(template_undefined="lenient")


def test_the_source_pass_accepts_the_keyword() -> None:
    source = "\n".join(
        [
            "import jinja2",
            "from airflow import DAG",
            "with DAG('t', template_undefined=jinja2.Undefined):",
            "    pass",
        ]
    )
    assert check_source(source) == []
