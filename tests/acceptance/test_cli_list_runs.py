"""``conveyor dags list-runs``: Airflow's spelling of ``conveyor runs list``, on both stores."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import Cli, make_cli

from conveyor.states import RunState
from conveyor.store import runs, transitions
from conveyor.store.engine import Store

ONE_TASK = """
    from conveyor import DAG, EmptyOperator

    with DAG("one"):
        EmptyOperator(task_id="a")
"""


@pytest.fixture
def cli(tmp_path: Path, store_url: str, store: Store, monkeypatch: pytest.MonkeyPatch) -> Cli:
    """DAG ``one`` with a queued run ``first`` and a failed run ``second``."""
    made = make_cli(tmp_path, store_url, store, monkeypatch)
    made.write_dag("one.py", ONE_TASK)
    made.trigger("one", "first")
    made.trigger("one", "second")
    with store.write() as conn:
        pk = runs.find_run(conn, "one", "second").id
        assert transitions.move_run(conn, pk, expected=[RunState.QUEUED], to=RunState.FAILED)
    return made


def test_list_runs_takes_airflows_dag_id_and_state(cli: Cli) -> None:
    failed = cli("dags", "list-runs", "-d", "one", "--state", "failed", "-o", "json")
    assert failed.exit_code == 0, failed.output
    assert [r["run_id"] for r in json.loads(failed.output)["runs"]] == ["second"]

    every = cli("dags", "list-runs", "--dag-id", "one", "-o", "json")
    assert every.exit_code == 0, every.output
    assert {r["run_id"] for r in json.loads(every.output)["runs"]} == {"first", "second"}
    same = cli("runs", "list", "--dag", "one", "-o", "json")
    assert json.loads(every.output) == json.loads(same.output)


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["dags", "list-runs"], 2, "name the DAG: conveyor dags list-runs DAG_ID (or -d DAG_ID)"),
        (["dags", "list-runs", "-d", "nope"], 1, "nope"),
        (["dags", "list-runs", "-d", "one", "--state", "bogus"], 2, "'bogus' is not one of"),
    ],
)
def test_list_runs_bad_input(cli: Cli, args: list[str], code: int, message: str) -> None:
    result = cli(*args)
    assert result.exit_code == code, result.output
    assert message in result.output
