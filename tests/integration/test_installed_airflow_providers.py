"""Airflow's own provider packages for providers Conveyor does not ship (redis, ftp, apprise),
installed as a team installs them (``conveyor providers install``) into a virtualenv beside
Conveyor, run DAGs on Conveyor's real path to their real effect: Redis (the local server) sees
the key a hook set and the message the operator published, an FTP server (pyftpdlib on a
private port) receives and gives back the file, and the apprise notifier's request reaches an
HTTP endpoint with the rendered text.

The virtualenv is cached under the repository's ``.cache`` by what decides its content (the
packages, the Python, the recipe's code): about 20 s to build once, then reused; the module
takes about 10 s with it warm.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis
from sqlalchemy import select

import conveyor
from celery_workers import REDIS_URL, require_redis, stop_workers
from conftest import runs_finished
from conveyor.store.engine import Store
from conveyor.store.tables import dag_run, task_instance

SRC = Path(conveyor.__file__).resolve().parents[1]
REPO = SRC.parent
CACHE = REPO / ".cache" / "airflow-provider-venvs"
PACKAGES = (
    "apache-airflow-providers-redis",
    "apache-airflow-providers-ftp",
    "apache-airflow-providers-apprise",
)
#: The FTP server the test starts (not something the providers need).
TEST_ONLY = ("pyftpdlib>=2.0",)
#: The code whose change must rebuild the virtualenv: the recipe itself.
RECIPE = (
    SRC / "conveyor" / "cli" / "providers.py",
    SRC / "conveyor" / "airflow_compat" / "provider_requirements.py",
)

SERVERS = """
import json, socket, sys, threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer

root, received = sys.argv[1], sys.argv[2]
authorizer = DummyAuthorizer()
authorizer.add_user("team", "secret", root, perm="elradfmwMT")
FTPHandler.authorizer = authorizer
ftp = FTPServer(("127.0.0.1", 0), FTPHandler)
passive = socket.socket(); passive.bind(("127.0.0.1", 0)); first = passive.getsockname()[1]
passive.close()
FTPHandler.passive_ports = range(first, first + 8)


