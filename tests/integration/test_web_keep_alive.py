"""The web server keeps an idle connection open for ``web_timeout_seconds``, then closes
it: a proxy in front, whose own idle timeout is shorter, closes first (docs/deploy.md,
"Scaling")."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli_processes import free_port
from conftest import make_settings
from conveyor.cli.web import make_server, serve_in_thread
from conveyor.config import load_config
from conveyor.store import schema
from conveyor.store.engine import Store

KEEP_ALIVE = 2
REQUEST = b"GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n"


@pytest.fixture
def port(tmp_path: Path) -> Iterator[int]:
    """A web server with a keep-alive of :data:`KEEP_ALIVE`, served from this process."""
    dags = tmp_path / "dags"
    dags.mkdir()
    settings = make_settings(
        tmp_path, dags, f"sqlite:///{tmp_path}/conveyor.db", web_timeout_seconds=KEEP_ALIVE
    )
    store = Store(settings.db_url)
    schema.migrate(store)
    free = free_port()
    server = make_server(settings, store, "127.0.0.1", free)
    thread = serve_in_thread(server)
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the web server did not start"
    yield free
    server.should_exit = True
    thread.join(timeout=10)
    store.dispose()


def _answer(conn: socket.socket) -> bytes:
    """One whole response to /login (its headers and a body of Content-Length bytes)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        assert chunk, f"the server closed the connection mid-answer: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += conn.recv(4096)
    return head


def _answer_to(conn: socket.socket) -> bytes:
    conn.sendall(REQUEST)
    return _answer(conn)


def test_an_idle_connection_serves_again_within_the_keep_alive_and_is_closed_after(
    port: int,
) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=20) as conn:
        assert _answer_to(conn).startswith(b"HTTP/1.1 200")
        time.sleep(KEEP_ALIVE / 4)  # idle, but within the keep-alive: the same connection
        assert _answer_to(conn).startswith(b"HTTP/1.1 200")
        idle = time.monotonic()
        assert conn.recv(1) == b""  # the server closes its side once idle that long
        closed_after = time.monotonic() - idle
    # Not uvicorn's own 5 s (what the server used before the setting).
    assert KEEP_ALIVE - 0.5 < closed_after < 4.5, closed_after


def test_the_default_is_airflows_and_outlasts_a_load_balancers_idle_timeout(
    tmp_path: Path,
) -> None:
    # 60 s is the idle timeout of most load balancers; uvicorn's own default is 5 s.
    settings = load_config({"CONVEYOR_HOME": str(tmp_path)}).settings
    assert settings.web_timeout_seconds == 120 > 60
    moved = load_config({"CONVEYOR_HOME": str(tmp_path), "AIRFLOW__API__WORKER_TIMEOUT": "75"})
    assert moved.settings.web_timeout_seconds == 75  # a deployment moved from Airflow keeps it
