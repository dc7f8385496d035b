"""The SQL providers' pure parts: Airflow's result rule, statement splitting, every import
path, the missing-extra line, connections from URIs / JSON / the environment, and the files
``airflow connections export`` / ``airflow variables export`` write, imported by the CLI."""

from __future__ import annotations

import importlib
import json
import os
import re
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from airflow_hook_on import assert_import_names_the_extra, assert_paths_give
from conveyor.airflow_compat import AirflowNameError, table
from conveyor.airflow_compat.fallback import AirflowNotProvidedError
from conveyor.airflow_compat.lint import check_source
from conveyor.cli.common import settings
from conveyor.cli.main import cli
from conveyor.connections import files, repository
from conveyor.connections.forms import connection_from_text
from conveyor.exceptions import ConfigError, TaskError
from conveyor.install_hint import pip_install
from conveyor.providers import mysql, postgres, sql_operators, sql_sensor
from conveyor.providers._extras import MissingExtraError, require
from conveyor.providers._split import split_sql
from conveyor.providers.handlers import return_single_query_results


@pytest.mark.parametrize(
    ("sql", "return_last", "split", "single"),
    [
        ("SELECT 1", True, None, True),
        ("SELECT 1", False, None, False),
        ("SELECT 1", True, True, True),
        ("SELECT 1", False, True, False),
        ("SELECT 1", False, False, True),
        (["SELECT 1"], True, None, False),
        (["SELECT 1"], True, False, False),
    ],
)
def test_one_result_or_a_list_as_airflow_decides(
    sql: str | list[str], return_last: bool, split: bool | None, single: bool
) -> None:
    assert return_single_query_results(sql, return_last, split) is single


def test_scripts_split_at_semicolons_outside_quotes_and_comments() -> None:
    script = """
        -- a comment; not a statement
        CREATE TABLE t (a text);  /* block; comment */
        INSERT INTO t VALUES ('x;y'), ('it''s; fine'), (E'back\\'; slash');
        CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql;
        SELECT "odd;name" FROM t;;
    """
    assert split_sql(script) == [
        "CREATE TABLE t (a text);",
        "INSERT INTO t VALUES ('x;y'), ('it''s; fine'), (E'back\\'; slash');",
        "CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql;",
        'SELECT "odd;name" FROM t;',
    ]
    assert split_sql("SELECT 1; SELECT 2", strip_semicolon=True) == ["SELECT 1", "SELECT 2"]
    assert split_sql(" ;  -- nothing\n") == []


AIRFLOW_PATHS = {
    "airflow.providers.postgres.hooks.postgres": {"PostgresHook": postgres.PostgresHook},
    "airflow.providers.postgres.operators.postgres": {
        "PostgresOperator": postgres.PostgresOperator
    },
    "airflow.providers.mysql.hooks.mysql": {"MySqlHook": mysql.MySqlHook},
    "airflow.providers.mysql.operators.mysql": {"MySqlOperator": mysql.MySqlOperator},
    "airflow.providers.common.sql.operators.sql": {
        "SQLExecuteQueryOperator": sql_operators.SQLExecuteQueryOperator,
        "BranchSQLOperator": sql_operators.BranchSQLOperator,
    },
    "airflow.providers.common.sql.sensors.sql": {"SqlSensor": sql_sensor.SqlSensor},
    "airflow.hooks.postgres_hook": {"PostgresHook": postgres.PostgresHook},
    "airflow.hooks.mysql_hook": {"MySqlHook": mysql.MySqlHook},
    "airflow.hooks": {"PostgresHook": postgres.PostgresHook, "MySqlHook": mysql.MySqlHook},
    "airflow.operators.postgres_operator": {"PostgresOperator": postgres.PostgresOperator},
    "airflow.operators.mysql_operator": {"MySqlOperator": mysql.MySqlOperator},
    "airflow.operators.sql": {"BranchSQLOperator": sql_operators.BranchSQLOperator},
    "airflow.operators.sql_branch_operator": {"BranchSqlOperator": sql_operators.BranchSQLOperator},
    "airflow.sensors.sql_sensor": {"SqlSensor": sql_sensor.SqlSensor},
    "airflow.sensors.sql": {"SqlSensor": sql_sensor.SqlSensor},
}


def test_every_path_users_import_from_gives_conveyors_class(airflow_hook: None) -> None:
    assert_paths_give(AIRFLOW_PATHS)
    handlers = importlib.import_module("airflow.providers.common.sql.hooks.handlers")
    hooks_sql = importlib.import_module("airflow.providers.common.sql.hooks.sql")
    assert hooks_sql.fetch_all_handler is handlers.fetch_all_handler
    assert issubclass(mysql.MySqlHook, hooks_sql.DbApiHook)


