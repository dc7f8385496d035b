"""The first hour from a fresh clone: what the README and the standalone banner tell a new user
to type works as typed, in a second terminal that has neither the first one's PATH nor its
``CONVEYOR_HOME`` (issue 64).

The commands are read from README.md, scripts/standalone and the banner, not written here.
Nothing is installed: this test's environment (``sys.prefix``) stands in for the checkout's
``.venv``, which scripts/_venv.sh builds and scripts/standalone runs ``conveyor`` from.
"""

from __future__ import annotations

import os
import queue
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
VENV = Path(sys.prefix)
BIN = VENV / "bin"
PLACEHOLDERS = {"DAG_ID": "first", "DAG": "first"}

FIRST = """
from datetime import datetime
from conveyor import DAG, task

with DAG("first", schedule=None, start_date=datetime(2026, 1, 1)):
    @task
    def hello():
        print("hello")

    hello()
"""


def _second_terminal(tmp: Path, **extra: str) -> dict[str, str]:
    """A new shell: no CONVEYOR_* setting, the environment's bin not on the PATH, its own
    home directory (so ``~/.conveyor`` is a fresh one under ``tmp``)."""
    home = tmp / "user"
    home.mkdir(exist_ok=True)
    path = [p for p in os.environ.get("PATH", "").split(os.pathsep) if Path(p) != BIN]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONVEYOR_", "VIRTUAL_ENV"))}
    # CONVEYOR_TEST_* keep the test's services; they are not Conveyor's settings.
    env.update({k: v for k, v in os.environ.items() if k.startswith("CONVEYOR_TEST_")})
    return {**env, "PATH": os.pathsep.join(path), "HOME": str(home), "COLUMNS": "200", **extra}


