"""The real services the provider DAGs (``dags/af3/prov_*.py``) talk to.

Started the same way by ``airflow_recorder.py`` (in Airflow's throwaway venv) and by
``test_differential.py`` (in Conveyor's), so both systems meet the same answers. It imports
only the standard library at the top; the database drivers (psycopg, PyMySQL) are in both
venvs and are imported when a database is made.

- PostgreSQL (127.0.0.1:5432, user postgres) and MariaDB (127.0.0.1:3306, root): a database
  of this harness's own (``diffsuite_<pid>``), made at start and dropped at stop, so two
  runs on one machine never share tables; each DAG also drops the tables it makes.
- SQLite: a file in a temporary folder.
- HTTP: a standard-library server on a free port, serving fixed answers (``ANSWERS``).

``start()`` gives the connections (``AIRFLOW_CONN_*``) pointing at them, and which services
could not start, with the reason (a provider DAG that needs one is skipped, saying why).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
MYSQL_HOST, MYSQL_PORT = "127.0.0.1", 3306

#: Which service each provider DAG needs, by the prefix of its id.
NEEDS = {
    "prov_postgres_": "postgres",
    "prov_sql_": "postgres",
    "prov_mysql_": "mysql",
    "prov_sqlite_": "sqlite",
    "prov_http_": "http",
    "prov_exception_": "postgres",  # and http, which runs wherever Python does
}


def needed_by(dag_id: str) -> str | None:
    """The service ``dag_id`` talks to (None: it needs none)."""
    return next((s for prefix, s in NEEDS.items() if dag_id.startswith(prefix)), None)


class _Answers(BaseHTTPRequestHandler):
    """Fixed answers: JSON, plain text, any status, three pages, and an echo of the request."""

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _send(self, status: int, body: Any, content_type: str = "application/json") -> None:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Diffsuite", "yes")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _answer(self) -> None:
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        parts = url.path.strip("/").split("/")
        if parts[0] == "json":
            self._send(200, {"name": "diffsuite", "items": [1, 2, 3], "nested": {"ok": True}})
        elif parts[0] == "text":
            self._send(200, "plain answer", "text/plain")
        elif parts[0] == "status" and len(parts) == 2 and parts[1].isdigit():
            self._send(int(parts[1]), {"status": int(parts[1])})
        elif parts[0] == "pages":
            page = int(query.get("page", "1"))
            following = page + 1 if page < 3 else None
            self._send(200, {"page": page, "items": [page * 10, page * 10 + 1], "next": following})
        elif parts[0] == "echo":
            self._send(
                200,
                {
                    "method": self.command,
                    "path": url.path,
                    "query": query,
                    "body": body,
                    "content_type": self.headers.get("Content-Type"),
                    "x_custom": self.headers.get("X-Custom"),
                },
            )
        else:
            self._send(404, {"error": "no such answer", "path": url.path})

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _answer


@dataclass
class Services:
    """What ``start()`` brought up: the connections to them and what could not start."""

    env: dict[str, str] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)
    _stops: list[Any] = field(default_factory=list)

    def stop(self) -> None:
        for stop in reversed(self._stops):
            with contextlib.suppress(Exception):  # a service already gone needs no stopping
                stop()
        self._stops.clear()


def start() -> Services:
    """Bring up every service the provider DAGs use (those that can run here)."""
    services = Services()
    name = f"diffsuite_{os.getpid()}"
    _start_http(services)
    _start_sqlite(services)
    _start_postgres(services, name)
    _start_mysql(services, name)
    return services


def _start_http(services: Services) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answers)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="diffsuite-http", daemon=True).start()
    port = server.server_address[1]
    services.env["AIRFLOW_CONN_DIFFSUITE_HTTP"] = f"http://127.0.0.1:{port}"
    services._stops.append(lambda: (server.shutdown(), server.server_close()))


def _start_sqlite(services: Services) -> None:
    folder = tempfile.mkdtemp(prefix="diffsuite-sqlite-")
    path = os.path.join(folder, "providers.db")
    services.env["AIRFLOW_CONN_DIFFSUITE_SQLITE"] = json.dumps(
        {"conn_type": "sqlite", "host": path}
    )
    services._stops.append(lambda: shutil.rmtree(folder, ignore_errors=True))


def _start_postgres(services: Services, name: str) -> None:
    try:
        import psycopg

        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True, connect_timeout=5) as db:
            db.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            db.execute(f"CREATE DATABASE {name}")
    except Exception as error:
        services.unavailable["postgres"] = f"PostgreSQL at {PG_SERVER}: {error}"
        return
    services.env["AIRFLOW_CONN_DIFFSUITE_SQL"] = f"postgres://postgres@127.0.0.1:5432/{name}"

    def drop() -> None:
        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as db:
            db.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    services._stops.append(drop)


def _start_mysql(services: Services, name: str) -> None:
    try:
        import pymysql

        db = pymysql.connect(host=MYSQL_HOST, port=MYSQL_PORT, user="root", connect_timeout=5)
        with db, db.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {name}")
            cursor.execute(f"CREATE DATABASE {name}")
    except Exception as error:
        services.unavailable["mysql"] = f"MariaDB at {MYSQL_HOST}:{MYSQL_PORT}: {error}"
        return
    services.env["AIRFLOW_CONN_DIFFSUITE_MYSQL"] = f"mysql://root@{MYSQL_HOST}:{MYSQL_PORT}/{name}"

    def drop() -> None:
        db = pymysql.connect(host=MYSQL_HOST, port=MYSQL_PORT, user="root")
        with db, db.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {name}")

    services._stops.append(drop)
