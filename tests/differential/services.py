"""The real services the provider DAGs (``dags/af3/prov_*.py``) talk to.

Started the same way by ``airflow_recorder.py`` (in Airflow's throwaway venv) and by
``test_differential.py`` (in Conveyor's), so both systems meet the same answers. It imports
only the standard library at the top; the database drivers (psycopg, PyMySQL) are in both
venvs and are imported when a database is made.

- PostgreSQL (127.0.0.1:5432, user postgres) and MariaDB (127.0.0.1:3306, root): a database
  of this harness's own (``diffsuite_<pid>``), made at start and dropped at stop, so two
  runs on one machine never share tables; each DAG also drops the tables it makes.
- SQLite: a file in a temporary folder.
- HTTP: a standard-library server on a free port, serving fixed answers (``_Answers``),
  among them stand-ins for Slack's incoming webhooks and Web API and Discord's webhooks,
  which keep what was posted to them for a DAG's later task to read (``/inbox/<name>``).
- SSH and SFTP: Debian's OpenSSH server (``/usr/sbin/sshd``, as ``scripts/services.sh``
  ensures) on a free port with a config and keys of its own in a temporary folder, logging
  in the user running it with a key; ``DIFFSUITE_SSH_DIR`` is a folder the DAGs may write.
- S3 and the other AWS services: moto's server in a process of its own on a free port (with
  this Python when it has moto, else ``DIFFSUITE_MOTO_PYTHON``'s: Airflow's venv has no
  moto), Lambda's Docker off (an invocation answers moto's fixed payload).
- JDBC: the PostgreSQL database above through Debian's driver jar (``JDBC_JAR``,
  ``scripts/services.sh`` ensure_postgresql_jdbc) and a Java runtime.
- SMB: Debian's smbd (``scripts/services.sh`` ensure_smbd) as root, with a config, a user
  database and a share of its own in a temporary folder, on a free port.
- Spark: a stand-in ``spark-submit`` (and ``spark3-submit``) put first on the ``PATH``, which
  writes the command line and environment it was started with into ``DIFFSUITE_SPARK_DIR``
  (a file per ``--name``) for a DAG's later task to read, prints a few lines, and exits 3
  when its application is ``fail.py``: what is measured is the command the operator builds.
- Cloud Storage: gcp-storage-emulator in memory, in a process of its own on a free port
  (with this Python or ``DIFFSUITE_MOTO_PYTHON``'s), named by ``STORAGE_EMULATOR_HOST``.
- Docker: podman's Docker-compatible service (``podman system service``, as
  ``scripts/services.sh`` ensure_podman installs it) on a socket of its own, named by
  ``DOCKER_HOST``, and a busybox image made here (``DOCKER_IMAGE``; no registry is reached).
- SMTP: a standard-library server on a free port that accepts every mail and writes it,
  with its envelope, into a folder (``DIFFSUITE_MAILBOX``), where a DAG's later task reads it.

``start()`` gives the connections (``AIRFLOW_CONN_*``) pointing at them, and which services
could not start, with the reason (a provider DAG that needs one is skipped, saying why).
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import shutil
import signal
import socket
import socketserver
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

#: The servers the tests use (scripts/test's defaults; the recording has no such variables).
PG_SERVER = (
    "//"
    + urlsplit(
        os.environ.get("CONVEYOR_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/x")
    ).netloc
)
MYSQL = urlsplit(os.environ.get("CONVEYOR_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/x"))

#: Which service each provider DAG needs, by the prefix of its id.
NEEDS = {
    "prov_postgres_": "postgres",
    "prov_sql_": "postgres",
    "prov_mysql_": "mysql",
    "prov_sqlite_": "sqlite",
    "prov_http_": "http",
    "prov_smtp_": "smtp",
    "prov_ssh_": "ssh",
    "prov_s3_": "s3",
    "prov_aws_": "s3",
    "prov_objectstorage_s3": "s3",
    "prov_google_gcs": "gcs",
    "prov_sftp_": "ssh",
    "prov_exception_": "postgres",  # and http, which runs wherever Python does
    "prov_slack_": "http",
    "prov_discord_": "http",
    "prov_jdbc_": "jdbc",
    "prov_samba_": "samba",
    "prov_spark_": "spark",
    "prov_docker_": "docker",
}


#: The DAGs that need s3fs on Airflow (its s3:// ObjectStoragePath): the recording runs them
#: in a pass of their own, with s3fs and the botocore it accepts first on the path.
NEEDS_S3FS = {"prov_objectstorage_s3"}


def needed_by(dag_id: str) -> str | None:
    """The service ``dag_id`` talks to (None: it needs none)."""
    return next((s for prefix, s in NEEDS.items() if dag_id.startswith(prefix)), None)


class _Answers(BaseHTTPRequestHandler):
    """Fixed answers: JSON, plain text, any status, three pages, and an echo of the request;
    and the chat services' stand-ins, each keeping the requests posted to it."""

    #: By stand-in (``slack-hooks``, ``slack-api``, ``discord-webhooks``,
    #: ``discord-embed-webhooks``): the requests
    #: posted to it, until read.
    inboxes: dict[str, list[dict[str, Any]]] = {}
    inbox_lock = threading.Lock()

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
        elif parts[0] in ("slack", "discord", "discord-embed"):
            self._chat(parts, url.path, body)
        elif parts[0] == "inbox" and len(parts) == 2:
            with self.inbox_lock:
                self._send(200, self.inboxes.pop(parts[1], []))
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

    def _chat(self, parts: list[str], path: str, body: str) -> None:
        """``/slack/hooks/...``: an incoming webhook (``ok``, or ``/slack/hooks-gone/...``: a
        404 ``no_service``); ``/slack/api/<method>``: the Web API (``/slack/api-fail/``:
        ``channel_not_found``); ``/discord/webhooks/<id>/<token>`` (and ``/discord-embed/...``,
        an inbox of its own): 204, as Discord answers."""
        try:
            posted: Any = json.loads(body) if body else None
        except ValueError:
            posted = {"form": {k: v[0] for k, v in parse_qs(body).items()}}
        kept = {"path": path, "body": posted, "authorization": self.headers.get("Authorization")}
        kind = parts[1] if len(parts) > 1 else ""
        # One inbox per stand-in (``slack-hooks``, ``slack-api``, ``discord-webhooks``): the
        # DAGs that post to them may run at once.
        with self.inbox_lock:
            self.inboxes.setdefault(f"{parts[0]}-{kind.split('-')[0]}", []).append(kept)
        if kind == "hooks":
            self._send(200, "ok", "text/plain")
        elif kind == "hooks-gone":
            self._send(404, "no_service", "text/plain")
        elif kind == "api":
            answer = {"ok": True, "channel": "C0DIFF", "ts": "1700000000.000100"}
            self._send(200, {**answer, "message": posted if isinstance(posted, dict) else {}})
        elif kind == "api-fail":
            self._send(200, {"ok": False, "error": "channel_not_found"})
        elif kind == "webhooks":
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self._send(404, {"error": "no such answer", "path": path})

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _answer


