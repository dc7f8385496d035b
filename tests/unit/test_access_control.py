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
