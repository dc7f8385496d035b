"""PostgresHook and MySqlHook against the real servers: each method DAG code calls returns
what Airflow's returns for the same call (types and shapes), and writes what it should."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sql_servers
from sql_servers import mysql_rows, pg_rows, unique

from conveyor.providers.dbapi import DatabaseConnectionError, DbApiHook
from conveyor.providers.handlers import fetch_all_handler, fetch_one_handler
from conveyor.providers.mysql import MySqlHook
from conveyor.providers.postgres import PostgresHook

pytestmark = pytest.mark.postgres

# The servers' fixtures, used by name below.
mysql_url = sql_servers.mysql_url
pg_sql_url = sql_servers.pg_sql_url


@pytest.fixture
def connections(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, pg_sql_url: str, mysql_url: str
) -> None:
    """``warehouse`` (PostgreSQL) and ``shop`` (MariaDB) as Airflow holds them: env URIs."""
    monkeypatch.setenv("CONVEYOR_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", pg_sql_url.replace("postgresql://", "postgres://"))
    monkeypatch.setenv("AIRFLOW_CONN_SHOP", mysql_url)


@pytest.fixture(params=["postgres", "mysql"])
def hook_and_table(
    request: pytest.FixtureRequest, connections: None
) -> Iterator[tuple[DbApiHook, str]]:
    """Each hook with a fresh table ``(id int primary key, name varchar, weight float)``."""
    hook: DbApiHook
    if request.param == "postgres":
        hook = PostgresHook(postgres_conn_id="warehouse")
    else:
        hook = MySqlHook(mysql_conn_id="shop")
    table = unique("animals")
    hook.run(f"CREATE TABLE {table} (id int primary key, name varchar(20), weight float)")
    yield hook, table
    hook.run(f"DROP TABLE {table}")


def test_reads_have_airflows_shapes(hook_and_table: tuple[DbApiHook, str]) -> None:
    hook, table = hook_and_table
    hook.insert_rows(table, [(1, "ant", 0.5), (2, "bee", None)], ["id", "name", "weight"])

    records = hook.get_records(f"SELECT id, name FROM {table} ORDER BY id")
    # Airflow: psycopg's fetchall is a list, mysqlclient's (and PyMySQL's) a tuple.
    outer = list if isinstance(hook, PostgresHook) else tuple
    assert isinstance(records, outer) and all(type(r) is tuple for r in records)
    assert list(records) == [(1, "ant"), (2, "bee")]

    assert hook.get_first(f"SELECT name FROM {table} WHERE id = %s", parameters=[2]) == ("bee",)
    assert hook.get_first(f"SELECT name FROM {table} WHERE id = %(id)s", {"id": 1}) == ("ant",)
    assert hook.get_first(f"SELECT name FROM {table} WHERE id < 0") is None
    assert list(hook.get_records(f"SELECT id FROM {table} WHERE id < 0")) == []
    assert hook.run(f"SELECT id FROM {table}") is None  # no handler: nothing returned


def test_run_follows_airflows_single_or_list_rule(hook_and_table: tuple[DbApiHook, str]) -> None:
    hook, _ = hook_and_table
    # One string and return_last (the default): the last statement's result.
    assert list(
        hook.run("SELECT 1; SELECT 2", split_statements=True, handler=fetch_all_handler)
    ) == [(2,)]
    # A split string asked for every result: one per statement.
    every = hook.run(
        "SELECT 1; -- a comment; with a semicolon\nSELECT 'a;b'",
        split_statements=True,
        return_last=False,
        handler=fetch_one_handler,
    )
    assert every == [(1,), ("a;b",)]
    # A list of statements: always a list, return_last or not.
    assert hook.run(["SELECT 1", "SELECT 2 AS two"], handler=fetch_one_handler) == [(1,), (2,)]
    assert len(hook.descriptions) == 2 and hook.last_description[0][0] == "two"
    with pytest.raises(ValueError, match="empty"):
        hook.run("   ")


def test_autocommit_and_rollback(hook_and_table: tuple[DbApiHook, str]) -> None:
    hook, table = hook_and_table
    hook.run(f"INSERT INTO {table} (id, name) VALUES (1, 'ant')", autocommit=True)
    with pytest.raises(Exception, match=r"(?i)duplicate"):
        # One transaction: the first insert is rolled back with the failing second one.
        hook.run(
            [
                f"INSERT INTO {table} (id, name) VALUES (2, 'bee')",
                f"INSERT INTO {table} (id, name) VALUES (1, 'again')",
            ]
        )
    assert list(hook.get_records(f"SELECT id FROM {table} ORDER BY id")) == [(1,)]


def test_insert_rows_replace_and_commit_every(hook_and_table: tuple[DbApiHook, str]) -> None:
    hook, table = hook_and_table
    rows = [(i, f"n{i}", float(i)) for i in range(5)]
    hook.insert_rows(table, rows, ["id", "name", "weight"], commit_every=2)
    hook.insert_rows(
        table, [(3, "three", 3.5)], ["id", "name", "weight"], replace=True, replace_index="id"
    )
    # One statement for all rows, in one transaction (commit_every=0).
    hook.insert_rows(
        table, iter([(5, "n5", None), (6, "n6", 6.5)]), executemany=True, commit_every=0
    )
    found = list(hook.get_records(f"SELECT id, name, weight FROM {table} ORDER BY id"))
    assert found == [
        (0, "n0", 0.0),
        (1, "n1", 1.0),
        (2, "n2", 2.0),
        (3, "three", 3.5),
        (4, "n4", 4.0),
        (5, "n5", None),
        (6, "n6", 6.5),
    ]


def test_connections_uris_engines_and_overrides(
    hook_and_table: tuple[DbApiHook, str], pg_sql_url: str, mysql_url: str
) -> None:
    hook, table = hook_and_table
    conn = hook.get_conn()
    try:
        cursor = conn.cursor()
        cursor.execute("SELECT 41 + 1")
        assert cursor.fetchone() == (42,)
    finally:
        conn.close()
    assert hook.test_connection() == (True, "Connection successfully tested")

    import sqlalchemy

    engine = hook.get_sqlalchemy_engine()
    try:
        with engine.connect() as db:
            assert db.execute(sqlalchemy.text(f"SELECT count(*) FROM {table}")).scalar() == 0
    finally:
        engine.dispose()

    database = pg_sql_url.rsplit("/", 1)[1] if isinstance(hook, PostgresHook) else "test"
    # Airflow's sqlalchemy_url property: SQLAlchemy's URL of the same database.
    port = 5432 if isinstance(hook, PostgresHook) else 3306
    assert (hook.sqlalchemy_url.database, hook.sqlalchemy_url.port) == (database, port)
    if isinstance(hook, PostgresHook):
        assert hook.get_uri().startswith("postgresql+psycopg://postgres@127.0.0.1:5432/")
        assert hook.get_table_primary_key(table) == ["id"]
        assert hook.get_table_primary_key(table, schema="elsewhere") is None
        other = PostgresHook(postgres_conn_id="warehouse", database="postgres")
        assert other.get_first("SELECT current_database()") == ("postgres",)
        assert PostgresHook("warehouse").get_first("SELECT current_database()") == (database,)
    else:
        assert hook.get_uri() == "mysql+pymysql://root@127.0.0.1:3306/test"
        other = MySqlHook(mysql_conn_id="shop", schema="information_schema")
        assert other.get_first("SELECT DATABASE()") == ("information_schema",)
        assert MySqlHook(conn_id="shop").get_first("SELECT DATABASE()") == (database,)


def test_cursor_extras_give_dicts(
    monkeypatch: pytest.MonkeyPatch, connections: None, pg_sql_url: str, mysql_url: str
) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_WAREHOUSE_DICT",
        pg_sql_url.replace("postgresql://", "postgres://") + "?cursor=dictcursor",
    )
    monkeypatch.setenv("AIRFLOW_CONN_SHOP_DICT", mysql_url + "?cursor=dictcursor")
    assert PostgresHook("warehouse_dict").get_first("SELECT 1 AS one") == {"one": 1}
    assert MySqlHook("shop_dict").get_first("SELECT 1 AS one") == {"one": 1}


@contextlib.contextmanager
def bulk_loaded(hook: Any, name: str, columns: str, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A new table (``columns`` its SQL) with two rows that ``hook.bulk_load`` read from a
    tab-separated file; the table's name and the file. The table is dropped after."""
    table = unique(name)
    hook.run(f"CREATE TABLE {table} ({columns})")
    try:
        source = tmp_path / "in.tsv"
        source.write_text("1\tant\n2\tbee\n")
        hook.bulk_load(table, str(source))
        yield table, source
    finally:
        hook.run(f"DROP TABLE {table}")


