"""An Airflow 3 file's DAG has none of the context names Airflow 3 removed: a template that
still names one fails, saying what Airflow 3 has instead; an Airflow 2 DAG keeps them."""

from __future__ import annotations

import pytest

from conveyor import BashOperator
from conveyor.airflow_compat.shims import DAG as Airflow2DAG
from conveyor.airflow_compat.shims import SdkDAG
from conveyor.exceptions import TemplateError
from conveyor.model.templating import render_template_fields


def test_a_removed_name_fails_saying_what_airflow_3_has_instead() -> None:
    with SdkDAG("airflow3", schedule=None, auto_register=False):
        old = BashOperator(task_id="old", bash_command="echo {{ yesterday_ds }}")
    with pytest.raises(TemplateError) as err:
        render_template_fields(old, {"ds": "2026-01-02"})
    assert str(err.value) == (
        "task 'old', field 'bash_command': UndefinedError: 'yesterday_ds' is undefined; "
        "Airflow 3 removed 'yesterday_ds' from the context: use macros.ds_add(ds, -1) "
        "(docs/airflow.md, What Airflow's keywords do here)"
    )


def test_other_undefined_names_and_airflow_2_dags_get_no_such_hint() -> None:
    with SdkDAG("airflow3", schedule=None, auto_register=False):
        typo = BashOperator(task_id="typo", bash_command="echo {{ dss }}")
    with Airflow2DAG("airflow2", schedule=None, auto_register=False):
        old = BashOperator(task_id="old", bash_command="echo {{ yesterday_ds }}")
    for task in (typo, old):
        with pytest.raises(TemplateError) as err:
            render_template_fields(task, {"ds": "2026-01-02"})
        assert str(err.value).endswith("is undefined")
    assert "execution_date" in SdkDAG.removed_context_names
    assert not Airflow2DAG.removed_context_names
