"""A run's conf reaches templates unquoted; the shipped examples never let it reach the shell
as code. The attack: trigger ``branching`` (Python and YAML) with a greeting that runs a
command; the command must not run, and the greeting is printed as typed."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from pathlib import Path

import pytest

from conveyor.loading.importer import import_dag_file
from conveyor.loading.yaml.loader import load_yaml_dags
from conveyor.model.dag import DAG
from conveyor.model.templating import render_value
from conveyor.states import RunState
from conveyor.testing import run_dag

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "dags"
WEDNESDAY = datetime(2026, 3, 4, 10, tzinfo=UTC)


def _example(name: str) -> DAG:
    if name == "branching":
        (found,) = import_dag_file(str(EXAMPLES / "branching.py"))
    else:
        (found,) = load_yaml_dags(str(EXAMPLES / "yaml" / "branching.yaml"))
    return found


@pytest.mark.parametrize("name", ["branching", "branching_yaml"])
@pytest.mark.parametrize(
    ("mode", "task_id"), [("weekday", "weekday_report"), ("weekend", "weekend_cleanup")]
)
def test_conf_in_a_shipped_example_never_runs_as_a_command(
    name: str, mode: str, task_id: str
) -> None:
    marker = Path(f"/tmp/pwned-{secrets.token_hex(8)}")
    greeting = f"$(touch {marker})hi `touch {marker}`; touch {marker}"
    result = run_dag(
        _example(name), conf={"greeting": greeting, "mode": mode}, logical_date=WEDNESDAY
    )
    assert result.state is RunState.SUCCESS, result
    assert not marker.exists(), f"the conf ran a command: {marker} was created"
    assert greeting in result.tasks[task_id].log, result.tasks[task_id].log


def test_shell_quote_makes_any_value_one_literal_shell_word() -> None:
    context = {"v": "a b'c\"$(x)`y`;\nz", "n": 3}
    assert render_value("echo {{ v | shell_quote }}", context) == (
        "echo 'a b'\"'\"'c\"$(x)`y`;\nz'"
    )
    assert render_value("{{ n | shell_quote }}", context) == "3"
