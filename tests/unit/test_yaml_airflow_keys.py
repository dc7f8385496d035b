"""The DAG and task keys Conveyor took from Airflow read the same in a YAML file as in
Python: the same DAG, serialized, and the same refusals of a bad value."""

from __future__ import annotations

import textwrap
from datetime import datetime
from typing import Any

import pytest

from conveyor import DAG, BashOperator, EmptyOperator
from conveyor.loading.serialize import serialize_dag
from conveyor.loading.yaml import YamlDagError, load_yaml_text

YAML = """
dags:
  keys:
    start_date: 2024-01-01
    schedule: "@daily"
    timezone: Europe/Amsterdam
    is_paused_upon_creation: false
    fail_fast: true
    dag_display_name: Keys, nicely
    default_args:
      weight_rule: upstream
      max_active_tis_per_dagrun: 3
    tasks:
      first:
        operator: bash
        bash_command: echo 1
        max_active_tis_per_dag: 2
        wait_for_downstream: true
        weight_rule: absolute
        start_date: 2024-03-01
        end_date: 2024-09-30 18:00
        task_display_name: The first step
        map_index_template: "{{ ds }}"
      second:
        operator: empty
        depends_on: [first]
"""


def _python() -> DAG:
    with DAG(
        "keys",
        start_date=datetime(2024, 1, 1),
        schedule="@daily",
        timezone="Europe/Amsterdam",
        is_paused_upon_creation=False,
        fail_fast=True,
        dag_display_name="Keys, nicely",
        default_args={"weight_rule": "upstream", "max_active_tis_per_dagrun": 3},
    ) as dag:
        first = BashOperator(
            task_id="first",
            bash_command="echo 1",
            max_active_tis_per_dag=2,
            wait_for_downstream=True,
            weight_rule="absolute",
            start_date=datetime(2024, 3, 1),
            end_date=datetime(2024, 9, 30, 18),
            task_display_name="The first step",
            map_index_template="{{ ds }}",
        )
        first >> EmptyOperator(task_id="second")
    return dag


def _comparable(dag: DAG) -> dict[str, Any]:
    data = serialize_dag(dag)
    data.pop("fileloc", None)
    return data


def test_the_keys_mean_in_yaml_what_they_mean_in_python() -> None:
    (loaded,) = load_yaml_text(YAML, "dags/keys.yaml")
    python = _python()
    assert _comparable(loaded) == _comparable(python)
    first, second = loaded.task_dict["first"], loaded.task_dict["second"]
    assert (loaded.fail_fast, loaded.dag_display_name) == (True, "Keys, nicely")
    assert loaded.is_paused_upon_creation is False
    assert (first.max_active_tis_per_dag, first.max_active_tis_per_dagrun) == (2, 3)
    assert (first.wait_for_downstream, first.depends_on_past) == (True, True)
    assert (first.weight_rule, second.weight_rule) == ("absolute", "upstream")
    for name in ("start_date", "end_date"):  # read in the DAG's time zone, as in Python
        assert getattr(first, name) == getattr(python.task_dict["first"], name)
    assert first.task_display_name == "The first step"
    assert first.map_index_template == "{{ ds }}"


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        (
            "weight_rule",
            "sideways",
            "7:22: DAG 'bad', task 't': invalid 'weight_rule': expected one of 'downstream', "
            "'upstream' or 'absolute', found 'sideways'",
        ),
        (
            "max_active_tis_per_dag",
            "0",
            "7:33: DAG 'bad', task 't': invalid 'max_active_tis_per_dag': expected a number "
            ">= 1, found 0",
        ),
        (
            "start_date",
            "someday",
            "7:21: DAG 'bad', task 't': invalid date: expected a date or date-time such as "
            "2024-01-01 or 2024-01-01T06:00:00+00:00, found 'someday'",
        ),
    ],
)
def test_a_bad_value_is_refused_at_its_key(key: str, value: str, message: str) -> None:
    text = textwrap.dedent(
        f"""
        dags:
          bad:
            tasks:
              t:
                operator: empty
                {key}: {value}
        """
    )
    with pytest.raises(YamlDagError) as caught:
        load_yaml_text(text, "dags/bad.yaml")
    assert [str(p) for p in caught.value.problems] == [f"dags/bad.yaml:{message}"]