def test_postgres_copy_expert_and_bulk(connections: None, tmp_path: Path) -> None:
    hook = PostgresHook(postgres_conn_id="warehouse")
    with bulk_loaded(hook, "copied", "id int, name text", tmp_path) as (table, _):
        hook.copy_expert(f"COPY {table} FROM STDIN WITH (FORMAT csv)", str(tmp_path / "none.csv"))
        assert (tmp_path / "none.csv").exists()  # made empty when missing, as Airflow does
        dumped = tmp_path / "out.tsv"
        hook.bulk_dump(table, str(dumped))
        assert sorted(dumped.read_text().splitlines()) == ["1\tant", "2\tbee"]
        hook.copy_expert(f"COPY (SELECT name FROM {table} ORDER BY id) TO STDOUT", str(dumped))
        assert dumped.read_text() == "ant\nbee\n"


def test_mysql_bulk_load(connections: None, tmp_path: Path, mysql_url: str) -> None:
    hook = MySqlHook(mysql_conn_id="shop")
    with bulk_loaded(hook, "loaded", "id int, name varchar(10)", tmp_path) as (table, source):
        assert mysql_rows(mysql_url, f"SELECT id, name FROM {table} ORDER BY id") == [
            (1, "ant"),
            (2, "bee"),
        ]
        with pytest.raises(ValueError, match="Invalid table name"):
            hook.bulk_load(f"{table}; DROP TABLE x", str(source))


