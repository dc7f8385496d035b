"""A failed try's error, as its task page's failure box shows it: the operator's own message
and the user's frames, never Conveyor's frames or the server's install paths. Runs two tiny
DAGs in-process (``conveyor.testing``); under 2 s."""

from __future__ import annotations

from pathlib import Path

import conveyor
from conveyor import DAG, BashOperator, task
from conveyor.testing import run_dag

INSTALL_DIR = str(Path(conveyor.__file__).resolve().parent)


def test_a_failed_bash_operator_shows_its_message_alone() -> None:
    with DAG("bash_fails", schedule=None) as dag:
        BashOperator(task_id="load", bash_command="echo loading; exit 3")
    error = run_dag(dag).tasks["load"].error
    assert error is not None
    message = "conveyor.exceptions.TaskError: bash command exited with status 3"
    assert error.splitlines() == [message]
    assert INSTALL_DIR not in error and "Traceback" not in error


def test_a_failed_python_task_shows_the_users_frame_then_the_message() -> None:
    with DAG("python_fails", schedule=None) as dag:

        @task
        def parse() -> None:
            raise ValueError("column 'amount' is missing")

        parse()
    error = run_dag(dag).tasks["parse"].error
    assert error is not None
    lines = error.splitlines()
    assert lines[0].startswith(f'  File "{__file__}"') and "in parse" in lines[0]
    assert lines[-1] == "ValueError: column 'amount' is missing"
    assert INSTALL_DIR not in error