def test_a_name_the_shipped_provider_lacks_lists_what_it_has(airflow_hook: None) -> None:
    # It imports, as Airflow with the provider's package imports it, and refuses at use.
    from airflow.providers.common.sql.operators.sql import SQLInsertRowsOperator

    with pytest.raises(AirflowNotProvidedError) as missing:
        SQLInsertRowsOperator(task_id="t")
    assert "'common.sql' provider it has" in str(missing.value)
    assert "SQLExecuteQueryOperator" in str(missing.value)
    with pytest.raises(AirflowNameError):  # a probe gets the ImportError it expects
        try:
            from airflow.providers.common.sql.operators.sql import (  # noqa: F401
                SQLInsertRowsOperator as Probed,
            )
        except ImportError:
            raise
    found = check_source(
        "from airflow.providers.postgres.hooks.postgres import PostgresHook\n"
        "from airflow.providers.snowflake.hooks.snowflake import SnowflakeHook\n"
    )
    assert [f.line for f in found] == [2]
    assert "'snowflake' provider" in found[0].message


def test_a_missing_driver_fails_the_import_naming_the_extra(
    airflow_hook: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(MissingExtraError, match=re.escape(pip_install("mysql"))):
        require("conveyor_no_such_driver", "mysql", "mysql")
    # As if PyMySQL were not installed: the module is imported again without it.
    monkeypatch.setitem(sys.modules, "pymysql", None)
    monkeypatch.delitem(sys.modules, "conveyor.providers.mysql")
    assert_import_names_the_extra(
        "airflow.providers.mysql.hooks.mysql",
        "MySqlHook",
        "mysql",
        "from airflow.providers.mysql.operators.mysql import MySqlOperator\n",
    )


def test_uris_and_the_json_form_read_as_airflow_writes_them() -> None:
    conn = connection_from_text(
        "pg", "postgres://us%40er:p%40ss%3Aw%2Frd@db.example:5433/my%20db?sslmode=require"
    )
    assert (conn.conn_type, conn.login, conn.password) == ("postgres", "us@er", "p@ss:w/rd")
    assert (conn.host, conn.port, conn.schema) == ("db.example", 5433, "my db")
    assert conn.extra_dejson == {"sslmode": "require"}
    assert postgres.PostgresHook("pg").conn_type == "postgres"

    as_json = connection_from_text(
        "my",
        json.dumps(
            {
                "conn_type": "mysql",
                "host": "h",
                "port": "3307",
                "login": "u",
                "password": "pw",
                "schema": "s",
                "extra": json.dumps({"charset": "utf8mb4"}),
                "description": "shop",
            }
        ),
    )
    assert (as_json.conn_type, as_json.port, as_json.extra_dejson) == (
        "mysql",
        3307,
        {"charset": "utf8mb4"},
    )
    assert as_json.description == "shop" and as_json.get_extra() == '{"charset": "utf8mb4"}'
    with_uri = connection_from_text("u", '{"uri": "mysql://a:b@h/db", "extra": {"ssl": "x"}}')
    assert (with_uri.conn_type, with_uri.password, with_uri.extra_dejson) == (
        "mysql",
        "b",
        {"ssl": "x"},
    )


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ('{"conn_type": "postgres", "password": "s3cr3t-pw", "bogus": 1}', "unknown keys bogus"),
        ('{"host": "h", "password": "s3cr3t-pw"}', "needs conn_type"),
        ('{"conn_type": "postgres", "password": "s3cr3t-pw", "port": "x"}', "port"),
        ('{"conn_type": "postgres", "password": "s3cr3t-pw", "extra": "no"}', "extra is not JSON"),
        ('{"conn_type": "postgres", "password": "s3cr3t-pw",', "not a valid JSON object"),
        ('{"conn_id": "other", "conn_type": "postgres"}', "must match"),
    ],
)
def test_a_bad_json_form_names_the_connection_not_the_password(text: str, error: str) -> None:
    with pytest.raises(ConfigError) as failed:
        connection_from_text("db", text)
    assert error in str(failed.value) and "'db'" in str(failed.value)
    assert "s3cr3t-pw" not in str(failed.value)


