"""A quick command through the ``conveyor`` console script is answered by this user's
command server once one is up (``conveyor.cli.command_client`` / ``command_server``), with
the same output, exit status, standard input, folder and environment as a command run in
the process the user started; Ctrl-C reaches it; a changed module or another environment
gets a server of its own; the server leaves when idle. Everything else runs where it was
started. The suite turns the server off (tests/conftest.py); these tests turn it on, with
a runtime folder of their own.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli_processes import CONVEYOR, cli_env, run_cli, running_with
from conveyor.cli import command_client

DAGS = """
from conveyor import DAG, task

for dag_id in ("sales_daily", "sales_weekly"):
    with DAG(dag_id, schedule=None):
        @task
        def one():
            return 1
        one()
"""


def _server_pids(folder: Path) -> list[int]:
    """The command servers whose runtime folder is ``folder``."""
    return running_with("conveyor.cli.command_server", str(folder))


def _wait_for(predicate, what: str, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


class Served:
    """An environment whose quick commands go to a command server in ``runtime``."""

    def __init__(self, tmp_path: Path) -> None:
        # A socket's path has at most 107 bytes: pytest's folders are too deep for one.
        self.runtime = Path(tempfile.mkdtemp(prefix="cs-"))
        self.env = cli_env(tmp_path, CONVEYOR_COMMAND_SERVER="debug", TMPDIR=str(self.runtime))
        self.env.pop("XDG_RUNTIME_DIR", None)
        self.folder = Path(command_client.runtime_dir(self.env) or "")
        assert self.folder.parent == self.runtime

    def log(self) -> str:
        return "".join(p.read_text() for p in self.folder.glob("cli-*.log"))

    def served(self) -> list[str]:
        """The command lines the servers ran, as their logs say."""
        return [line.split(": ", 1)[1] for line in self.log().splitlines() if " pid " in line]

    def start(self, env: dict[str, str] | None = None) -> None:
        """A first quick command (run here) starts the server; wait until it serves."""
        before = self.log().count("serving on ")
        run_cli(env or self.env, "version")
        _wait_for(lambda: self.log().count("serving on ") > before, "the server")

    def key(self) -> str:
        """The server key of this environment, as the console script's interpreter has it."""
        probe = "import os; from conveyor.cli import command_client as c; "
        probe += "print(c.server_key(os.environ))"
        python = Path(CONVEYOR).read_text().splitlines()[0].removeprefix("#!")
        return subprocess.run(
            [python, "-c", probe], env=self.env, capture_output=True, text=True, check=True
        ).stdout.strip()

    def stop(self) -> None:
        for pid in _server_pids(self.folder):
            os.kill(pid, signal.SIGTERM)
        _wait_for(lambda: not _server_pids(self.folder), "the servers to leave")
        shutil.rmtree(self.runtime)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    found = Served(tmp_path)
    (tmp_path / "dags" / "sales.py").write_text(DAGS)
    try:
        yield found
    finally:
        found.stop()


