"""A real `conveyor standalone` for Airflow's own API client to talk to, on either store.

The tests that drive ``/api/v2`` with ``apache-airflow-client`` and ``airflowctl`` share it:
a home with the DAG files a test module writes, a user, a store (SQLite, or a PostgreSQL
database cloned from the session's template), the server on a free port, and a client holding
a token from ``POST /auth/token``.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx2 as httpx
import psycopg
import pytest
from airflow_client import client as airflow
from airflow_client.client.api.dag_api import DAGApi

from cli_processes import cli_process, run_cli
from conftest import _with_database

T = TypeVar("T")
STORES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@dataclass
class Server:
    url: str
    token: str
    api: airflow.ApiClient
    home: Path


def wait_for(what: str, check: Callable[[], T | None], limit: float = 60) -> T:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"{what}: not within {limit}s")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        return httpx.get(url + "/health", timeout=2).status_code < 500
    except httpx.TransportError:
        return False


@contextmanager
def standalone(
    request: pytest.FixtureRequest,
    tmp: Path,
    env: dict[str, str],
    *,
    user: tuple[str, str, str],
    first_dag: str,
) -> Iterator[Server]:
    """``conveyor standalone`` on ``request.param``'s store with ``user`` (name, role,
    password) made, once the web app answers and ``first_dag`` is parsed."""
    database, admin = None, None
    if request.param == "postgres":
        pg_url = request.getfixturevalue("pg_url")
        admin = request.getfixturevalue("pg_admin")
        template = request.getfixturevalue("pg_template")
        database = f"conveyor_client_{tmp.name.replace('-', '_')}_{os.getpid()}"
        admin.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {database} TEMPLATE {template}")
        env["CONVEYOR_DATABASE_URL"] = _with_database(pg_url, database)
    name, role, password = user
    made = run_cli(env, "users", "create", name, "--role", role, "--password-stdin", stdin=password)
    assert made.returncode == 0, made.stdout + made.stderr
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with cli_process(["standalone", "--port", str(port)], env) as process:
        wait_for("the web app answers", lambda: _answers(url) or None)
        token = httpx.post(url + "/auth/token", json={"username": name, "password": password})
        assert token.status_code == 201, token.text
        access = token.json()["access_token"]
        config = airflow.Configuration(host=url, access_token=access)
        with airflow.ApiClient(config) as api:
            wait_for(
                "the DAG is parsed",
                lambda: first_dag in [d.dag_id for d in DAGApi(api).get_dags().dags],
            )
            yield Server(url, access, api, tmp)
        assert process.returncode is None, process.output
    if database is not None:
        pg: psycopg.Connection[Any] = admin  # type: ignore[assignment]
        pg.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
