"""The API refuses a run id that breaks the rule with a 422 naming it, and stores nothing.
The attack: a run id with NUL was accepted (201) on SQLite and took standalone down."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_helpers import World, close, make_world
from sqlalchemy import func, select

from conveyor.store.tables import dag_run

CONVEYOR = str(Path(sys.executable).parent / "conveyor")


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
        ("line\u2028sep", "the line separator U+2028 at position 4"),
        ("para\u2029sep", "the paragraph separator U+2029 at position 4"),
        ("evil\u202efdp.exe", "the invisible formatting character U+202E at position 4"),
        ("zero\u200bwidth", "the invisible formatting character U+200B at position 4"),
        ("\ufeffbom", "the invisible formatting character U+FEFF at position 0"),
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


@pytest.mark.parametrize("run_id", ["a\u2028b", "a\u202eb", "a\u200bb", "\ufeffa"])
def test_the_cli_refuses_invisible_and_separator_characters_in_a_run_id(
    world: World, run_id: str
) -> None:
    environ = {
        **os.environ,
        "CONVEYOR_HOME": str(world.tmp / "cli-home"),
        "CONVEYOR_DATABASE_URL": world.store.url,
        "CONVEYOR_DAGS_FOLDER": str(world.settings.dags_path),
    }
    done = subprocess.run(
        [CONVEYOR, "dags", "trigger", "pipeline", "--run-id", run_id],
        env=environ,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    bad = next(char for char in run_id if char != "a")
    assert f"U+{ord(bad):04X} at position {run_id.index(bad)}" in done.stderr
    assert "no invisible formatting characters" in done.stderr
    with world.store.read() as conn:
        assert conn.execute(select(func.count()).select_from(dag_run)).scalar() == 0
