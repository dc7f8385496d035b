"""The `conveyor` command as a user runs it: real processes, a real SQLite store."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
import textwrap
import time
from contextlib import closing
from pathlib import Path

import pytest

from cli_processes import cli_env, cli_process

CONVEYOR = str(Path(sys.executable).parent / "conveyor")
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "dags"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return cli_env(tmp_path, CONVEYOR_EXAMPLE_OUTPUT=str(tmp_path / "out" / "orders.db"))


def conveyor(
    env: dict[str, str], *args: str, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CONVEYOR, *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def write_dag(env: dict[str, str], name: str, body: str) -> Path:
    path = Path(env["CONVEYOR_DAGS_FOLDER"]) / name
    path.write_text(textwrap.dedent(body))
    return path


GOOD = """
    from conveyor import DAG, task

    with DAG("good"):
        @task
        def one():
            return 1

        @task
        def two(x):
            print("two got", x)
            return x + 1

        two(one())
"""

FAILING = """
    from conveyor import DAG, task

    with DAG("failing"):
        @task
        def explode():
            print("reading input")
            raise ValueError("column 'amount' is missing")

        @task
        def after(x):
            return x

        after(explode())
"""


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.glob("*.py")))
def test_run_each_example_exits_zero(env: dict[str, str], example: str) -> None:
    result = conveyor(env, "run", str(EXAMPLES / example))
    several = re.search(r"defines \d+ DAGs \(([^)]*)\)", result.stderr)
    if several:  # a file with several DAGs: each of them, by name
        for dag_id in several.group(1).split(", "):
            named = conveyor(env, "run", str(EXAMPLES / example), dag_id)
            assert named.returncode == 0, named.stdout + named.stderr
            assert "run success" in named.stdout
        return
    assert result.returncode == 0, result.stdout + result.stderr
    assert "run success" in result.stdout


def test_run_a_yaml_file_that_defines_several_dags(env: dict[str, str]) -> None:
    path = str(EXAMPLES / "yaml" / "orders_by_table.yaml")
    unnamed = conveyor(env, "run", path)
    assert unnamed.returncode == 1
    assert "defines 3 DAGs" in unnamed.stderr
    named = conveyor(env, "run", path, "orders_invoices")
    assert named.returncode == 0, named.stdout + named.stderr
    assert "run success" in named.stdout


def test_run_failing_dag_exits_nonzero_and_prints_exception(env: dict[str, str]) -> None:
    path = write_dag(env, "failing.py", FAILING)
    result = conveyor(env, "run", str(path))
    assert result.returncode == 1
    assert "explode failed" in result.stdout
    assert "ValueError: column 'amount' is missing" in result.stdout
    assert f'{path}", line 8, in explode' in result.stdout  # the user's frame, with its line
    assert "reading input" in result.stdout  # what the task printed before it failed
    assert "upstream_failed" in result.stdout


def test_run_by_dag_id_from_the_dags_folder(env: dict[str, str]) -> None:
    write_dag(env, "good.py", GOOD)
    result = conveyor(env, "run", "good")
    assert result.returncode == 0, result.stdout + result.stderr
    missing = conveyor(env, "run", "nope")
    assert missing.returncode == 1
    assert "no DAG 'nope'" in missing.stderr


def test_dags_errors_names_file_and_line(env: dict[str, str]) -> None:
    write_dag(env, "good.py", GOOD)
    broken = write_dag(env, "broken.py", "from conveyor import DAG\nx = 1\nundefined_name\n")
    result = conveyor(env, "dags", "errors")
    assert result.returncode == 1
    assert f"{broken}:3" in result.stdout
    assert "NameError: name 'undefined_name' is not defined" in result.stdout
    listing = conveyor(env, "dags", "list")
    assert "good" in listing.stdout
    assert "1 DAG file(s) fail to load" in listing.stdout


def test_trigger_scheduler_show_why_logs(env: dict[str, str]) -> None:
    write_dag(env, "good.py", GOOD)
    write_dag(env, "failing.py", FAILING)
    assert conveyor(env, "dags", "trigger", "good", "--conf", '{"k": 1}').returncode == 0
    assert conveyor(env, "dags", "trigger", "failing").returncode == 0
    bad_conf = conveyor(env, "dags", "trigger", "good", "--conf", "{oops")
    assert bad_conf.returncode == 1 and "--conf is not valid JSON" in bad_conf.stderr

    with cli_process(["scheduler"], env) as scheduler:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            listing = conveyor(env, "runs", "list").stdout
            if listing.count("success") + listing.count("failed") >= 2:
                break
            time.sleep(0.3)
        else:
            pytest.fail(f"runs did not finish:\n{listing}")
        scheduler.seconds_to_end(scheduler.terminate(), limit=20)
    assert scheduler.returncode == 0, scheduler.output
    assert "scheduler stopped" in scheduler.output

    shown = conveyor(env, "runs", "show", "failing", "latest")
    assert "failed" in shown.stdout
    assert "ValueError: column 'amount' is missing" in shown.stdout

    why = conveyor(env, "tasks", "why", "good", "latest", "two")
    assert why.returncode == 0, why.stderr
    for kind in ("scheduled", "queued", "started", "success"):
        assert kind in why.stdout
    assert "worker@" in why.stdout  # the fast path scheduled it, not the scheduler loop

    waiting = conveyor(env, "tasks", "why", "failing", "latest", "after")
    assert "upstream_failed" in waiting.stdout

    logs = conveyor(env, "tasks", "logs", "good", "latest", "two")
    assert "two got 1" in logs.stdout


def test_pause_unpause_and_db_commands(env: dict[str, str]) -> None:
    write_dag(env, "good.py", GOOD)
    assert "good is paused" in conveyor(env, "dags", "pause", "good").stdout
    assert "good is unpaused" in conveyor(env, "dags", "unpause", "good").stdout
    assert conveyor(env, "dags", "pause", "nope").returncode == 1
    assert conveyor(env, "db", "migrate").returncode == 0
    again = conveyor(env, "db", "migrate")
    assert "is current" in again.stdout
    assert conveyor(env, "db", "check").returncode == 0
    shown = conveyor(env, "dags", "show", "good")
    assert "two (PythonOperator) after one" in shown.stdout


def test_config_show_says_where_values_come_from(env: dict[str, str], tmp_path: Path) -> None:
    home = Path(env["CONVEYOR_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    (home / "conveyor.toml").write_text("[conveyor]\nparallelism = 3\n")
    env = {**env, "CONVEYOR_DATABASE_URL": "postgresql://u:secret@db/conveyor"}
    result = conveyor(env, "config", "show")
    assert result.returncode == 0, result.stderr
    lines = {line.split()[0]: line for line in result.stdout.splitlines() if line.strip()}
    assert "3" in lines["parallelism"] and "conveyor.toml" in lines["parallelism"]
    assert "env CONVEYOR_DAGS_FOLDER" in lines["dags_folder"]
    assert ":secret@" not in result.stdout and "u:***@db" in result.stdout
    bad = conveyor({**env, "CONVEYOR_PARALLELISM": "zero"}, "config", "show")
    assert bad.returncode == 1
    assert "setting 'parallelism'" in bad.stderr and "'zero'" in bad.stderr


def _wait_for_its_heartbeat(
    env: dict[str, str], process: subprocess.Popen[str], limit: float = 60.0
) -> None:
    """Until the scheduler ``process`` has written its first heartbeat, so it has started (a
    fixed sleep was too short on a loaded machine)."""
    database = Path(env["CONVEYOR_HOME"]) / "conveyor.db"
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            with (
                # Read-only: never creates it.
                closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as conn,
                conn,
            ):
                found = "SELECT count(*) FROM scheduler WHERE pid = ?"
                if conn.execute(found, (process.pid,)).fetchone()[0]:
                    return
        except sqlite3.Error:
            pass  # not created or migrated yet
        time.sleep(0.1)
    raise AssertionError(f"no scheduler heartbeat in {database} after {limit:g} s")


def test_second_scheduler_on_sqlite_is_refused(env: dict[str, str]) -> None:
    with cli_process(["scheduler"], env) as first:
        _wait_for_its_heartbeat(env, first.popen)
        second = conveyor(env, "scheduler", timeout=30)
        assert second.returncode == 1
        assert "SQLite allows one scheduler" in second.stderr
        first.seconds_to_end(first.terminate(), limit=20)
    # The first one stopped cleanly: a new scheduler may start at once, nothing to delete by hand.
    with cli_process(["scheduler"], env) as again:
        _wait_for_its_heartbeat(env, again.popen)
        assert again.returncode is None
        again.seconds_to_end(again.terminate(), limit=20)
        assert again.returncode == 0


def test_new_dag_file_appears_while_standalone_runs(env: dict[str, str]) -> None:
    with cli_process(["standalone"], env) as process:
        time.sleep(2.0)
        write_dag(
            env,
            "good.py",
            GOOD.replace(
                'DAG("good")',
                'DAG("good", schedule="@once", '
                'start_date=__import__("datetime").datetime(2026, 1, 1))',
            ),
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if "success" in conveyor(env, "runs", "list", "--dag", "good").stdout:
                break
            time.sleep(0.3)
        else:
            pytest.fail("the @once run of a new DAG file did not succeed")
        process.seconds_to_end(process.ctrl_c(), limit=20)
    assert "Conveyor standalone" in process.output
    assert str(Path(env["CONVEYOR_DAGS_FOLDER"])) in process.output


BROKEN_YAML = """\
dags:
  nightly:
    schedule: "61 * * * *"
    tasks:
      extract:
        operator: bash
        bash_command: echo hi
      load:
        operator: bash
        bash_command: echo hi
        retries: many
        depends_on: [extract, missing]
