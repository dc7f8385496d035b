"""A SQL operator's ``on_kill`` cancels the statement it is waiting for, on the real servers
(PostgreSQL through psycopg's cancel, MariaDB through ``KILL QUERY``): a stopped try leaves
no query running on the database."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import sql_servers

from conveyor.providers.sql_operators import SQLExecuteQueryOperator

pytestmark = pytest.mark.postgres

mysql_url = sql_servers.mysql_url
pg_sql_url = sql_servers.pg_sql_url

SLEEPS = {"warehouse": "SELECT pg_sleep(30)", "shop": "SELECT SLEEP(30)"}


@pytest.mark.parametrize("conn_id", ["warehouse", "shop"])
def test_on_kill_cancels_the_running_statement(
    conn_id: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    pg_sql_url: str,
    mysql_url: str,
) -> None:
    monkeypatch.setenv("CONVEYOR_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", pg_sql_url.replace("postgresql://", "postgres://"))
    monkeypatch.setenv("AIRFLOW_CONN_SHOP", mysql_url)
    operator = SQLExecuteQueryOperator(task_id="slow_query", conn_id=conn_id, sql=SLEEPS[conn_id])
    ended: list[object] = []

    def execute() -> None:
        try:
            ended.append(operator.execute({}))
        except Exception as exc:  # a cancelled statement raises on PostgreSQL
            ended.append(exc)

    started = time.monotonic()
    thread = threading.Thread(target=execute, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while (
        getattr(operator, "_hook_running", None) is None or operator._hook_running._running is None
    ):  # type: ignore[attr-defined]
        assert time.monotonic() < deadline, "the statement never started"
        time.sleep(0.05)
    time.sleep(0.5)  # the statement is on the server now
    operator.on_kill()
    thread.join(timeout=10)
    assert not thread.is_alive(), "the statement still ran 10 s after on_kill"
    assert time.monotonic() - started < 10
    assert ended, "execute neither returned nor raised"
