"""A new user's first hour: a missing extra, `conveyor run` of a scheduled or failing DAG,
shell completion. Real `conveyor` processes, stdout a pipe as in CI or a script."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from cli_processes import CTRL_C_LIMIT_SECONDS, cli_process, run_cli
from conftest import PAUSED_AT_CREATION_VAR

CONVEYOR = str(Path(sys.executable).parent / "conveyor")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A home and an empty DAG folder, and every other setting at its default: new DAGs
    paused at creation too (the tests' opt-out removed), which `conveyor run` must not mind."""
    dags = tmp_path / "dags"
    dags.mkdir()
    found = {
        **os.environ,
        "CONVEYOR_HOME": str(tmp_path / "home"),
        "CONVEYOR_DAGS_FOLDER": str(dags),
    }
    found.pop(PAUSED_AT_CREATION_VAR, None)
    return found


conveyor = run_cli


@pytest.fixture
def without_celery(env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """An environment where `import celery` fails as it does when the package is absent."""
    shadow = tmp_path / "no-celery"
    (shadow / "celery").mkdir(parents=True)
    (shadow / "celery" / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'celery'\", name='celery')\n"
    )
    return {**env, "PYTHONPATH": str(shadow)}


def test_worker_without_celery_names_the_extra_without_a_traceback(
    without_celery: dict[str, str],
) -> None:
    result = conveyor(without_celery, "worker")
    assert result.returncode == 1
    error = result.stderr.strip()
    assert error.startswith(
        "error: conveyor worker needs the Python package 'celery', which is not installed: "
    )
    assert "\n" not in error and "install" in error and "conveyor[celery]" in error
    assert "Traceback" not in result.stderr + result.stdout


def test_scheduler_with_the_celery_executor_without_celery(without_celery: dict[str, str]) -> None:
    result = conveyor({**without_celery, "CONVEYOR_EXECUTOR": "celery"}, "scheduler")
    assert result.returncode == 1
    assert "conveyor[celery]" in result.stderr
    assert "Traceback" not in result.stderr
    flower = conveyor(without_celery, "flower")
    assert flower.returncode == 1
    assert "conveyor[flower]" in flower.stderr  # its extra brings Celery too
    assert "Traceback" not in flower.stderr


def test_remote_logs_without_the_s3_client_stop_the_scheduler_at_once(
    env: dict[str, str], tmp_path: Path
) -> None:
    shadow = tmp_path / "no-obstore"
    (shadow / "obstore").mkdir(parents=True)
    (shadow / "obstore" / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'obstore'\", name='obstore')\n"
    )
    broken = {**env, "PYTHONPATH": str(shadow), "CONVEYOR_REMOTE_LOGS_URL": "s3://logs/conveyor"}
    result = conveyor(broken, "scheduler", timeout=30)
    assert result.returncode == 1
    assert "conveyor[s3]" in result.stderr
    assert "Traceback" not in result.stderr


SCHEDULED = """
    from datetime import datetime

    from conveyor import DAG, task

    # Paused at creation, by the setting and by its own word: `conveyor run` runs it anyway.
    with DAG("daily", schedule="@daily", start_date=datetime(2026, 1, 1), catchup=False,
             is_paused_upon_creation=True):
        @task
        def hello():
            print("hello")

        hello()
"""


def test_run_of_a_scheduled_dag_makes_only_the_run_asked_for(
    env: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "daily.py"
    path.write_text(textwrap.dedent(SCHEDULED))
    result = conveyor(env, "run", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    # Every run that ran a task left a log folder: only the manual one may be there.
    runs = sorted(p.name for p in (Path(env["CONVEYOR_HOME"]) / "logs" / "daily").iterdir())
    assert len(runs) == 1 and runs[0].startswith("manual__"), runs
    assert result.stdout.count("hello success") == 1  # one progress line per state change


RETRIED = """
    from datetime import timedelta

    from conveyor import DAG, task

    with DAG("flaky"):
        @task(retries=1, retry_delay=timedelta(minutes={minutes}))
        def load():
            print("connecting to the warehouse")
            raise ValueError("column 'amount' is missing")

        load()
"""


def test_run_prints_a_failed_try_at_once_with_the_time_of_the_next(
    env: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "flaky.py"
    path.write_text(textwrap.dedent(RETRIED.format(minutes=10)))
    with cli_process(["run", str(path)], env) as run:
        last = run.wait_for_line(r"^next try at", timeout=60)
        # The retry is ten minutes away and the run still going: the error came first.
        assert run.returncode is None, run.output
        text = run.output
        assert "load failed on try 1 of 2 (exception)" in text
        assert "ValueError: column 'amount' is missing" in text
        assert "connecting to the warehouse" in text  # the log's last lines
        next_try = r"next try at \d\d:\d\d:\d\d UTC \(in (9m \d+|10m 0)s\)\n"
        assert re.fullmatch(next_try, last), text
        # Waiting for the retry, Ctrl-C stops it.
        took = run.seconds_to_end(run.ctrl_c(), limit=30)
        assert took < CTRL_C_LIMIT_SECONDS, run.output
        assert run.returncode == 130, run.output


def test_run_with_no_retry_delay_retries_at_once_after_printing_the_error(
    env: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "flaky.py"
    path.write_text(textwrap.dedent(RETRIED.format(minutes=10)))
    started = time.monotonic()
    result = conveyor(env, "run", str(path), "--no-retry-delay")
    assert time.monotonic() - started < 30
    assert result.returncode == 1
    out = result.stdout
    first_error = out.index("load failed on try 1 of 2")
    assert out.index("ValueError: column 'amount' is missing") > first_error
    assert first_error < out.index("load queued (try 2/2)")  # printed before the retry ran
    assert "load failed on try 2 of 2" in out
    assert "run failed" in out


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_prints_the_shell_script(env: dict[str, str], shell: str) -> None:
    result = conveyor(env, "completion", shell)
    assert result.returncode == 0, result.stderr
    assert "_CONVEYOR_COMPLETE" in result.stdout
    # The script works: asking for completions of "conveyor da" offers "dags".
    words = {"COMP_WORDS": "conveyor da", "COMP_CWORD": "1"}
    offered = subprocess.run(
        [CONVEYOR],
        env={**env, **words, "_CONVEYOR_COMPLETE": "bash_complete"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "dags" in offered.stdout