def test_a_quick_command_is_answered_warm_as_it_is_cold(served: Served, tmp_path: Path) -> None:
    cold_env = {**served.env, "CONVEYOR_COMMAND_SERVER": "off"}
    cold = run_cli(cold_env, "dags", "list", "-o", "json")
    assert cold.returncode == 0, cold.stderr
    assert not served.folder.exists() or not list(served.folder.glob("*.sock"))

    served.start()
    warm = run_cli(served.env, "dags", "list", "-o", "json")
    assert warm.returncode == 0, warm.stderr
    assert json.loads(warm.stdout) == json.loads(cold.stdout)
    assert served.served() == ["dags list"]

    missing = run_cli(served.env, "dags", "show", "nowhere")
    assert missing.returncode == 1
    assert "no DAG 'nowhere'" in missing.stderr
    assert missing.stderr == run_cli(cold_env, "dags", "show", "nowhere").stderr

    # The command's folder: a relative path is the client's.
    work = tmp_path / "work"
    work.mkdir()
    assert run_cli(served.env, "variables", "set", "region", "eu").returncode == 0
    exported = subprocess.run(
        [CONVEYOR, "variables", "export", "out.json"],
        env=served.env,
        cwd=work,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert exported.returncode == 0, exported.stderr
    assert json.loads((work / "out.json").read_text()) == {"region": "eu"}

    # Its standard input: the question before pausing two DAGs reads the client's.
    refused = run_cli(served.env, "dags", "pause", "--pattern", "^sales", stdin="n\n")
    assert refused.returncode == 1 and "Are you sure?" in refused.stderr
    paused = run_cli(served.env, "dags", "pause", "--pattern", "^sales", stdin="y\n")
    assert paused.returncode == 0, paused.stderr
    assert "sales_daily is paused" in paused.stdout
    listed = json.loads(run_cli(cold_env, "dags", "list", "-o", "json").stdout)
    assert all(d["is_paused"] for d in listed["dags"])

    assert served.served() == [
        "dags list",
        "dags show",
        "variables set",
        "variables export",
        "dags pause",
        "dags pause",
    ]
    # A command that is not quick runs where it was started.
    assert run_cli(served.env, "dags", "reserialize").returncode == 0
    assert "dags reserialize" not in served.served()


def test_ctrl_c_reaches_the_served_command(served: Served) -> None:
    served.start()
    client = subprocess.Popen(
        [CONVEYOR, "dags", "pause", "--pattern", "^sales"],
        env=served.env,
        stdin=subprocess.PIPE,  # left open: the question waits
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for(lambda: served.served() == ["dags pause"], "the served command")
        time.sleep(0.5)  # at its question
        client.send_signal(signal.SIGINT)
        _, stderr = client.communicate(timeout=10)
    finally:
        client.kill()
        client.communicate()
    assert client.returncode == 1
    assert "Aborted" in stderr


def test_another_environment_or_changed_code_gets_a_server_of_its_own(
    served: Served, tmp_path: Path
) -> None:
    other_dags = tmp_path / "other_dags"
    other_dags.mkdir()
    other = {**served.env, "CONVEYOR_DAGS_FOLDER": str(other_dags)}
    served.start()
    served.start(other)
    assert len(_server_pids(served.folder)) == 2
    for env, folder in ((served.env, tmp_path / "dags"), (other, other_dags)):
        answer = run_cli(env, "config", "get-value", "core", "dags_folder")
        assert answer.stdout.strip() == str(folder)
    assert served.served() == ["config get-value", "config get-value"]

    # A module the server imported changes on disk: it sends the next command back and
    # leaves; that command starts a new one.
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text("LOADED = True\n")
    env = {**served.env, "PYTHONPATH": str(site)}
    served.start(env)
    first = set(_server_pids(served.folder))
    assert run_cli(env, "pools", "list").returncode == 0
    assert served.served().count("pools list") == 1
    later = time.time() + 5
    os.utime(site / "sitecustomize.py", (later, later))
    assert run_cli(env, "pools", "list").returncode == 0  # answered here
    assert served.served().count("pools list") == 1
    _wait_for(lambda: set(_server_pids(served.folder)) - first, "a new server")
    _wait_for(lambda: served.log().count("a module changed on disk") == 1, "the old one to go")


def test_an_idle_server_leaves_and_takes_its_socket(served: Served) -> None:
    key = served.key()
    socket_file = Path(command_client.server_files(str(served.folder), key)[0])
    server = subprocess.Popen(
        [
            str(Path(CONVEYOR).parent / "python"),
            "-m",
            "conveyor.cli.command_server",
            str(served.folder),
            key,
            "--idle-seconds",
            "1",
        ],
        env=served.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(socket_file.exists, "the socket")
        assert run_cli(served.env, "version").stdout.strip().startswith("conveyor ")
        assert server.wait(timeout=30) == 0
    finally:
        server.kill()
        server.wait()
    assert not socket_file.exists()


def test_the_server_imports_no_console_and_starts_no_thread() -> None:
    """The preload leaves out the modules that bind the standard streams when imported, and
    a forked child inherits no thread."""
    probe = (
        "import sys, threading\n"
        "from conveyor.cli.command_server import preload\n"
        "preload()\n"
        "print('conveyor.cli.common' in sys.modules, threading.active_count(), "
        "'sqlalchemy' in sys.modules, 'conveyor.cli.main' in sys.modules)\n"
    )
    python = str(Path(CONVEYOR).parent / "python")
    result = subprocess.run([python, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "1", "True", "True"]


def test_commands_at_once_each_get_their_own_answer(served: Served) -> None:
    """A script's commands started together: each answered, each with its own output."""
    served.start()
    for n in range(8):
        assert run_cli(served.env, "variables", "set", f"v{n}", f"value {n}").returncode == 0
    clients = [
        subprocess.Popen(
            [CONVEYOR, "variables", "get", f"v{n}"],
            env=served.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(8)
    ]
    answers = [client.communicate(timeout=60) for client in clients]
    assert [client.returncode for client in clients] == [0] * 8
    assert [out.strip() for out, _ in answers] == [f"value {n}" for n in range(8)]
    assert served.served().count("variables get") == 8


def test_a_request_that_is_not_a_command_line_leaves_the_server_serving(served: Served) -> None:
    served.start()
    key = served.key()
    path = command_client.server_files(str(served.folder), key)[0]
    for garbage in (b"\x00\x00\x00\x05hello", b"\x00\x00\x00\x02" + b"N", b""):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.connect(path)
            socket.send_fds(connection, [garbage or b"\x00"], [0, 1, 2])
            connection.shutdown(socket.SHUT_WR)
            assert connection.recv(64) == b""  # refused: nothing run, nothing said
    assert run_cli(served.env, "pools", "list").returncode == 0
    assert served.served() == ["pools list"]
    assert served.log().count("a request refused") == 3


def test_a_user_has_at_most_four_servers(served: Served) -> None:
    """Every environment has its own server: a fifth environment's commands run cold and
    start none (the count's probes are not refused requests)."""
    envs = [{**served.env, "CONVEYOR_PARALLELISM": str(n + 1)} for n in range(5)]
    for env in envs[:4]:
        served.start(env)
    assert len(_server_pids(served.folder)) == command_client.MAX_SERVERS == 4
    for _ in range(2):
        assert run_cli(envs[4], "pools", "list").returncode == 0
    time.sleep(1)
    assert len(_server_pids(served.folder)) == 4
    assert "pools list" not in served.served()
    assert "a request refused" not in served.log()