"""


def test_dags_validate_reports_every_problem_with_its_place(
    env: dict[str, str], tmp_path: Path
) -> None:
    bad = tmp_path / "nightly.yaml"
    bad.write_text(BROKEN_YAML)
    result = conveyor(env, "dags", "validate", str(bad))
    assert result.returncode == 1
    out = result.stdout
    # Every problem of the file at once, each at its line and column.
    assert f"{bad}:3:15: DAG 'nightly': invalid cron expression" in out
    assert f"{bad}:11:18: DAG 'nightly', task 'load': wrong type for 'retries'" in out
    assert f"{bad}:12:31: DAG 'nightly', task 'load': unknown task 'missing'" in out
    good = conveyor(env, "dags", "validate", str(EXAMPLES))
    assert good.returncode == 0, good.stdout + good.stderr


def test_dags_export_round_trips_and_refuses_what_yaml_cannot_say(
    env: dict[str, str], tmp_path: Path
) -> None:
    env = {**env, "CONVEYOR_DAGS_FOLDER": str(EXAMPLES)}
    exported = tmp_path / "hello_bash.yaml"
    result = conveyor(env, "dags", "export", "hello_bash", "--format", "yaml", "-o", str(exported))
    assert result.returncode == 0, result.stderr
    assert "operator: bash" in exported.read_text()
    assert conveyor(env, "dags", "validate", str(exported)).returncode == 0
    refused = conveyor(env, "dags", "export", "etl_orders", "--format", "yaml")
    assert refused.returncode == 1
    assert "task 'extract'" in refused.stderr
    schema = conveyor(env, "dags", "schema")
    assert schema.returncode == 0
    assert (
        schema.stdout == (Path(__file__).parents[2] / "docs/conveyor-dag.schema.json").read_text()
    )
