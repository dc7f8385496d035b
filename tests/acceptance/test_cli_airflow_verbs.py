"""Airflow's CLI verbs and flags as a team's scripts type them, on both stores (in-process).

Each test runs the command as Airflow spells it and checks what it changed in the store or
what it printed, as a script would read it.
"""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cli_helpers import Cli, make_cli
from sqlalchemy import Table, insert, select, update

from conveyor.cli.common import settings
from conveyor.connections import repository
from conveyor.states import RunState, TaskState
from conveyor.store import pools, runs, transitions
from conveyor.store.engine import Store
from conveyor.store.tables import dag_run, scheduler, task_instance, triggerer

S = TaskState

# extract -> load_a, load_b -> report
ETL = """
    from datetime import datetime
    from conveyor import DAG, EmptyOperator

    with DAG("etl", schedule="@daily", start_date=datetime(2024, 1, 1), catchup=True):
        extract = EmptyOperator(task_id="extract")
        load_a = EmptyOperator(task_id="load_a")
        load_b = EmptyOperator(task_id="load_b")
        report = EmptyOperator(task_id="report")
        extract >> [load_a, load_b] >> report
"""

ONCE = """
    from conveyor import DAG, EmptyOperator

    with DAG("once", schedule=None):
        EmptyOperator(task_id="only")
"""

HOURLY = """
    from datetime import datetime
    from conveyor import DAG, EmptyOperator
    from conveyor.timetables import CronPartitionTimetable

    with DAG(
        "hourly",
        schedule=CronPartitionTimetable("0 * * * *", timezone="UTC", run_offset=-1),
        start_date=datetime(2024, 1, 1),
        catchup=True,
    ):
        EmptyOperator(task_id="load")
"""

DAYS = ("2024-01-01", "2024-01-05", "2024-02-01")


@pytest.fixture
def cli(tmp_path: Path, store_url: str, store: Store, monkeypatch: pytest.MonkeyPatch) -> Cli:
    made = make_cli(tmp_path, store_url, store, monkeypatch)
    made.write_dag("etl.py", ETL)
    return made


def _run_at(cli: Cli, day: str, conf: dict[str, object] | None = None) -> str:
    """A manual run of etl at ``day`` whose task instances all succeeded."""
    args = ["dags", "trigger", "etl", "-l", day, "-r", f"run_{day}"]
    result = cli(*args, *(["-c", json.dumps(conf)] if conf else []))
    assert result.exit_code == 0, result.output
    _set(cli, f"run_{day}", dict.fromkeys(("extract", "load_a", "load_b", "report"), S.SUCCESS))
    return f"run_{day}"


def _set(cli: Cli, run_id: str, states: dict[str, TaskState]) -> None:
    with cli.store.write() as conn:
        run = runs.find_run(conn, "etl", run_id)
        for ti in runs.task_instances(conn, run.id):
            if ti.task_id in states:
                conn.execute(
                    update(task_instance)
                    .where(task_instance.c.id == ti.id)
                    .values(state=states[ti.task_id].value)
                )


# -- dags trigger -------------------------------------------------------------------------