def _bash(command: str, env: dict[str, str], cwd: Path | None = None) -> str:
    done = subprocess.run(
        ["bash", "-c", command], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, (
        f"{command!r} failed ({done.returncode}):\n{done.stdout}{done.stderr}"
    )
    return done.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _readme() -> str:
    return (REPO / "README.md").read_text()


def _first_command() -> list[str]:
    """The README's first command (the first line of its first bash block), as words."""
    block = re.search(r"```bash\n(.*?)```", _readme(), re.S)
    assert block, "the README has no bash block"
    first = block.group(1).splitlines()[0].split("#")[0]
    return shlex.split(first)


def _standalone_arguments() -> list[str]:
    """What scripts/standalone runs: ``$VENV/bin/conveyor`` and its first argument, with
    ``VENV`` the ``.venv`` of the checkout (scripts/_venv.sh)."""
    assert _first_command() == ["./scripts/standalone"]
    script = (REPO / "scripts" / "standalone").read_text()
    found = re.search(r'^exec "\$VENV/bin/conveyor" (\w+)', script, re.M)
    assert found, "scripts/standalone does not exec $VENV/bin/conveyor"
    assert 'VENV="$REPO/.venv"' in (REPO / "scripts" / "_venv.sh").read_text()
    return [found.group(1)]


@pytest.fixture
def standalone(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """The README's first command started in a first terminal, with a home of its own (as the
    README offers: ``CONVEYOR_HOME=/some/new/folder ./scripts/standalone``), and its banner."""
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "first.py").write_text(FIRST)
    env = _second_terminal(
        tmp_path,
        CONVEYOR_HOME=str(tmp_path / "chosen-home"),
        CONVEYOR_SCHEDULER_LOOP_SECONDS="0.2",
        PYTHONUNBUFFERED="1",
    )
    command = [str(BIN / "conveyor"), *_standalone_arguments()]
    process = subprocess.Popen(
        [*command, "--dags-folder", str(dags), "--port", str(_free_port())],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield _banner(process), process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)  # its output is drained by the banner's reader thread
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


def _banner(process: subprocess.Popen[str], limit: float = 60) -> str:
    """The banner's lines, up to its login line (read in a thread: a pipe's text buffer
    hides lines from ``select``)."""
    assert process.stdout is not None
    lines: queue.Queue[str] = queue.Queue()
    stream = process.stdout
    threading.Thread(target=lambda: [lines.put(x) for x in stream], daemon=True).start()
    seen: list[str] = []
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            continue
        seen.append(line)
        if line.lstrip().startswith("login"):
            return "".join(seen)
    raise AssertionError("no banner:\n" + "".join(seen))


def _commands(text: str) -> list[str]:
    """The spans between backticks that run Conveyor's command (a word naming ``conveyor``)."""
    spans = re.findall(r"`([^`\n]+)`", text)
    return [s for s in spans if any(Path(w).name == "conveyor" for w in shlex.split(s))]


def test_the_banner_s_commands_work_in_a_second_terminal(
    standalone: tuple[str, subprocess.Popen[str]], tmp_path: Path
) -> None:
    banner, _ = standalone
    second = _second_terminal(tmp_path)
    # Each command alone (the line that says how to shorten them is a sequence: below), in
    # the order a user would type them: a DAG_ID comes from the list.
    alone = "\n".join(line for line in banner.splitlines() if "`source " not in line)
    commands = sorted(_commands(alone), key=lambda c: any(p in c for p in PLACEHOLDERS))
    assert len(commands) >= 4, banner
    ran = 0
    for command in commands:
        words = shlex.split(command)
        if "TASK" in words:  # `tasks why DAG latest TASK` needs a run: not yet here
            continue
        runnable = " ".join(shlex.quote(PLACEHOLDERS.get(w, w)) for w in words)
        output = _bash(runnable, second)  # typed as the banner spells it, in a new shell
        if words[-2:] == ["dags", "list"]:
            # The running Conveyor's DAG, not an empty home's (its scheduler, which starts
            # after the banner, tells the folder it serves within a second or so).
            deadline = time.monotonic() + 20
            while "first" not in output and time.monotonic() < deadline:
                time.sleep(0.5)
                output = _bash(runnable, second)
            assert "first" in output, output
        ran += 1
    assert ran >= 4
    # The banner's way to type plain `conveyor` in a terminal works too.
    shorter = next(line for line in banner.splitlines() if "source " in line)
    steps = re.findall(r"`([^`\n]+)`", shorter)
    assert steps[-1] == "conveyor dags list", shorter
    assert "first" in _bash(" && ".join(steps), second)


def _readme_commands() -> list[str]:
    """The ``$ conveyor ...`` lines the README shows after its DAG file."""
    block = re.search(r"```text\n(\$ conveyor .*?)```", _readme(), re.S)
    assert block, "the README shows no conveyor commands"
    return [
        line[2:].split("#")[0].strip()
        for line in block.group(1).splitlines()
        if line.startswith("$ ")
    ]


def test_the_readme_s_commands_work_as_typed(tmp_path: Path) -> None:
    readme = _readme()
    activate = re.search(r"`source (\S+/bin/activate)`", readme)
    assert activate, "the README does not say how to put conveyor on the PATH"
    assert activate.group(1) == ".venv/bin/activate"  # the venv scripts/_venv.sh builds
    source = f"source {shlex.quote(str(BIN / 'activate'))}"
    dag = re.search(r"```python\n(.*?)```", readme, re.S)
    assert dag, "the README shows no DAG file"
    home = tmp_path / "home"
    (home / "dags").mkdir(parents=True)
    (home / "dags" / "hello.py").write_text(dag.group(1))
    env = _second_terminal(tmp_path, CONVEYOR_HOME=str(home))
    commands = _readme_commands()
    assert commands[:2] == ["conveyor dags unpause hello", "conveyor dags list"], commands
    outputs = {c: _bash(f"{source} && {c}", env, cwd=home) for c in commands[:2]}
    assert "hello is unpaused" in outputs["conveyor dags unpause hello"]
    assert "hello" in outputs["conveyor dags list"]
    # The rest read the run the running Conveyor makes of the unpaused DAG: its scheduler.
    scheduler = subprocess.Popen(
        [str(BIN / "conveyor"), "scheduler"],
        env={**env, "CONVEYOR_SCHEDULER_LOOP_SECONDS": "0.2"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        shown = f"{source} && {commands[2]}"
        assert commands[2] == "conveyor runs show hello latest", commands
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            done = subprocess.run(["bash", "-c", shown], env=env, capture_output=True, text=True)
            if done.returncode == 0 and "success" in done.stdout.splitlines()[0]:
                break
            time.sleep(1)
        else:
            raise AssertionError(f"the unpaused DAG made no successful run:\n{done.stdout}")
        for command in commands[2:]:
            outputs[command] = _bash(f"{source} && {command}", env, cwd=home)
    finally:
        scheduler.send_signal(signal.SIGTERM)
        scheduler.wait(timeout=30)
    assert "total" in outputs["conveyor tasks why hello latest total"]
    assert "success" in outputs["conveyor run dags/hello.py"]