def test_airflows_environment_variables_are_read_after_conveyors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_ONLY_AIRFLOW", '{"conn_type": "postgres", "host": "af"}')
    monkeypatch.setenv("AIRFLOW_CONN_BOTH", "mysql://af-host/db")
    monkeypatch.setenv("CONVEYOR_CONN_BOTH", "mysql://conveyor-host/db")
    only = repository.env_connection("only_airflow")
    assert only is not None and only.host == "af" and only.conn_type == "postgres"
    both = repository.env_connection("both")
    assert both is not None and both.host == "conveyor-host"
    assert repository.env_connection("nowhere") is None


EXPORTED_CONNECTIONS = {
    "pg_main": {
        "conn_type": "postgres",
        "description": None,
        "login": "postgres",
        "password": "p@ss",
        "host": "127.0.0.1",
        "port": 5432,
        "schema": "warehouse",
        "extra": '{"sslmode": "disable"}',
    },
    "my_main": {
        "conn_type": "mysql",
        "description": "shop",
        "login": "root",
        "password": None,
        "host": "127.0.0.1",
        "port": 3306,
        "schema": "test",
        "extra": None,
    },
}


def test_exported_connection_files_read_in_each_format(tmp_path: Path) -> None:
    as_json = tmp_path / "c.json"
    as_json.write_text(json.dumps(EXPORTED_CONNECTIONS, indent=2))
    as_yaml = tmp_path / "c.yaml"
    as_yaml.write_text(
        "pg_main:\n  conn_type: postgres\n  login: postgres\n  password: p@ss\n"
        "  host: 127.0.0.1\n  port: 5432\n  schema: warehouse\n"
        '  extra: \'{"sslmode": "disable"}\'\n'
        "my_main:\n  conn_type: mysql\n  description: shop\n  login: root\n"
        "  host: 127.0.0.1\n  port: 3306\n  schema: test\n"
    )
    as_env = tmp_path / "c.env"
    as_env.write_text(
        "# airflow connections export c.env\n"
        "pg_main=postgres://postgres:p%40ss@127.0.0.1:5432/warehouse?sslmode=disable\n\n"
        'my_main={"conn_type": "mysql", "description": "shop", "login": "root", '
        '"host": "127.0.0.1", "port": 3306, "schema": "test"}\n'
    )
    for path in (as_json, as_yaml, as_env):
        found = files.read_connections(path)
        assert sorted(found) == ["my_main", "pg_main"], path
        pg, my = found["pg_main"], found["my_main"]
        assert (pg.conn_type, pg.password, pg.schema, pg.extra_dejson) == (
            "postgres",
            "p@ss",
            "warehouse",
            {"sslmode": "disable"},
        ), path
        assert (my.conn_type, my.login, my.password, my.port, my.description) == (
            "mysql",
            "root",
            None,
            3306,
            "shop",
        ), path


@pytest.mark.parametrize(
    ("name", "text", "error"),
    [
        ("c.env", "good=mysql://h/db\nno equals sign\n", "c.env:2: expected KEY=VALUE"),
        ("c.env", "a=mysql://h/db\na=mysql://h/db\n", "c.env:2: 'a' is given twice"),
        ("c.json", '{\n  "a": \n}', "c.json:3: not valid JSON"),
        ("c.json", "[1, 2]", "must hold an object"),
        ("c.yaml", "a: [\n", "not valid YAML"),
        ("c.txt", "a=b", "unsupported file type"),
        ("c.json", "", "the file is empty"),
    ],
)
def test_bad_files_name_the_file_and_line(tmp_path: Path, name: str, text: str, error: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ConfigError, match="c\\.") as failed:
        files.read_connections(path)
    assert error in str(failed.value)


def test_exported_variable_files_read_as_airflow_imports_them(tmp_path: Path) -> None:
    path = tmp_path / "v.json"
    path.write_text(
        json.dumps(
            {
                "plain": "text",
                "config": {"a": [1, 2]},
                "count": 3,
                "described": {"value": "v", "description": "what it is"},
            }
        )
    )
    assert files.read_variables(path) == {
        "plain": ("text", None),
        "config": ('{"a": [1, 2]}', None),
        "count": ("3", None),
        "described": ("v", "what it is"),
    }
    env = tmp_path / "v.env"
    env.write_text("plain=text\nnumber=3\n")
    assert files.read_variables(env) == {"plain": ("text", None), "number": ("3", None)}


