"""The API refuses a run id that breaks the rule with a 422 naming it, and stores nothing.
The attack: a run id with NUL was accepted (201) on SQLite and took standalone down."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from api_helpers import World, close, make_world
from sqlalchemy import func, select

from conveyor.store.tables import dag_run


@pytest.fixture
def world(tmp_path: Path, store_url: str) -> Iterator[World]:
    made = make_world(tmp_path, store_url, execute=())
    try:
        yield made
    finally:
        close(made)


@pytest.mark.parametrize(
    ("run_id", "why"),
    [
        ("nul\x00id", "U+0000"),
        ("new\nline", "U+000A"),
        ("..", "it is '..'"),
        (".", "it is '.'"),
        ("a/b", "contains '/'"),
        ("x" * 251, "251 characters"),
    ],
)
def test_a_bad_run_id_is_a_422_naming_the_rule(world: World, run_id: str, why: str) -> None:
    client = world.client("op")
    response = client.post("/api/v1/dags/pipeline/runs", json={"run_id": run_id})
    assert response.status_code == 422, response.text
    assert why in response.text or "at most 250" in response.text, response.text
    with world.store.read() as conn:
        assert conn.execute(select(func.count()).select_from(dag_run)).scalar() == 0


def test_an_unusual_but_valid_run_id_is_accepted(world: World) -> None:
    client = world.client("op")
    response = client.post("/api/v1/dags/pipeline/runs", json={"run_id": "a:b+c ü"})
    assert response.status_code == 201, response.text
    assert response.json()["run_id"] == "a:b+c ü"