class _Mailbox(socketserver.StreamRequestHandler):
    """Just enough SMTP for smtplib without TLS or login: every mail is accepted and kept
    as ``<n>.eml`` beside ``<n>.json`` (its envelope)."""

    folder = ""
    count = 0
    lock = threading.Lock()

    def _reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        self._reply("220 diffsuite ESMTP")
        sender, recipients = "", []
        while line := self.rfile.readline():
            command = line.decode(errors="replace").strip()
            verb = command[:4].upper()
            if verb in ("EHLO", "HELO"):
                self._reply("250 diffsuite")
            elif verb == "MAIL":
                sender, recipients = command.partition(":")[2].strip().strip("<>"), []
                self._reply("250 OK")
            elif verb == "RCPT":
                recipients.append(command.partition(":")[2].strip().strip("<>"))
                self._reply("250 OK")
            elif verb == "DATA":
                self._reply("354 end with <CRLF>.<CRLF>")
                self._keep(sender, recipients)
                self._reply("250 OK")
            elif verb == "QUIT":
                self._reply("221 bye")
                return
            else:  # RSET, NOOP and the rest: nothing to do
                self._reply("250 OK")

    def _keep(self, sender: str, recipients: list[str]) -> None:
        body = bytearray()
        while (line := self.rfile.readline()) not in (b".\r\n", b".\n", b""):
            body += line[1:] if line.startswith(b"..") else line
        with _Mailbox.lock:
            _Mailbox.count += 1
            name = os.path.join(self.folder, str(_Mailbox.count))
        with open(name + ".eml", "wb") as out:
            out.write(bytes(body))
        with open(name + ".json", "w", encoding="utf-8") as out:
            json.dump({"from": sender, "to": recipients}, out)


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
    _start_smtp(services)
    _start_sshd(services)
    _start_moto(services)
    _start_gcs(services)
    _start_sqlite(services)
    _start_postgres(services, name)
    _start_mysql(services, name)
    _start_jdbc(services, name)
    _start_smbd(services)
    _start_spark(services)
    _start_podman(services)
    return services


