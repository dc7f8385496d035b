"""``conveyor users``, ``conveyor web`` and the web of ``conveyor standalone`` as processes."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest
from api_helpers import csrf_from

from cli_processes import cli_env, free_port, run_cli

CONVEYOR = str(Path(sys.executable).parent / "conveyor")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return cli_env(tmp_path)


conveyor = run_cli


def wait_for_http(url: str, process: subprocess.Popen[str], limit: float = 30) -> httpx.Response:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited: {process.communicate()[0]}")
        try:
            return httpx.get(url, timeout=2)
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer within {limit}s")


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.communicate(timeout=15)  # also closes the pipe
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()


def test_users_create_list_delete(env: dict[str, str]) -> None:
    created = conveyor(env, "users", "create", "alice", "--role", "op")
    assert created.returncode == 0, created.stderr
    password = re.search(r"password: (\S+)", created.stdout)
    assert password and len(password.group(1)) >= 12
    given = conveyor(
        env, "users", "create", "bob", "--role", "viewer", "--password-stdin", stdin="s3cret-pass\n"
    )
    assert given.returncode == 0 and "password:" not in given.stdout
    listed = conveyor(env, "users", "list")
    assert re.search(r"alice\s+op", listed.stdout) and re.search(r"bob\s+viewer", listed.stdout)
    twice = conveyor(env, "users", "create", "alice", "--role", "op")
    assert twice.returncode == 1 and "exists already" in twice.stderr
    deleted = conveyor(env, "users", "delete", "alice")
    assert deleted.returncode == 0
    assert "alice" not in conveyor(env, "users", "list").stdout
    missing = conveyor(env, "users", "delete", "alice")
    assert missing.returncode == 1 and "no user 'alice'" in missing.stderr


def test_web_serves_health_login_and_the_api(
    env: dict[str, str], processes: list[subprocess.Popen[str]]
) -> None:
    assert (
        conveyor(
            env,
            "users",
            "create",
            "ann",
            "--role",
            "admin",
            "--password-stdin",
            stdin="ann-password\n",
        ).returncode
        == 0
    )
    token = conveyor(env, "users", "token", "ann", "--name", "test")
    assert token.returncode == 0
    port = free_port()
    env = {**env, "CONVEYOR_BASE_URL": "/cv"}
    processes.append(
        subprocess.Popen(
            [CONVEYOR, "web", "--port", str(port)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
    )
    base = f"http://127.0.0.1:{port}/cv"
    health = wait_for_http(f"{base}/health", processes[0])
    # No scheduler runs here: the store is fine, the scheduler check says what is missing.
    assert health.status_code == 503
    assert health.json()["checks"]["store"]["ok"] is True
    with httpx.Client(base_url=base) as browser:
        form = browser.get("/login")
        assert form.status_code == 200
        done = browser.post(
            "/login",
            data={
                "username": "ann",
                "password": "ann-password",
                "csrf_token": csrf_from(form.text),
            },
        )
        assert done.status_code in (200, 303), done.text
        assert browser.get("/api/v1/me").json()["username"] == "ann"
    script = httpx.get(
        f"{base}/api/v1/dags", headers={"Authorization": f"Bearer {token.stdout.strip()}"}
    )
    assert script.status_code == 200, script.text
    assert (script.json()["total"], script.json()["dags"]) == (0, [])


WAITED = """
from datetime import datetime
from conveyor import DAG, BashOperator

with DAG("waited", schedule=None, start_date=datetime(2024, 1, 1)):
    BashOperator(task_id="never", bash_command="true")