def test_the_import_commands_store_what_the_files_hold(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    monkeypatch.setenv("CONVEYOR_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CONVEYOR_DATABASE_URL", raising=False)
    for name in [n for n in list(os.environ) if n.startswith("AIRFLOW_")]:
        monkeypatch.delenv(name)
    # The CLI keeps its settings for the process; this test's home must be the one read.
    settings.cache_clear()
    request.addfinalizer(settings.cache_clear)
    conns = tmp_path / "connections.json"
    conns.write_text(json.dumps(EXPORTED_CONNECTIONS))
    runner = CliRunner()

    first = runner.invoke(cli, ["connections", "import", str(conns)])
    assert first.exit_code == 0, first.output
    assert "connection pg_main imported" in first.output and "p@ss" not in first.output
    changed = {
        **EXPORTED_CONNECTIONS,
        "pg_main": {**EXPORTED_CONNECTIONS["pg_main"], "host": "new"},
    }
    conns.write_text(json.dumps(changed))
    again = runner.invoke(cli, ["connections", "import", str(conns)])
    assert again.exit_code == 0 and "pg_main exists, not imported" in again.output
    shown = runner.invoke(cli, ["connections", "get", "pg_main", "--output", "json"])
    assert json.loads(shown.output)["host"] == "127.0.0.1"
    runner.invoke(cli, ["connections", "import", str(conns), "--overwrite"])
    shown = runner.invoke(cli, ["connections", "get", "pg_main", "--output", "json", "--reveal"])
    assert json.loads(shown.output)["host"] == "new"
    assert json.loads(shown.output)["password"] == "p@ss"

    variables = tmp_path / "variables.json"
    variables.write_text(json.dumps({"plain": "text", "config": {"a": 1}}))
    done = runner.invoke(cli, ["variables", "import", str(variables)])
    assert done.exit_code == 0 and "2 of 2 variables imported" in done.output
    refused = runner.invoke(
        cli, ["variables", "import", str(variables), "--action-on-existing-key", "fail"]
    )
    assert refused.exit_code != 0 and "already set: config, plain" in refused.output
    got = runner.invoke(cli, ["variables", "get", "config"])
    assert json.loads(got.output) == {"a": 1}
    missing = runner.invoke(cli, ["connections", "import", str(tmp_path / "none.json")])
    assert missing.exit_code != 0 and "no such file" in missing.output
    assert table.lookup("airflow.hooks.postgres_hook", "PostgresHook") is not None


def test_docs_list_each_provider_name_by_name() -> None:
    from conveyor.airflow_compat.docs_providers import render_providers

    doc = (Path(__file__).resolve().parents[2] / "docs" / "airflow.md").read_text()
    hint = "run: python -m conveyor.airflow_compat.docs --write"
    assert render_providers() in doc, hint
    for name in ("PostgresHook", "MySqlOperator", "SQLExecuteQueryOperator", "SqlSensor"):
        assert f"`{name}` →" in render_providers()


def test_base_hook_gives_the_hook_of_the_connections_type(
    airflow_hook: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.hooks.base import BaseHook

    monkeypatch.setenv("AIRFLOW_CONN_SOME_DB", "postgres://u:pw@h:5432/db")
    monkeypatch.setenv("AIRFLOW_CONN_SOME_SHOP", "mysql://u@h/db")
    found = BaseHook.get_hook("some_db", hook_params={"database": "other"})
    assert isinstance(found, postgres.PostgresHook) and found.database == "other"
    assert found.get_conn_id() == "some_db" and found.connection.host == "h"
    assert isinstance(BaseHook.get_hook("some_shop"), mysql.MySqlHook)


def test_a_connections_get_hook_gives_the_hook_of_its_type(
    airflow_hook: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``BaseHook.get_connection("db").get_hook()``, as DAG files write it."""
    from airflow.hooks.base import BaseHook

    monkeypatch.setenv("AIRFLOW_CONN_SOME_DB", "postgres://u:pw@h:5432/db")
    monkeypatch.setenv("AIRFLOW_CONN_SOME_MAIL", "smtp://u:pw@mail.local:2525")
    monkeypatch.setenv("AIRFLOW_CONN_ODD", "odd://h")
    found = BaseHook.get_connection("some_db").get_hook(hook_params={"database": "other"})
    assert isinstance(found, postgres.PostgresHook) and found.database == "other"
    assert found.get_conn_id() == "some_db" and found.connection.port == 5432
    mail = BaseHook.get_connection("some_mail").get_hook()
    assert type(mail).__name__ == "SmtpHook" and mail.smtp_conn_id == "some_mail"
    with pytest.raises(TaskError, match="connection 'odd' has type 'odd'"):
        BaseHook.get_connection("odd").get_hook()