def _start_http(services: Services) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answers)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="diffsuite-http", daemon=True).start()
    port = server.server_address[1]
    base = f"http://127.0.0.1:{port}"
    services.env["AIRFLOW_CONN_DIFFSUITE_HTTP"] = base
    chat = {
        "DIFFSUITE_SLACK_WEBHOOK": {
            "conn_type": "slackwebhook",
            "host": f"{base}/slack/hooks",
            "password": "T0DIFF/B0DIFF/secretpart",
        },
        "DIFFSUITE_SLACK_WEBHOOK_GONE": {
            "conn_type": "slackwebhook",
            "host": f"{base}/slack/hooks-gone",
            "password": "T0DIFF/B0DIFF/removed",
        },
        "DIFFSUITE_SLACK": {
            "conn_type": "slack",
            "password": "xoxb-diffsuite-token",
            "extra": {"base_url": f"{base}/slack/api/"},
        },
        "DIFFSUITE_SLACK_FAIL": {
            "conn_type": "slack",
            "password": "xoxb-diffsuite-token",
            "extra": {"base_url": f"{base}/slack/api-fail/"},
        },
        "DIFFSUITE_DISCORD": {
            "conn_type": "discord",
            "host": f"{base}/discord",
            "extra": {"webhook_endpoint": "webhooks/111/first-token"},
        },
        # A stand-in of its own (its inbox apart), for a DAG that may run beside the above.
        "DIFFSUITE_DISCORD_EMBED": {
            "conn_type": "discord",
            "host": f"{base}/discord-embed",
            "extra": {"webhook_endpoint": "webhooks/333/embed-token"},
        },
    }
    for name, connection in chat.items():
        services.env[f"AIRFLOW_CONN_{name}"] = json.dumps(connection)
    services._stops.append(lambda: (server.shutdown(), server.server_close()))


def _start_smtp(services: Services) -> None:
    folder = tempfile.mkdtemp(prefix="diffsuite-mailbox-")
    handler = type("Mailbox", (_Mailbox,), {"folder": folder})
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="diffsuite-smtp", daemon=True).start()
    services.env["DIFFSUITE_MAILBOX"] = folder
    services.env["AIRFLOW_CONN_DIFFSUITE_SMTP"] = json.dumps(
        {
            "conn_type": "smtp",
            "host": "127.0.0.1",
            "port": server.server_address[1],
            "extra": {"disable_ssl": True, "disable_tls": True, "from_email": "robot@example.com"},
        }
    )
    services._stops.append(lambda: (server.shutdown(), server.server_close()))
    services._stops.append(lambda: shutil.rmtree(folder, ignore_errors=True))


SSHD = "/usr/sbin/sshd"