"""


def test_web_stops_within_its_grace_while_a_client_waits_on_a_run(
    env: dict[str, str], processes: list[subprocess.Popen[str]]
) -> None:
    (Path(env["CONVEYOR_DAGS_FOLDER"]) / "waited.py").write_text(WAITED)
    assert conveyor(env, "dags", "list").returncode == 0  # parses the file
    # No scheduler runs here: the run stays queued, and its waiting client with it.
    assert conveyor(env, "dags", "trigger", "waited", "--run-id", "held").returncode == 0
    made = conveyor(
        env, "users", "create", "ann", "--role", "op", "--password-stdin", stdin="ann-password\n"
    )
    assert made.returncode == 0, made.stderr
    token = conveyor(env, "users", "token", "ann", "--name", "test").stdout.strip()
    port = free_port()
    web = subprocess.Popen(
        [CONVEYOR, "web", "--port", str(port)],
        env={**env, "CONVEYOR_WEB_TIMEOUT_SECONDS": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    processes.append(web)
    base = f"http://127.0.0.1:{port}"
    wait_for_http(f"{base}/health", web)
    with httpx.stream(
        "GET",
        f"{base}/api/v2/dags/waited/dagRuns/held/wait",
        params={"interval": 1},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    ) as waiting:
        lines = waiting.iter_lines()
        assert next(lines) == '{"state": "queued"}'  # the stream is open, the run not ended
        stopping = time.monotonic()
        web.send_signal(signal.SIGTERM)
        web.wait(timeout=30)
        took = time.monotonic() - stopping
    # Its grace (1 s) and the process's own ending; without the grace it waited for the run.
    assert took < 15, f"conveyor web took {took:.1f} s to stop"
    assert web.returncode == -signal.SIGTERM  # uvicorn ends by the signal it caught, not killed


def test_standalone_serves_the_web_and_prints_a_generated_admin_password_once(
    env: dict[str, str], processes: list[subprocess.Popen[str]]
) -> None:
    port = free_port()

    def start() -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [CONVEYOR, "standalone", "--port", str(port)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        processes.append(process)
        return process

    first = start()
    health = wait_for_http(f"http://127.0.0.1:{port}/health", first)
    assert health.status_code in (200, 503)
    first.send_signal(signal.SIGTERM)
    output = first.communicate(timeout=30)[0]
    found = re.search(r"admin / (\S+)", output)
    assert found, output
    with httpx.Client(base_url=f"http://127.0.0.1:{port}") as browser:
        second = start()
        wait_for_http(f"http://127.0.0.1:{port}/health", second)
        form = browser.get("/login")
        browser.post(
            "/login",
            data={
                "username": "admin",
                "password": found.group(1),
                "csrf_token": csrf_from(form.text),
            },
        )
        assert browser.get("/api/v1/me").json()["role"] == "admin"
    second.send_signal(signal.SIGTERM)
    again = second.communicate(timeout=30)[0]
    assert "admin /" not in again  # printed once only
    assert "(new)" in output and "existing home" not in output, output
    # A second start says it reuses the home, and how to get back in without the password.
    assert "an existing home" in again, again
    assert "conveyor users reset-password admin" in again, again


def test_users_refuses_bad_input_with_the_reason(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from conveyor.cli.common import settings
    from conveyor.cli.main import cli

    runner = CliRunner()
    environ = {"CONVEYOR_HOME": str(tmp_path / "home")}
    settings.cache_clear()
    try:
        bad_role = runner.invoke(cli, ["users", "create", "carol", "--role", "boss"], env=environ)
        assert bad_role.exit_code == 2 and "boss" in bad_role.output
        short = runner.invoke(
            cli,
            ["users", "create", "dave", "--role", "op", "--password-stdin"],
            input="x\n",
            env=environ,
        )
        assert short.exit_code == 1 and "too short" in short.output
        bad_name = runner.invoke(cli, ["users", "create", "a b", "--role", "op"], env=environ)
        assert bad_name.exit_code == 1 and "invalid username" in bad_name.output
        last = runner.invoke(cli, ["users", "create", "root", "--role", "admin"], env=environ)
        assert last.exit_code == 0
        refused = runner.invoke(cli, ["users", "delete", "root"], env=environ)
        assert refused.exit_code == 1 and "last admin" in refused.output
    finally:
        settings.cache_clear()