def test_trigger_takes_airflows_short_flags_and_prints_json(cli: Cli) -> None:
    result = cli(
        "dags", "trigger", "etl", "-c", '{"day": 3}', "-r", "mine",
        "-l", "2024-03-01T06:00:00+02:00", "-o", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["run_id"] == "mine" and shown["conf"] == {"day": 3}
    with cli.store.read() as conn:
        run = runs.find_run(conn, "etl", "mine")
    assert run.conf == {"day": 3}
    assert run.logical_date == datetime(2024, 3, 1, 4, tzinfo=UTC)

    bad = cli("dags", "trigger", "etl", "-l", "yesterday")
    assert bad.exit_code == 2 and "'yesterday' is not a date or time" in bad.output


# -- connections add ----------------------------------------------------------------------


def test_connections_add_in_airflows_three_forms(cli: Cli) -> None:
    uri = cli("connections", "add", "by_uri", "--conn-uri", "postgresql://u:pw@db:5433/sales")
    assert uri.exit_code == 0, uri.output
    fields = cli(
        "connections", "add", "by_fields", "--conn-type", "http", "--conn-host", "api.example",
        "--conn-login", "bot", "--conn-password", "s3cret", "--conn-schema", "https",
        "--conn-port", "8443", "--conn-extra", '{"timeout": 5}', "--conn-description", "the API",
    )  # fmt: skip
    assert fields.exit_code == 0, fields.output
    as_json = cli(
        "connections", "add", "by_json",
        "--conn-json", '{"conn_type": "mysql", "host": "m", "port": 3306, "extra": {"a": 1}}',
    )  # fmt: skip
    assert as_json.exit_code == 0, as_json.output

    found = {
        c: repository.get_connection(cli.store, settings(), c)
        for c in ("by_uri", "by_fields", "by_json")
    }
    assert (found["by_uri"].host, found["by_uri"].port, found["by_uri"].password) == (
        "db", 5433, "pw",
    )  # fmt: skip
    f = found["by_fields"]
    assert (f.conn_type, f.host, f.login, f.password, f.schema, f.port) == (
        "http", "api.example", "bot", "s3cret", "https", 8443,
    )  # fmt: skip
    assert f.extra_dejson == {"timeout": 5} and f.description == "the API"
    assert (found["by_json"].conn_type, found["by_json"].port) == ("mysql", 3306)
    assert found["by_json"].extra_dejson == {"a": 1}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--conn-uri", "http://h", "--conn-host", "x"], "--host cannot go with --uri"),
        (["--conn-uri", "http://h", "--conn-json", "{}"], "not both"),
        (["--conn-login", "me"], "needs --uri (--conn-uri), --conn-json, or --conn-type"),
        (["--conn-json", '{"conn_type": "http"}', "--conn-extra", "{}"], "--extra cannot go"),
    ],
)
def test_connections_add_refuses_what_airflow_refuses(
    cli: Cli, args: list[str], message: str
) -> None:
    result = cli("connections", "add", "c", *args)
    assert result.exit_code == 1 and message in result.output


# -- tasks clear over dates ---------------------------------------------------------------


def test_tasks_clear_by_regex_between_dates_without_a_run_id(cli: Cli) -> None:
    first, second, third = (_run_at(cli, day) for day in DAYS)
    dates = ["-s", "2024-01-01", "-e", "2024-01-31"]
    result = cli("tasks", "clear", "etl", "-t", "^load", *dates, "-y")
    assert result.exit_code == 0, result.output
    for run_id in (first, second):
        assert cli.states("etl", run_id) == {
            "extract": S.SUCCESS, "load_a": S.NONE, "load_b": S.NONE, "report": S.SUCCESS,
        }  # fmt: skip
        assert cli.run_state("etl", run_id) is RunState.QUEUED
    assert set(cli.states("etl", third).values()) == {S.SUCCESS}  # outside the dates


def test_tasks_clear_downstream_only_failed_and_only_running(cli: Cli) -> None:
    first, second, _ = (_run_at(cli, day) for day in DAYS)
    down = cli("tasks", "clear", "etl", "-t", "load_a", "-d", "-e", "2024-01-02", "-y")
    assert down.exit_code == 0, down.output
    assert cli.states("etl", first)["report"] is S.NONE  # downstream of load_a
    assert cli.states("etl", first)["load_b"] is S.SUCCESS
    assert set(cli.states("etl", second).values()) == {S.SUCCESS}

    _set(cli, second, {"load_a": S.FAILED, "load_b": S.RUNNING})
    failed = cli("tasks", "clear", "etl", "-s", "2024-01-05", "-f", "-y")
    assert failed.exit_code == 0, failed.output
    assert cli.states("etl", second)["load_a"] is S.NONE
    assert cli.states("etl", second)["load_b"] is S.RUNNING  # not failed: kept

    running = cli("tasks", "clear", "etl", "-s", "2024-01-05", "-r", "-y")
    assert running.exit_code == 0, running.output
    assert "stopping (was queued or running): load_b" in running.output
    states = cli.states("etl", second)  # a running try is stopped and runs again, as cleared
    assert states["load_b"] in (S.NONE, S.UP_FOR_RETRY) and states["extract"] is S.SUCCESS