def _start_sshd(services: Services) -> None:
    if not os.access(SSHD, os.X_OK):
        services.unavailable["ssh"] = f"{SSHD} is missing (apt-get install openssh-server)"
        return
    if os.geteuid() == 0:
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # its privilege separation
    folder = tempfile.mkdtemp(prefix="diffsuite-sshd-")
    services._stops.append(lambda: shutil.rmtree(folder, ignore_errors=True))
    user = getpass.getuser()
    try:
        for key in ("host_key", "client_key"):
            subprocess.run(
                ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", f"{folder}/{key}"],
                check=True,
                capture_output=True,
                timeout=60,
            )
        shutil.copy(f"{folder}/client_key.pub", f"{folder}/authorized_keys")
        server, port = _run_sshd(folder, user)
    except (OSError, subprocess.SubprocessError, RuntimeError) as error:
        services.unavailable["ssh"] = f"sshd could not start: {error}"
        return
    services._stops.append(lambda: _stop_sshd(server))
    shared = os.path.join(folder, "shared")
    os.mkdir(shared)
    services.env["DIFFSUITE_SSH_DIR"] = shared
    for conn_type in ("ssh", "sftp"):
        services.env[f"AIRFLOW_CONN_DIFFSUITE_{conn_type.upper()}"] = json.dumps(
            {
                "conn_type": conn_type,
                "host": "127.0.0.1",
                "port": port,
                "login": user,
                "extra": {
                    "key_file": f"{folder}/client_key",
                    "no_host_key_check": "true",
                    "conn_timeout": "60",
                    "cmd_timeout": "60",
                },
            }
        )


