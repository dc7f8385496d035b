"""A param's ``pattern`` is searched in linear time: a conf value made to backtrack (the
usual e-mail and host-name patterns, a value of a few dozen characters) is answered at once,
not after hours of one web worker's CPU. The attack: an op triggers a run with such a value."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_helpers import World, close, make_world

from conveyor.exceptions import DagDefinitionError
from conveyor.model.params import Param, conf_errors

#: Patterns that people copy: each takes Python's re seconds on a 25-character value that
#: almost matches, doubling with every character more.
EMAIL = r"^([a-zA-Z0-9_\-\.]+)*@([a-zA-Z0-9\-]+\.)+[a-zA-Z]{2,}$"
HOST = r"^([a-zA-Z0-9]+(-?[a-zA-Z0-9]+)*\.?)+$"

CONTACT = f"""
from conveyor import DAG, Param, task

with DAG("contact", params={{
    "email": Param("ops@example.com", type="string", pattern={EMAIL!r}),
    "host": Param("db.example.com", type="string", pattern={HOST!r}),
}}):
    @task
    def send(params=None):
        return params["email"]

    send()
"""

LOOKAHEAD = """
from conveyor import DAG, Param, task

with DAG("lookahead", params={"code": Param("ab1", type="string", pattern=r"^(?=.*\\d)\\w+$")}):
    @task
    def noop():
        return 1

    noop()
"""


@pytest.fixture
def world(tmp_path: Path, store_url: str) -> Iterator[World]:
    made = make_world(tmp_path, store_url, execute=())
    (made.settings.dags_path / "contact.py").write_text(CONTACT)
    (made.settings.dags_path / "lookahead.py").write_text(LOOKAHEAD)
    from conveyor.loading.processor import DagFileProcessor

    DagFileProcessor(made.store, made.settings.dags_path, timeout=30, scan_every=1).sync()
    try:
        yield made
    finally:
        close(made)


def test_a_conf_value_made_to_backtrack_is_answered_at_once(world: World) -> None:
    op = world.client("op")
    for name in ("email", "host"):
        started = time.monotonic()
        refused = op.post("/api/v1/dags/contact/runs", json={"conf": {name: "a" * 40 + "!"}})
        # Python's re would take hours here; RE2 takes microseconds. The bound is loose on
        # purpose: it only tells "answered" from "stuck".
        assert time.monotonic() - started < 10
        assert refused.status_code == 422, refused.text
        assert f"conf.{name}" in refused.text and "does not match" in refused.text
    fine = op.post(
        "/api/v1/dags/contact/runs",
        json={"conf": {"email": "ann.lee@mail.example.org", "host": "db-1.example.com"}},
    )
    assert fine.status_code in (200, 201), fine.text


def test_a_pattern_that_needs_backtracking_is_refused_where_the_dag_is_defined(
    world: World,
) -> None:
    errors = world.client("viewer").get("/api/v1/import-errors")
    assert errors.status_code == 200, errors.text
    assert "lookahead.py" in errors.text and "look-around or back-references" in errors.text
    with pytest.raises(DagDefinitionError, match="linear time"):
        Param("x", type="string", pattern=r"^(\w)\1$")


def test_a_stored_pattern_that_re2_cannot_run_refuses_the_value_with_the_reason() -> None:
    # A DAG serialized before patterns were checked in RE2 may hold one.
    specs = {"code": {"schema": {"type": "string", "pattern": r"^(?=.*\d)\w+$"}}}
    errors = conf_errors("old", {"code": "ab1"}, {"code": "ab1"}, specs)
    assert len(errors) == 1 and "cannot be checked" in errors[0], errors
