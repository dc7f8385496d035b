"""``conveyor tasks clear|mark`` and ``conveyor runs clear|mark`` on both stores."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import Cli, make_cli

from conveyor.states import RunState, TaskState
from conveyor.store.engine import Store

S = TaskState
R = RunState

# a -> b -> c, and d on its own.
CHAIN = """
    from conveyor import DAG, EmptyOperator

    with DAG("chain"):
        a = EmptyOperator(task_id="a")
        b = EmptyOperator(task_id="b")
        c = EmptyOperator(task_id="c")
        d = EmptyOperator(task_id="d")
        a >> b >> c
"""


@pytest.fixture
def run(
    tmp_path: Path, store_url: str, store: Store, monkeypatch: pytest.MonkeyPatch
) -> tuple[Cli, str]:
    """A run of ``chain`` with a and d success, b and c failed, marked through the CLI."""
    cli = make_cli(tmp_path, store_url, store, monkeypatch)
    cli.write_dag("chain.py", CHAIN)
    run_id = cli.trigger("chain")
    for task_id, state in (("a", "success"), ("b", "failed"), ("c", "failed"), ("d", "success")):
        result = cli("tasks", "mark", "chain", run_id, task_id, "--state", state)
        assert result.exit_code == 0, result.output
        assert f"marked {state}: {task_id}" in result.output
    assert cli.states("chain", run_id) == {
        "a": S.SUCCESS,
        "b": S.FAILED,
        "c": S.FAILED,
        "d": S.SUCCESS,
    }
    return cli, run_id


def test_tasks_clear_downstream_resets_the_task_and_what_follows(run: tuple[Cli, str]) -> None:
    cli, run_id = run
    result = cli("tasks", "clear", "chain", run_id, "b", "--downstream", "--yes")
    assert result.exit_code == 0, result.output
    assert "cleared: b, c" in result.output
    assert cli.states("chain", run_id) == {"a": S.SUCCESS, "b": S.NONE, "c": S.NONE, "d": S.SUCCESS}


def test_tasks_clear_upstream_lists_first_and_does_nothing_when_refused(
    run: tuple[Cli, str],
) -> None:
    cli, run_id = run
    refused = cli("tasks", "clear", "chain", run_id, "c", "-u", input="n\n")
    assert refused.exit_code == 1
    listed = refused.output.split("will clear")[1]
    assert [line.split()[0] for line in listed.splitlines()[1:4]] == ["a", "b", "c"]
    assert "d " not in listed
    assert cli.states("chain", run_id)["a"] is S.SUCCESS  # nothing written

    accepted = cli("tasks", "clear", "chain", run_id, "c", "-u", input="y\n")
    assert accepted.exit_code == 0, accepted.output
    assert cli.states("chain", run_id) == {"a": S.NONE, "b": S.NONE, "c": S.NONE, "d": S.SUCCESS}


def test_tasks_clear_only_failed_keeps_the_successes(run: tuple[Cli, str]) -> None:
    cli, run_id = run
    result = cli("tasks", "clear", "chain", run_id, "a", "-d", "-f", "-y")
    assert result.exit_code == 0, result.output
    assert cli.states("chain", run_id) == {"a": S.SUCCESS, "b": S.NONE, "c": S.NONE, "d": S.SUCCESS}


def test_runs_clear_resets_every_task_or_only_the_failed(run: tuple[Cli, str]) -> None:
    cli, run_id = run
    result = cli("runs", "clear", "chain", run_id, "--only-failed", "--yes")
    assert result.exit_code == 0, result.output
    assert cli.states("chain", run_id) == {"a": S.SUCCESS, "b": S.NONE, "c": S.NONE, "d": S.SUCCESS}

    result = cli("runs", "clear", "chain", "latest", "-y")
    assert result.exit_code == 0, result.output
    assert set(cli.states("chain", run_id).values()) == {S.NONE}


def test_runs_mark_failed_keeps_finished_tasks_and_success_marks_all(
    run: tuple[Cli, str],
) -> None:
    cli, run_id = run
    assert cli("tasks", "clear", "chain", run_id, "c", "-y").exit_code == 0
    result = cli("runs", "mark", "chain", run_id, "--state", "failed")
    assert result.exit_code == 0, result.output
    assert "marked failed: c" in result.output
    assert cli.states("chain", run_id) == {
        "a": S.SUCCESS,
        "b": S.FAILED,
        "c": S.FAILED,
        "d": S.SUCCESS,
    }

    result = cli("runs", "mark", "chain", run_id, "--state", "success")
    assert result.exit_code == 0, result.output
    assert set(cli.states("chain", run_id).values()) == {S.SUCCESS}


def test_a_finished_run_goes_back_to_the_scheduler_when_cleared(run: tuple[Cli, str]) -> None:
    cli, run_id = run
    assert cli("runs", "mark", "chain", run_id, "--state", "success").exit_code == 0
    assert cli.run_state("chain", run_id) is R.SUCCESS  # marked: the run moves at once
    result = cli("tasks", "clear", "chain", run_id, "d", "-y")
    assert result.exit_code == 0, result.output
    assert cli.run_state("chain", run_id) is R.QUEUED
    assert "run is queued" in result.output


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["tasks", "clear", "chain", "RUN", "nope", "-y"], 1, "has no task 'nope'"),
        (["tasks", "mark", "chain", "RUN", "nope", "--state", "success"], 1, "no task 'nope'"),
        (["runs", "clear", "chain", "no-such-run", "-y"], 1, "no-such-run"),
        (["runs", "mark", "chain", "RUN", "--state", "running"], 2, "'running' is not one of"),
        (["tasks", "mark", "chain", "RUN", "a"], 2, "Missing option '--state'"),
    ],
)
def test_bad_input_says_what_and_changes_nothing(
    run: tuple[Cli, str], args: list[str], code: int, message: str
) -> None:
    cli, run_id = run
    before = cli.states("chain", run_id)
    result = cli(*[run_id if a == "RUN" else a for a in args])
    assert result.exit_code == code, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert cli.states("chain", run_id) == before