def _run_sshd(folder: str, user: str) -> tuple[subprocess.Popen[bytes], int]:
    """sshd on a free port; started again on another when the port was taken meanwhile."""
    for _ in range(5):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        config = os.path.join(folder, "sshd_config")
        with open(config, "w", encoding="utf-8") as out:
            out.write(
                f"ListenAddress 127.0.0.1\nPort {port}\nHostKey {folder}/host_key\n"
                f"PidFile {folder}/sshd.pid\nAuthorizedKeysFile {folder}/authorized_keys\n"
                f"AllowUsers {user}\nPermitRootLogin prohibit-password\n"
                "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n"
                "StrictModes no\nSubsystem sftp internal-sftp\nLogLevel VERBOSE\n"
                "MaxStartups 50:30:100\n"
            )
        log = os.path.join(folder, f"sshd-{port}.log")
        server = subprocess.Popen(
            [SSHD, "-D", "-f", config, "-E", log],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 20
        while server.poll() is None and time.monotonic() < deadline:
            # Its own log line, not a probe of the port: another process could hold it.
            if _says_listening(log, port):
                return server, port
            time.sleep(0.1)
        _stop_sshd(server)
    raise RuntimeError(f"no sshd listening after 5 starts (see {folder})")


def _says_listening(log: str, port: int) -> bool:
    if not os.path.exists(log):
        return False
    with open(log, encoding="utf-8", errors="replace") as text:
        return f"listening on 127.0.0.1 port {port}." in text.read()


def _stop_sshd(server: subprocess.Popen[bytes]) -> None:
    """sshd and the session processes it forked (its own process group)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=10)


def _start_moto(services: Services) -> None:
    import importlib.util
    import sys

    python = sys.executable
    if importlib.util.find_spec("moto") is None:
        python = os.environ.get("DIFFSUITE_MOTO_PYTHON", "")
    if not python or not os.access(python, os.X_OK):
        services.unavailable["s3"] = "no Python with moto (set DIFFSUITE_MOTO_PYTHON)"
        return
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = subprocess.Popen(
        [python, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        # Both paths purge the messaging DAG's queue: SQS refuses a second purge within 60 s
        # (moto too, by default), and the scheduled path can come sooner than that.
        env={**os.environ, "MOTO_SQS_ENFORCE_STRICT_QUEUE_PURGE_BEHAVIOUR": "false"},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    services._stops.append(lambda: _stop_sshd(server))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and server.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            time.sleep(0.1)
    else:
        services.unavailable["s3"] = f"moto's server did not answer on port {port}"
        return
    # A Lambda invocation answers moto's fixed payload: no container runs the function.
    _moto_api(port, "config", {"lambda": {"use_docker": False}})
    services.env["AIRFLOW_CONN_DIFFSUITE_AWS"] = json.dumps(
        {
            "conn_type": "aws",
            "login": "testing",
            "password": "testing",
            "extra": {"endpoint_url": f"http://127.0.0.1:{port}", "region_name": "us-east-1"},
        }
    )


def _python_with(module: str) -> str | None:
    """This Python when it has ``module``, else ``DIFFSUITE_MOTO_PYTHON`` (the project's
    venv, which has the stand-ins Airflow's venv lacks); None when neither can run."""
    import importlib.util
    import sys

    if importlib.util.find_spec(module) is not None:
        return sys.executable
    python = os.environ.get("DIFFSUITE_MOTO_PYTHON", "")
    return python if python and os.access(python, os.X_OK) else None


def _start_gcs(services: Services) -> None:
    """gcp-storage-emulator in memory, in a process of its own; Google's client finds it
    through ``STORAGE_EMULATOR_HOST``, the connection sends no credentials."""
    python = _python_with("gcp_storage_emulator")
    if python is None:
        services.unavailable["gcs"] = "no Python with gcp-storage-emulator"
        return
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    command = [python, "-m", "gcp_storage_emulator", "start", "-H", "127.0.0.1"]
    server = subprocess.Popen(
        [*command, "--port", str(port), "--in-memory", "-q"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    services._stops.append(lambda: _stop_sshd(server))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and server.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            time.sleep(0.1)
    else:
        services.unavailable["gcs"] = f"gcp-storage-emulator did not answer on port {port}"
        return
    services.env["STORAGE_EMULATOR_HOST"] = f"http://127.0.0.1:{port}"
    services.env["AIRFLOW_CONN_DIFFSUITE_GCP"] = json.dumps(
        {
            "conn_type": "google_cloud_platform",
            "extra": {"project": "diffsuite", "is_anonymous": True},
        }
    )


def _moto_api(port: int, path: str, body: dict[str, Any]) -> None:
    """A setting of moto's own (``/moto-api/<path>``)."""
    import urllib.request

    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/moto-api/{path}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10):
        pass


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

        admin = f"postgresql:{PG_SERVER}/postgres"
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as db:
            db.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            db.execute(f"CREATE DATABASE {name}")
    except Exception as error:
        services.unavailable["postgres"] = f"PostgreSQL at {PG_SERVER.split('@')[-1]}: {error}"
        return
    services.env["AIRFLOW_CONN_DIFFSUITE_SQL"] = f"postgres:{PG_SERVER}/{name}"

    def drop() -> None:
        with psycopg.connect(admin, autocommit=True) as db:
            db.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    services._stops.append(drop)


def _mysql_login() -> dict[str, Any]:
    return {
        "host": MYSQL.hostname or "127.0.0.1",
        "port": MYSQL.port or 3306,
        "user": unquote(MYSQL.username or "root"),
        "password": unquote(MYSQL.password or ""),
    }


def _start_mysql(services: Services, name: str) -> None:
    try:
        import pymysql

        db = pymysql.connect(**_mysql_login(), connect_timeout=5)
        with db, db.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {name}")
            cursor.execute(f"CREATE DATABASE {name}")
    except Exception as error:
        services.unavailable["mysql"] = f"MariaDB at {MYSQL.hostname}:{MYSQL.port}: {error}"
        return
    services.env["AIRFLOW_CONN_DIFFSUITE_MYSQL"] = f"mysql://{MYSQL.netloc}/{name}"

    def drop() -> None:
        db = pymysql.connect(**_mysql_login())
        with db, db.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {name}")

    services._stops.append(drop)


#: The PostgreSQL JDBC driver the jdbc DAGs load (the path is the same on both systems).
JDBC_JAR = "/usr/share/java/postgresql.jar"


def _start_jdbc(services: Services, name: str) -> None:
    """A ``jdbc`` connection to the harness's PostgreSQL database: the JDBC URL is its host."""
    if "postgres" in services.unavailable:
        services.unavailable["jdbc"] = services.unavailable["postgres"]
        return
    missing = [p for p in (JDBC_JAR,) if not os.path.exists(p)] + (
        [] if shutil.which("java") else ["java"]
    )
    if missing:
        services.unavailable["jdbc"] = f"missing {missing} (scripts/services.sh)"
        return
    server = urlsplit(f"postgres:{PG_SERVER}")
    services.env["AIRFLOW_CONN_DIFFSUITE_JDBC"] = json.dumps(
        {
            "conn_type": "jdbc",
            "host": f"jdbc:postgresql://{server.hostname}:{server.port or 5432}/{name}"
            "?stringtype=unspecified",
            "login": unquote(server.username or "postgres"),
            "password": unquote(server.password or ""),
            "extra": {"placeholder": "?"},
        }
    )


SMBD = "/usr/sbin/smbd"
SMB_PASSWORD = "Smb-Diff-7c21"


def _smb_config(root: str, port: int) -> str:
    folders = {f: os.path.join(root, f) for f in ("private", "lock", "state", "cache", "run")}
    return (
        "[global]\n server role = standalone server\n security = user\n"
        " map to guest = never\n"
        f" passdb backend = tdbsam:{folders['private']}/passdb.tdb\n"
        f" private dir = {folders['private']}\n lock directory = {folders['lock']}\n"
        f" state directory = {folders['state']}\n cache directory = {folders['cache']}\n"
        f" pid directory = {folders['run']}\n ncalrpc dir = {root}/ncalrpc\n"
        f" log file = {root}/smbd.log\n smb ports = {port}\n interfaces = 127.0.0.1\n"
        " bind interfaces only = yes\n disable netbios = yes\n load printers = no\n"
        " printcap name = /dev/null\n disable spoolss = yes\n"
        f"[data]\n path = {root}/share\n read only = no\n"
    )


def _start_smbd(services: Services) -> None:
    """smbd maps the share's user to a Unix one: it runs (and logs in) as root only. It makes
    itself a session leader, so its process group is what is stopped."""
    smbpasswd = shutil.which("smbpasswd")
    if not (os.access(SMBD, os.X_OK) and smbpasswd) or os.geteuid() != 0:
        services.unavailable["samba"] = f"{SMBD} and smbpasswd, run as root (ensure_smbd)"
        return
    root = tempfile.mkdtemp(prefix="diffsuite-smbd-")
    services._stops.append(lambda: shutil.rmtree(root, ignore_errors=True))
    for folder in ("private", "lock", "state", "cache", "run", "ncalrpc", "share"):
        os.mkdir(os.path.join(root, folder))
    port = _free_port()
    config = os.path.join(root, "smb.conf")
    with open(config, "w") as out:
        out.write(_smb_config(root, port))
    subprocess.run(
        [smbpasswd, "-c", config, "-s", "-a", "root"],
        input=f"{SMB_PASSWORD}\n{SMB_PASSWORD}\n",
        text=True,
        check=True,
        capture_output=True,
    )
    with open(os.path.join(root, "smbd.out"), "w") as out:
        server = subprocess.Popen(
            [SMBD, "--foreground", "--debug-stdout", f"--configfile={config}"],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    services._stops.append(lambda: _stop_group(server))
    deadline = time.monotonic() + 30
    while not _answers(port):
        if server.poll() is not None or time.monotonic() > deadline:
            with open(os.path.join(root, "smbd.out")) as log:
                services.unavailable["samba"] = f"smbd did not start: {log.read()[-500:]}"
            return
        time.sleep(0.1)
    services.env["AIRFLOW_CONN_DIFFSUITE_SAMBA"] = json.dumps(
        {
            "conn_type": "samba",
            "host": "127.0.0.1",
            "port": port,
            "schema": "data",
            "login": "root",
            "password": SMB_PASSWORD,
        }
    )


def _answers(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
        return True
    return False


def _stop_group(server: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


#: The stand-in spark-submit: what the operator built, kept as JSON, and a non-zero exit asked
#: for by the application's name.
SPARK_SUBMIT = """#!/usr/bin/env python3
import json, os, sys
args = sys.argv[1:]
name = args[args.index("--name") + 1] if "--name" in args else "unnamed"
seen = {
    "binary": os.path.basename(sys.argv[0]),
    "args": args,
    "env": {k: v for k, v in os.environ.items() if k.startswith("DIFF_SPARK_")},
}
with open(os.path.join(os.environ["DIFFSUITE_SPARK_DIR"], name + ".json"), "w") as out:
    json.dump(seen, out)
print("stand-in spark-submit started", flush=True)
print("spark.secret=hidden-value", flush=True)
if any(a.endswith("/fail.py") for a in args):
    print("Exception in thread main: the job failed", flush=True)
    sys.exit(3)
print("job done", flush=True)
"""


def _start_spark(services: Services) -> None:
    folder = tempfile.mkdtemp(prefix="diffsuite-spark-")
    services._stops.append(lambda: shutil.rmtree(folder, ignore_errors=True))
    binaries, seen = os.path.join(folder, "bin"), os.path.join(folder, "seen")
    os.mkdir(binaries)
    os.mkdir(seen)
    for name in ("spark-submit", "spark3-submit"):
        path = os.path.join(binaries, name)
        with open(path, "w") as out:
            out.write(SPARK_SUBMIT)
        os.chmod(path, 0o755)
    services.env["PATH"] = binaries + os.pathsep + os.environ.get("PATH", "")
    services.env["DIFFSUITE_SPARK_DIR"] = seen
    # Conveyor looks in SPARK_HOME first: a Spark installed here must not answer instead.
    if os.environ.get("SPARK_HOME"):
        services.unavailable["spark"] = "SPARK_HOME is set: the stand-in would not be run"


#: The image the docker DAGs run: Debian's static busybox, imported into podman once per
#: machine (the name tests/integration/container_engine.py gives it too).
DOCKER_IMAGE = "localhost/conveyor-test-box:1"
_APPLETS = ("sh", "echo", "cat", "env", "ls", "sleep", "printf", "true", "false")


def _podman(*args: str, **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
    runtime = ["--runtime", "runc"] if shutil.which("runc") else []
    return subprocess.run(["podman", *runtime, *args], capture_output=True, **kwargs)


def _busybox_rootfs() -> bytes:
    import io
    import tarfile

    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        for folder in ("bin", "tmp", "etc"):
            info = tarfile.TarInfo(folder)
            info.type, info.mode = tarfile.DIRTYPE, 0o1777 if folder == "tmp" else 0o755
            tar.addfile(info)
        tar.add("/bin/busybox", arcname="bin/busybox")
        for applet in _APPLETS:
            info = tarfile.TarInfo(f"bin/{applet}")
            info.type, info.linkname = tarfile.SYMTYPE, "busybox"
            tar.addfile(info)
    return data.getvalue()


def _start_podman(services: Services) -> None:
    if not shutil.which("podman") or not os.path.isfile("/bin/busybox"):
        services.unavailable["docker"] = "podman and /bin/busybox (ensure_podman)"
        return
    if _podman("image", "exists", DOCKER_IMAGE).returncode != 0:
        made = _podman(
            "import", "--change", "ENV PATH=/bin", "-", DOCKER_IMAGE, input=_busybox_rootfs()
        )
        if made.returncode != 0:
            services.unavailable["docker"] = f"podman import: {made.stderr.decode()[-300:]}"
            return
    folder = tempfile.mkdtemp(prefix="diffsuite-podman-")
    services._stops.append(lambda: shutil.rmtree(folder, ignore_errors=True))
    path = os.path.join(folder, "podman.sock")
    runtime = ["--runtime", "runc"] if shutil.which("runc") else []
    with open(os.path.join(folder, "service.log"), "wb") as out:
        server = subprocess.Popen(
            ["podman", *runtime, "system", "service", "--time=0", f"unix://{path}"],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    services._stops.append(lambda: _stop_service(server))
    deadline = time.monotonic() + 60
    while not _pings(path):
        if server.poll() is not None or time.monotonic() > deadline:
            services.unavailable["docker"] = "podman's service did not answer"
            return
        time.sleep(0.1)
    services.env["DOCKER_HOST"] = f"unix://{path}"
    services.env["DIFFSUITE_DOCKER_IMAGE"] = DOCKER_IMAGE


def _pings(path: str) -> bool:
    with socket.socket(socket.AF_UNIX) as probe:
        probe.settimeout(5)
        try:
            probe.connect(path)
            probe.sendall(b"GET /_ping HTTP/1.0\r\n\r\n")
            return b"OK" in probe.recv(4096)
        except OSError:
            return False


def _stop_service(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