def test_tasks_clear_asks_first_and_names_what_it_ignores_or_refuses(cli: Cli) -> None:
    first = _run_at(cli, DAYS[0])
    asked = cli("tasks", "clear", "etl", "-t", "report", "-x", input="n\n")
    assert asked.exit_code == 1  # answered no
    assert f"run {first}" in asked.output and "report" in asked.output
    assert "-x/--exclude-subdags ignored" in asked.output
    assert cli.states("etl", first)["report"] is S.SUCCESS

    refused = cli("tasks", "clear", "etl", "-R", "-y")
    assert refused.exit_code == 2 and "name one DAG" in refused.output
    both = cli("tasks", "clear", "etl", first, "-s", "2024-01-01")
    assert both.exit_code == 2 and "give one or the other" in both.output
    unknown = cli("tasks", "clear", "nope", "-y")
    assert unknown.exit_code == 1 and "nope" in unknown.output


# -- dags list-runs, list-import-errors ---------------------------------------------------


def test_list_runs_positional_parses_a_dag_the_store_has_not_seen(cli: Cli) -> None:
    (cli.dags / "once.py").write_text(ONCE.replace("\n    ", "\n"))  # not parsed yet
    result = cli("dags", "list-runs", "once", "-o", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["runs"] == []

    for day in DAYS:
        _run_at(cli, day)
    dated = cli("dags", "list-runs", "etl", "-s", "2024-01-02", "-e", "2024-01-31", "-o", "plain")
    assert dated.exit_code == 0, dated.output
    assert [line.split("\t")[1] for line in dated.output.splitlines()[1:]] == ["run_2024-01-05"]
    old = cli("dags", "list-runs", "-d", "etl", "--no-backfill", "-o", "json")
    assert len(json.loads(old.output)["runs"]) == 3
    clash = cli("dags", "list-runs", "etl", "-d", "once")
    assert clash.exit_code == 2 and "give one" in clash.output


def test_list_import_errors_in_airflows_columns(cli: Cli) -> None:
    clean = cli("dags", "list-import-errors", "-o", "json")
    assert clean.exit_code == 0 and json.loads(clean.output) == []
    (cli.dags / "broken.py").write_text("from conveyor import DAG\nraise ValueError('bad dag')\n")
    result = cli("dags", "list-import-errors", "-o", "json")
    assert result.exit_code == 1
    [error] = json.loads(result.output)
    assert error["filepath"].endswith("broken.py") and "bad dag" in error["error"]


# -- dags state, tasks state, next-execution ----------------------------------------------


def test_dags_state_and_tasks_state_by_date_or_run_id(cli: Cli) -> None:
    run_id = _run_at(cli, "2024-01-05", conf={"k": "v"})
    _set(cli, run_id, {"load_a": S.FAILED, "report": S.NONE})
    assert cli("dags", "state", "etl", "2024-01-05").output == 'queued, {"k": "v"}\n'
    assert cli("dags", "state", "etl", run_id).output.startswith("queued")
    assert cli("dags", "state", "etl", "2023-01-01").output == "None\n"
    assert cli("tasks", "state", "etl", "load_a", "2024-01-05T00:00:00+00:00").output == "failed\n"
    assert cli("tasks", "state", "etl", "extract", run_id).output == "success\n"
    assert cli("tasks", "state", "etl", "report", run_id).output == "None\n"
    missing = cli("tasks", "state", "etl", "nope", run_id)
    assert missing.exit_code == 1 and "no task 'nope'" in missing.output
    unknown = cli("dags", "state", "nope", "2024-01-05")
    assert unknown.exit_code == 1 and "nope" in unknown.output


def test_next_execution_follows_the_schedule(cli: Cli) -> None:
    cli("dags", "pause", "etl")
    first = cli("dags", "next-execution", "etl")
    assert first.exit_code == 0, first.output
    assert first.stdout == "2024-01-01T00:00:00+00:00\n"
    assert "PAUSED" in first.stderr
    three = cli("dags", "next-execution", "etl", "-n", "3", "--field", "data_interval.end")
    assert three.stdout.split() == [
        "2024-01-02T00:00:00+00:00", "2024-01-03T00:00:00+00:00", "2024-01-04T00:00:00+00:00",
    ]  # fmt: skip
    cli.write_dag("once.py", ONCE)
    none = cli("dags", "next-execution", "once")
    assert none.stdout == "None\n" and "No following schedule" in none.stderr
    cli.write_dag("hourly.py", HOURLY)  # a partitioned DAG: its partition, as Airflow 3.3
    keyed = cli("dags", "next-execution", "hourly", "-n", "2")
    assert keyed.stdout.split() == ["2023-12-31T23:00:00", "2024-01-01T00:00:00"], keyed.output
    dated = cli("dags", "next-execution", "hourly", "--field", "partition_date")
    assert dated.stdout == "2023-12-31T23:00:00+00:00\n"
    table = cli("dags", "next-execution", "hourly", "--table")
    assert "partition_key" in table.stdout and "data_interval" not in table.stdout
    assert cli("dags", "next-execution", "etl", "--field", "partition_key").stdout == "None\n"


# -- dags delete, details, report; tasks list ---------------------------------------------


def test_dags_delete_removes_every_run_and_refuses_a_live_one(cli: Cli) -> None:
    for day in DAYS[:2]:
        run_id = _run_at(cli, day)
        with cli.store.write() as conn:
            pk = runs.find_run(conn, "etl", run_id).id
            transitions.move_run(conn, pk, expected=[RunState.QUEUED], to=RunState.FAILED)
    cli("dags", "trigger", "etl", "-r", "live")
    refused = cli("dags", "delete", "etl", "-y")
    assert refused.exit_code == 1 and "live" in refused.output
    with cli.store.write() as conn:
        pk = runs.find_run(conn, "etl", "live").id
        transitions.move_run(conn, pk, expected=[RunState.QUEUED], to=RunState.FAILED)
    asked = cli("dags", "delete", "etl", input="n\n")
    assert asked.exit_code == 1
    result = cli("dags", "delete", "etl", "-y")
    assert result.exit_code == 0, result.output
    assert "Removed 3 run(s) of etl" in result.output
    listed = cli("dags", "list-runs", "etl", "-o", "json")
    assert json.loads(listed.output)["runs"] == []


def test_dags_details_report_and_tasks_list(cli: Cli) -> None:
    details = cli("dags", "details", "etl", "-o", "json")
    assert json.loads(details.output) == json.loads(cli("dags", "show", "etl", "-o", "json").output)
    table = cli("dags", "details", "etl", "-o", "plain").output.splitlines()
    assert table[0] == "property_name\tproperty_value"
    assert "dag_id\tetl" in table

    report = json.loads(cli("dags", "report", "-o", "json").output)
    [entry] = report
    assert entry["file"].endswith("etl.py")
    assert (entry["dag_num"], entry["task_num"], entry["dags"]) == (1, 4, ["etl"])

    listed = cli("tasks", "list", "etl")
    assert listed.output.split() == ["extract", "load_a", "load_b", "report"]
    tree = cli("tasks", "list", "etl", "--tree").output.splitlines()
    assert tree[0] == "extract" and "    load_a" in tree and "        report" in tree
    run_id = _run_at(cli, DAYS[0])
    instances = cli("tasks", "list", "etl", run_id, "-o", "json")  # Conveyor's form stays
    assert len(json.loads(instances.output)["task_instances"]) == 4


# -- pools set, variables get, db init ----------------------------------------------------


def test_pools_set_takes_airflows_positional_description(cli: Cli) -> None:
    result = cli("pools", "set", "db", "5", "the warehouse", "-o", "json")
    assert result.exit_code == 0, result.output
    [shown] = json.loads(result.output)["pools"]
    assert (shown["name"], shown["slots"], shown["description"]) == ("db", 5, "the warehouse")
    got = json.loads(cli("pools", "get", "db", "-o", "json").output)
    assert got == json.loads(result.output)
    gone = cli("pools", "get", "nope")
    assert gone.exit_code == 1 and "no pool 'nope'" in gone.output
    unlimited = cli("pools", "set", "api", "-1", "no limit")
    assert unlimited.exit_code == 0, unlimited.output
    with cli.store.read() as conn:
        assert pools.get_pool(conn, "api").slots is None
    deferred = cli("pools", "set", "x", "1", "d", "--include-deferred")
    assert deferred.exit_code == 2 and "deferred" in deferred.output


def test_variables_get_default_and_json(cli: Cli) -> None:
    assert cli("variables", "get", "nope", "-d", "fallback").output == "fallback\n"
    missing = cli("variables", "get", "nope")
    assert missing.exit_code == 1 and "no variable 'nope'" in missing.output
    cli("variables", "set", "cfg", '{"b": [1, 2]}', "-j")
    assert cli("variables", "get", "cfg", "-j").output == '{"b": [1, 2]}\n'
    cli("variables", "set", "name", '"ada"')
    assert cli("variables", "get", "name", "-j").output == "ada\n"
    cli("variables", "set", "plain", "not json")
    bad = cli("variables", "get", "plain", "-j")
    assert bad.exit_code == 1 and "is not JSON" in bad.output


def test_db_init_migrates_with_a_note(cli: Cli) -> None:
    result = cli("db", "init")
    assert result.exit_code == 0, result.output
    assert "Airflow's old name" in result.stderr and "is current" in result.stdout


def _beat(cli: Cli, table: Table, name: str, host: str, age: timedelta) -> None:
    """A scheduler or triggerer row whose last heartbeat is ``age`` old."""
    now = datetime.now(UTC)
    values: dict[str, object] = {"id": name, "hostname": host, "pid": 1}
    if table is triggerer:
        values["capacity"] = 1000
    with cli.store.write() as conn:
        conn.execute(insert(table).values(**values, started_at=now, heartbeat_at=now - age))


def test_jobs_check_answers_as_airflows_liveness_probe(cli: Cli) -> None:
    """``airflow jobs check --job-type SchedulerJob --local``, as Kubernetes probes call it:
    exit 0 with a live job by its heartbeat, 1 without; Airflow's messages."""
    none = cli("jobs", "check", "--job-type", "SchedulerJob")
    assert none.exit_code == 1 and "No alive jobs found." in none.output
    _beat(cli, scheduler, "old", socket.gethostname(), timedelta(hours=1))  # lost
    assert cli("jobs", "check").exit_code == 1
    _beat(cli, scheduler, "here", socket.gethostname(), timedelta(0))
    found = cli("jobs", "check", "--job-type", "SchedulerJob", "--local")
    assert (found.exit_code, found.output) == (0, "Found one alive job.\n")
    assert cli("jobs", "check", "--job-type", "DagProcessorJob").exit_code == 0
    assert cli("jobs", "check", "--job-type", "TriggererJob").exit_code == 1
    assert cli("jobs", "check", "--hostname", "elsewhere").exit_code == 1
    _beat(cli, scheduler, "there", "elsewhere", timedelta(0))
    _beat(cli, triggerer, "trig", "elsewhere", timedelta(0))
    assert (
        cli("jobs", "check", "--hostname", "elsewhere", "--job-type", "TriggererJob").exit_code == 0
    )
    two = cli("jobs", "check", "--job-type", "SchedulerJob", "--limit", "5")
    assert two.exit_code == 1 and "Found 2 alive jobs. Expected only one." in two.output
    many = cli("jobs", "check", "--limit", "5", "--allow-multiple")
    assert (many.exit_code, many.output) == (0, "Found 3 alive jobs.\n")
    assert cli("jobs", "check", "--allow-multiple").exit_code == 1  # needs --limit above 1
    assert cli("jobs", "check", "--local", "--hostname", "x").exit_code == 1


def test_tasks_states_for_dag_run_by_date_or_run_id(cli: Cli) -> None:
    run_id = _run_at(cli, "2024-01-05")
    _set(cli, run_id, {"load_a": S.FAILED, "load_b": S.UPSTREAM_FAILED})
    by_date = cli("tasks", "states-for-dag-run", "etl", "2024-01-05", "-o", "plain")
    assert by_date.exit_code == 0, by_date.output
    rows = [line.split("\t") for line in by_date.output.splitlines()]
    assert rows[0] == ["dag_id", "logical_date", "task_id", "state", "start_date", "end_date"]
    assert {row[2]: row[3] for row in rows[1:]} == {
        "extract": "success",
        "load_a": "failed",
        "load_b": "upstream_failed",
        "report": "success",
    }
    by_id = cli("tasks", "states-for-dag-run", "etl", run_id, "-o", "json")
    assert len(json.loads(by_id.output)["task_instances"]) == 4


def test_db_clean_takes_airflows_flags(cli: Cli) -> None:
    """``airflow db clean --clean-before-timestamp TS --skip-archive -y``: the finished runs
    that ended before TS go; ``--tables`` is refused; no --skip-archive says there is no
    archive."""
    old, new = _run_at(cli, "2024-01-01"), _run_at(cli, "2024-01-05")
    with cli.store.write() as conn:
        for run_id, ended in ((old, "2024-01-02"), (new, "2024-03-01")):
            pk = runs.find_run(conn, "etl", run_id).id
            transitions.move_run(conn, pk, expected=[RunState.QUEUED], to=RunState.SUCCESS)
            at = datetime.fromisoformat(ended).replace(tzinfo=UTC)
            conn.execute(update(dag_run).where(dag_run.c.id == pk).values(end_date=at))
    refused = cli("db", "clean", "--clean-before-timestamp", "2024-02-01", "--tables", "xcom")
    assert refused.exit_code == 2 and "leave --tables out" in refused.output
    both = cli("db", "clean", "--older-than", "30d", "--clean-before-timestamp", "2024-02-01")
    assert both.exit_code == 2
    done = cli("db", "clean", "--clean-before-timestamp", "2024-02-01", "--skip-archive", "-y")
    assert done.exit_code == 0, done.output
    assert "deleted: 1 runs" in done.stdout and "ended before 2024-02-01 00:00 UTC" in done.stdout
    assert "archive" not in done.stderr
    with cli.store.read() as conn:
        kept = set(
            conn.execute(select(dag_run.c.run_id).where(dag_run.c.dag_id == "etl")).scalars()
        )
    assert kept == {new}
    noted = cli("db", "clean", "--clean-before-timestamp", "2024-02-01T00:00:00+01:00")
    assert noted.exit_code == 0 and "keeps no archive" in noted.stderr


def test_db_check_migrations_waits_for_a_current_schema(cli: Cli) -> None:
    result = cli("db", "check-migrations", "--migration-wait-timeout", "0")
    assert result.exit_code == 0 and "schema is current" in result.output
