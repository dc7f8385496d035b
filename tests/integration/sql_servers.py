"""The real database servers the SQL provider tests talk to, and a one-off DAG run.

PostgreSQL: a database of its own per test module, on the server of ``CONVEYOR_TEST_PG_URL``.
MariaDB (or MySQL): the database of ``CONVEYOR_TEST_MYSQL_URL`` (root on 127.0.0.1, database
``test`` by default), with table names unique to the test so that runs never share rows. A
server that cannot be reached skips the test locally and fails it in CI, as the store's
PostgreSQL does (tests/conftest.py).
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pymysql
import pytest

from conftest import _with_database

DEFAULT_MYSQL_URL = "mysql://root@127.0.0.1:3306/test"
CONVEYOR = str(Path(sys.executable).parent / "conveyor")

_numbers = itertools.count(1)


def unique(prefix: str) -> str:
    """A name no other test (or concurrent run) uses: the prefix, the pid, a counter."""
    return f"{prefix}_{os.getpid()}_{next(_numbers)}"


def _unreachable(message: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def pg_sql_url(pg_url: str, pg_admin: psycopg.Connection[Any]) -> Iterator[str]:
    """A fresh PostgreSQL database for the module's tests, as a ``postgresql://`` URL."""
    name = unique("sqlprov")
    pg_admin.execute(f"CREATE DATABASE {name}")
    yield _with_database(pg_url, name)
    pg_admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="session")
def mysql_url() -> str:
    """The MariaDB / MySQL server for tests, checked to answer."""
    url = os.environ.get("CONVEYOR_TEST_MYSQL_URL", DEFAULT_MYSQL_URL)
    try:
        mysql_connect(url).close()
    except pymysql.err.MySQLError as exc:
        _unreachable(
            f"MariaDB at {urlsplit(url).hostname}:{urlsplit(url).port} is unreachable: {exc}"
        )
    return url


def mysql_connect(url: str) -> Any:
    parts = urlsplit(url)
    return pymysql.connect(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 3306,
        user=parts.username or "root",
        password=parts.password or "",
        database=parts.path.lstrip("/") or None,
        autocommit=True,
        connect_timeout=5,
    )


def mysql_rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    conn = mysql_connect(url)
    try:
        with conn.cursor() as cursor:
            cursor.execute(sql)
            return list(cursor.fetchall())
    finally:
        conn.close()


def pg_rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        return list(conn.execute(sql).fetchall())


def run_dag_file(
    tmp_path: Path, name: str, source: str, env: dict[str, str], files: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``conveyor run`` on a DAG file written into a folder of its own (with ``files`` beside
    it), in a home under ``tmp_path``; returns the finished process."""
    folder = tmp_path / "dags"
    folder.mkdir(exist_ok=True)
    for path, text in (files or {}).items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_text(textwrap.dedent(text))
    (folder / name).write_text(textwrap.dedent(source))
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_", "CONVEYOR_"))}
    return subprocess.run(
        [CONVEYOR, "run", str(folder / name)],
        env={**clean, "CONVEYOR_HOME": str(tmp_path / "home"), **env},
        capture_output=True,
        text=True,
        timeout=200,
    )


def ended(done: subprocess.CompletedProcess[str], tmp_path: Path, code: int) -> tuple[str, str]:
    """Asserts that a :func:`run_dag_file` run ended with the exit code ``code``; its output
    (stdout and stderr) and its tries' logs (in the home under ``tmp_path``)."""
    output = done.stdout + done.stderr
    assert done.returncode == code, output
    logs = "".join(p.read_text() for p in (tmp_path / "home").rglob("try-*.log"))
    return output, logs
