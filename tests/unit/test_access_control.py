"""A DAG's access_control in Airflow 2's, 1.10's and 3's spellings, read into one; what has
no meaning per DAG refused with what to write."""

from __future__ import annotations

from typing import Any

import pytest

from conveyor import DAG
from conveyor.exceptions import DagDefinitionError
from conveyor.loading.serialize import serialize_dag
from conveyor.model.access_control import normalize_access_control


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({"team_a": {"can_read", "can_edit"}}, {"team_a": ["can_edit", "can_read"]}),
        ({"team_a": {"can_dag_read"}}, {"team_a": ["can_read"]}),
        ({"team_a": ["can_dag_edit"], "team_b": ("can_read",)},
         {"team_a": ["can_edit"], "team_b": ["can_read"]}),
        ({"team_a": {"DAGs": {"can_read"}, "DAG Runs": {"can_create"}}},
         {"team_a": ["can_edit", "can_read"]}),
        ({"team_a": {"DAG Runs": {"can_read"}}}, {"team_a": ["can_read"]}),
        ({}, None),
        (None, None),
    ],
)  # fmt: skip
def test_every_spelling_reads_the_same(given: Any, expected: Any) -> None:
    assert normalize_access_control("etl", given) == expected


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"team_a": {"can_fly"}}, "unknown permission 'can_fly'"),
        ({"team_a": {"Connections": {"can_read"}}}, "resource 'Connections' has no meaning"),
        ({"team_a": "can_read"}, "must be a set of permissions"),
        (["team_a"], "must be a dict"),
    ],
)
def test_what_has_no_meaning_is_refused_with_the_place(given: Any, message: str) -> None:
    with pytest.raises(DagDefinitionError, match=message) as caught:
        normalize_access_control("etl", given)
    assert "DAG 'etl': access_control" in str(caught.value)


def test_the_serialized_dag_carries_it_only_when_given() -> None:
    with DAG("kept", access_control={"team_a": {"can_dag_read"}}) as kept:
        pass
    with DAG("plain") as plain:
        pass
    assert serialize_dag(kept)["access_control"] == {"team_a": ["can_read"]}
    assert "access_control" not in serialize_dag(plain)  # older versions' hashes unchanged


def test_airflow_dag_files_pass_it_through() -> None:
    from conveyor.airflow_compat.shims import dag_kwargs

    given = {"team_a": {"can_dag_read"}}
    assert dag_kwargs("etl", {"access_control": given}, None)["access_control"] == given


def test_yaml_dag_files_give_it_too() -> None:
    from conveyor.loading.yaml.errors import YamlDagError
    from conveyor.loading.yaml.export import export_dag
    from conveyor.loading.yaml.loader import load_yaml_text

    text = """
dags:
  yaml_team:
    access_control:
      team_a: [can_read, can_dag_edit]
      team_b: {DAGs: [can_read]}
    tasks:
      hello:
        operator: bash
        bash_command: echo hi
"""
    (dag,) = load_yaml_text(text, "team.yaml")
    assert dag.access_control == {"team_a": ["can_edit", "can_read"], "team_b": ["can_read"]}
    with pytest.raises(YamlDagError, match=r"team.yaml:3:3: .*unknown permission 'can_fly'"):
        load_yaml_text(text.replace("can_dag_edit", "can_fly"), "team.yaml")
    exported = export_dag(dag, "yaml")
    assert load_yaml_text(exported, "again.yaml")[0].access_control == dag.access_control
    assert "access_control" in export_dag(dag, "python")