class Endpoint(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with open(received, "a") as out:
            out.write(json.dumps({"path": self.path, "body": body.decode()}) + "\\n")
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


http = HTTPServer(("127.0.0.1", 0), Endpoint)
threading.Thread(target=http.serve_forever, daemon=True).start()
print(ftp.socket.getsockname()[1], http.server_address[1], flush=True)
ftp.serve_forever()
"""


def _purelib(venv: Path) -> Path:
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    return venv / "lib" / version / "site-packages"


def _cache_key() -> str:
    inputs = [sys.version, sys.prefix, *PACKAGES, *TEST_ONLY]
    inputs += [path.read_text() for path in RECIPE]
    return hashlib.sha256(json.dumps(inputs).encode()).hexdigest()[:16]


def _env(**extra: str) -> dict[str, str]:
    """The test's environment with this checkout's Conveyor first on the path."""
    path = os.pathsep.join(p for p in (str(SRC), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, "COLUMNS": "200", **extra}


@pytest.fixture(scope="module")
def provider_venv() -> Path:
    """A virtualenv with Conveyor (this checkout, over the test's own site-packages) and the
    provider packages installed by ``conveyor providers install``; cached."""
    venv = CACHE / _cache_key()
    if (venv / ".conveyor-ready").exists():
        return venv
    for older in CACHE.glob("*"):  # other keys: a recipe or package list that changed since
        shutil.rmtree(older, ignore_errors=True)
    build = CACHE / f"building-{os.getpid()}"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(build)], check=True)
    # Conveyor and its libraries as the test has them; pip (from there too) installs into
    # the new environment and, ignoring what is installed there, never touches the other.
    base = sysconfig.get_paths()["purelib"]
    (_purelib(build) / "_conveyor_base.pth").write_text(f"import site; site.addsitedir({base!r})\n")
    pip_env = _env(PIP_IGNORE_INSTALLED="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    python = str(build / "bin" / "python")
    cli = [python, "-c", "from conveyor.cli.main import main; main()"]
    done = subprocess.run(
        [*cli, "providers", "install", *PACKAGES], env=pip_env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "--no-deps" in done.stdout and "apache-airflow-providers-common-compat" in done.stdout
    subprocess.run([python, "-m", "pip", "install", "-q", *TEST_ONLY], env=pip_env, check=True)
    shutil.rmtree(venv, ignore_errors=True)
    build.rename(venv)
    script = venv / "bin" / "conveyor"
    script.write_text(
        f"#!{venv / 'bin' / 'python'}\nimport sys\nfrom conveyor.cli.main import main\n"
        "sys.exit(main())\n"
    )
    script.chmod(0o755)
    (venv / ".conveyor-ready").touch()
    return venv


@pytest.fixture(scope="module")
def servers(provider_venv: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """The FTP server and the HTTP endpoint, in the virtualenv's Python."""
    folder = tmp_path_factory.mktemp("servers")
    (folder / "ftp").mkdir()
    script = folder / "servers.py"
    script.write_text(SERVERS)
    received = folder / "received.jsonl"
    process = subprocess.Popen(
        [str(provider_venv / "bin" / "python"), str(script), str(folder / "ftp"), str(received)],
        stdout=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    try:
        assert process.stdout is not None
        ftp_port, http_port = process.stdout.readline().split()
        yield {
            "ftp": int(ftp_port),
            "http": int(http_port),
            "root": folder / "ftp",
            "received": received,
        }
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


def _conveyor(
    venv: Path, tmp_path: Path, *args: str, **env: str
) -> subprocess.CompletedProcess[str]:
    run_env = _env(
        CONVEYOR_HOME=str(tmp_path / "home"), CONVEYOR_DAGS_FOLDER=str(tmp_path / "dags"), **env
    )
    return subprocess.run(
        [str(venv / "bin" / "conveyor"), *args],
        env=run_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _write(folder: Path, name: str, source: str) -> None:
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(textwrap.dedent(source))


REDIS_CONN = json.dumps(
    {"conn_type": "redis", "host": "127.0.0.1", "port": 6379, "extra": {"db": 5}}
)


def _redis_dag(dags: Path, key: str, channel: str, queue: str = "default") -> None:
    _write(
        dags,
        "redis_dag.py",
        f"""
        from datetime import datetime

        from airflow.providers.redis.hooks.redis import RedisHook
        from airflow.providers.redis.operators.redis_publish import RedisPublishOperator
        from airflow.providers.redis.sensors.redis_key import RedisKeySensor
        from airflow.sdk import DAG, task

        with DAG("provider_redis", start_date=datetime(2026, 1, 1), schedule=None,
                 default_args={{"queue": "{queue}"}}):
            @task
            def put_key():
                RedisHook(redis_conn_id="team_redis").get_conn().set("{key}", "ready")

            wait = RedisKeySensor(
                task_id="wait", key="{key}", redis_conn_id="team_redis",
                poke_interval=0.2, timeout=30,
            )
            publish = RedisPublishOperator(
                task_id="publish", channel="{channel}", message="run {{{{ run_id }}}}",
                redis_conn_id="team_redis",
            )
            put_key() >> wait >> publish
        """,
    )


@contextmanager
def _redis_effects() -> Iterator[tuple[str, str, Callable[[], str]]]:
    """A fresh key and channel, and what reads the one message published on the channel."""
    require_redis()
    key, channel = f"conveyor-{uuid.uuid4().hex}", f"conveyor-{uuid.uuid4().hex}"
    client = redis.Redis.from_url(f"{REDIS_URL}/5")
    listener = client.pubsub()
    listener.subscribe(channel)
    assert listener.get_message(timeout=5)["type"] == "subscribe"  # type: ignore[index]

    def published() -> str:
        assert client.get(key) == b"ready"  # the hook's write, which the sensor waited for
        message = listener.get_message(timeout=5)
        assert message is not None and message["type"] == "message", message
        return str(message["data"].decode())

    try:
        yield key, channel, published
    finally:
        listener.close()
        client.delete(key)


def test_redis_provider_operator_sensor_and_hook_reach_redis(
    provider_venv: Path, tmp_path: Path
) -> None:
    with _redis_effects() as (key, channel, published):
        _redis_dag(tmp_path / "dags", key, channel)
        done = _conveyor(
            provider_venv,
            tmp_path,
            "dags",
            "test",
            "provider_redis",
            CONVEYOR_CONN_TEAM_REDIS=REDIS_CONN,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "run success" in done.stdout
        assert published().startswith("run manual__")  # the template rendered


@pytest.mark.postgres
def test_redis_provider_runs_through_the_scheduler_on_a_celery_worker(
    provider_venv: Path, tmp_path: Path, pg_database_url: str
) -> None:
    queue = f"installed-providers-{uuid.uuid4().hex[:8]}"
    environment = _env(
        CONVEYOR_HOME=str(tmp_path / "home"),
        CONVEYOR_DAGS_FOLDER=str(tmp_path / "dags"),
        CONVEYOR_DATABASE_URL=pg_database_url,
        CONVEYOR_EXECUTOR="celery",
        CONVEYOR_BROKER_URL=f"{REDIS_URL}/5",
        CONVEYOR_SCHEDULER_LOOP_SECONDS="0.2",
        CONVEYOR_DAG_SCAN_SECONDS="0.2",
        CONVEYOR_HEARTBEAT_SECONDS="0.5",
        CONVEYOR_CONN_TEAM_REDIS=REDIS_CONN,
        PATH=f"{provider_venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
    )
    store = Store(pg_database_url)
    with _redis_effects() as (key, channel, published):
        _redis_dag(tmp_path / "dags", key, channel, queue)
        worker = [str(provider_venv / "bin" / "conveyor"), "worker", "-q", queue, "-c", "1"]
        scheduler = [str(provider_venv / "bin" / "conveyor"), "scheduler"]
        with (
            (tmp_path / "worker.log").open("w") as worker_log,
            (tmp_path / "scheduler.log").open("w") as scheduler_log,
        ):
            processes = [
                subprocess.Popen(
                    command,
                    env=environment,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
                for command, log in ((worker, worker_log), (scheduler, scheduler_log))
            ]
            try:
                run_pk = _trigger_when_parsed(provider_venv, environment, tmp_path, store)
                finished = runs_finished(store, [run_pk])
                deadline = time.monotonic() + 90
                while not finished() and time.monotonic() < deadline:
                    time.sleep(0.2)
                logs = (tmp_path / "worker.log").read_text()[-3000:]
                assert finished(), logs + (tmp_path / "scheduler.log").read_text()[-3000:]
            finally:
                stop_workers(processes)
        with store.read() as conn:
            state = conn.execute(select(dag_run.c.state).where(dag_run.c.id == run_pk)).scalar()
            tries = conn.execute(
                select(task_instance.c.task_id, task_instance.c.hostname).where(
                    task_instance.c.run_pk == run_pk
                )
            ).all()
        store.dispose()
        assert state == "success", tries
        assert len(tries) == 3 and all(host for _, host in tries)  # each ran on the worker
        assert published().startswith("run ")


def test_ftp_provider_and_apprise_notifier_reach_their_servers(
    provider_venv: Path, servers: dict, tmp_path: Path
) -> None:
    local = tmp_path / "report.csv"
    local.write_text("day,total\n2026-11-26,42\n")
    _write(
        tmp_path / "dags",
        "ftp_dag.py",
        f"""
        from datetime import datetime

        from airflow.providers.apprise.notifications.apprise import AppriseNotifier
        from airflow.providers.ftp.hooks.ftp import FTPHook
        from airflow.providers.ftp.operators.ftp import FTPFileTransmitOperator, FTPOperation
        from airflow.providers.ftp.sensors.ftp import FTPSensor
        from airflow.sdk import DAG, task

        notify = AppriseNotifier(
            title="nightly", body="{{{{ dag.dag_id }}}} finished {{{{ run_id }}}}",
            apprise_conn_id="team_apprise",
        )
        with DAG("provider_ftp", start_date=datetime(2026, 1, 1), schedule=None,
                 on_success_callback=notify):
            put = FTPFileTransmitOperator(
                task_id="put", ftp_conn_id="team_ftp", local_filepath="{local}",
                remote_filepath="/inbox/report.csv", operation=FTPOperation.PUT,
                create_intermediate_dirs=True,
            )
            wait = FTPSensor(
                task_id="wait", path="/inbox/report.csv", ftp_conn_id="team_ftp",
                poke_interval=0.2, timeout=30,
            )

            @task
            def read_back():
                FTPHook(ftp_conn_id="team_ftp").retrieve_file(
                    "/inbox/report.csv", "{tmp_path / "back.csv"}"
                )

            put >> wait >> read_back()
        """,
    )
    apprise = {
        "conn_type": "apprise",
        "extra": {"config": {"path": f"json://127.0.0.1:{servers['http']}/alerts"}},
    }
    done = _conveyor(
        provider_venv,
        tmp_path,
        "dags",
        "test",
        "provider_ftp",
        CONVEYOR_CONN_TEAM_FTP=f"ftp://team:secret@127.0.0.1:{servers['ftp']}",
        CONVEYOR_CONN_TEAM_APPRISE=json.dumps(apprise),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert (servers["root"] / "inbox" / "report.csv").read_text() == local.read_text()
    assert (tmp_path / "back.csv").read_text() == local.read_text()
    posts = [json.loads(line) for line in servers["received"].read_text().splitlines()]
    assert [p["path"] for p in posts] == ["/alerts"]
    body = json.loads(posts[0]["body"])
    assert body["title"] == "nightly"
    assert body["message"].startswith("provider_ftp finished manual__")


def test_providers_list_and_plain_python_in_the_namespace_layout(
    provider_venv: Path, tmp_path: Path
) -> None:
    site = _purelib(provider_venv)
    # The packages made a bare ``airflow/`` folder (no __init__): Conveyor's names stay in
    # front, and the providers' own modules still load from it.
    assert (site / "airflow" / "providers" / "redis").is_dir()
    assert not (site / "airflow" / "__init__.py").exists()
    listed = _conveyor(provider_venv, tmp_path, "providers", "list", "-o", "json")
    assert listed.returncode == 0, listed.stderr
    rows = {row["provider"]: row for row in json.loads(listed.stdout)}
    assert {"redis", "ftp", "apprise", "common.compat"} <= set(rows)
    assert rows["redis"]["package"] == "apache-airflow-providers-redis" and rows["redis"]["used"]
    code = (
        "import conveyor.testing, airflow\n"
        "from airflow.operators.bash import BashOperator\n"
        "from airflow.providers.redis.hooks.redis import RedisHook\n"
        "from airflow.providers.redis.version_compat import AIRFLOW_V_3_0_PLUS\n"
        "import airflow.providers.redis as redis_provider\n"
        "print(airflow.__version__, AIRFLOW_V_3_0_PLUS, redis_provider.__file__,"
        " BashOperator.__module__.split('.')[0], RedisHook.default_conn_name)\n"
    )
    shown = subprocess.run(
        [str(provider_venv / "bin" / "python"), "-c", code],
        env=_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr
    version, v3, where, bash_from, conn = shown.stdout.split()
    assert (version, v3, bash_from, conn) == ("3.3.2", "True", "conveyor", "redis_default")
    assert Path(where).is_relative_to(site)


def _trigger_when_parsed(
    venv: Path, environment: dict[str, str], tmp_path: Path, store: Store
) -> int:
    """Trigger the DAG once the scheduler has parsed it; the new run's pk."""
    deadline = time.monotonic() + 60
    while True:
        done = subprocess.run(
            [str(venv / "bin" / "conveyor"), "dags", "trigger", "provider_redis", "-o", "json"],
            env=environment,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if done.returncode == 0:
            run_id = json.loads(done.stdout)["run_id"]
            with store.read() as conn:
                found = conn.execute(select(dag_run.c.id).where(dag_run.c.run_id == run_id))
                return int(found.scalar_one())
        assert time.monotonic() < deadline, done.stderr + (tmp_path / "scheduler.log").read_text()
        time.sleep(0.5)