def test_pandas_frames_when_pandas_is_installed(connections: None) -> None:
    pandas: Any = pytest.importorskip("pandas")
    frame = PostgresHook("warehouse").get_pandas_df("SELECT 1 AS one, %s AS two", parameters=["b"])
    assert isinstance(frame, pandas.DataFrame) and frame.to_dict("records") == [
        {"one": 1, "two": "b"}
    ]


def test_unreachable_connections_name_the_id_never_the_password(
    monkeypatch: pytest.MonkeyPatch, connections: None, pg_sql_url: str
) -> None:
    secret = "N0t-the-Passw0rd"
    monkeypatch.setenv("AIRFLOW_CONN_NO_SERVER", f"postgres://someone:{secret}@127.0.0.1:1/db")
    monkeypatch.setenv("AIRFLOW_CONN_NO_DB", f"postgres://postgres:{secret}@127.0.0.1:5432/nodb_x")
    monkeypatch.setenv("AIRFLOW_CONN_MY_BAD_PW", f"mysql://root:{secret}@127.0.0.1:3306/test")
    for hook, conn_id in (
        (PostgresHook("no_server"), "no_server"),
        (PostgresHook("no_db"), "no_db"),
        (MySqlHook("my_bad_pw"), "my_bad_pw"),
    ):
        with pytest.raises(DatabaseConnectionError) as failed:
            hook.get_records("SELECT 1")
        message = str(failed.value)
        assert f"connection {conn_id!r}" in message and secret not in message
        assert failed.value.__cause__ is None and failed.value.__suppress_context__
        ok, said = hook.test_connection()
        assert not ok and conn_id in said and secret not in said
    assert pg_rows(pg_sql_url, "SELECT 1") == [(1,)]
