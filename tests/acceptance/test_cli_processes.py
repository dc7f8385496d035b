"""The tests' own helper for `conveyor` processes: whatever a test does, nothing it started
outlives it, not the command, not a process the command started, not a pipe."""

from __future__ import annotations

import os
import signal
import textwrap
import time
from pathlib import Path

import pytest

import cli_processes
from cli_processes import CliProcess, cli_process, live_members

NAPPING = """
    import time
    from conveyor import DAG, task

    with DAG("napping"):
        @task
        def nap():
            time.sleep(600)

        nap()
"""


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "CONVEYOR_HOME": str(tmp_path / "home")}


def test_a_failing_block_still_ends_the_command_its_children_and_its_pipe(
    env: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "napping.py"
    path.write_text(textwrap.dedent(NAPPING))
    with pytest.raises(RuntimeError), cli_process(["run", str(path)], env) as run:
        run.wait_for_line(r"nap running", timeout=60)
        assert len(live_members(run.pid)) > 1  # the fork server and a runner besides
        raise RuntimeError("an assertion of the test failed here")
    assert live_members(run.pid) == []
    assert run.popen.stdout is not None and run.popen.stdout.closed
    assert run.returncode is not None


def test_a_process_left_running_is_ended_by_the_guard(env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "napping.py"
    path.write_text(textwrap.dedent(NAPPING))
    left = CliProcess(["run", str(path)], env, None)  # never ended by the test itself
    left.wait_for_line(r"nap running", timeout=60)
    started = time.monotonic()
    assert cli_processes.end_leftovers() == [f"run {path}"]  # what the guard calls
    assert time.monotonic() - started < 5
    assert live_members(left.pid) == []
    assert left.popen.stdout is not None and left.popen.stdout.closed


def _alive(pid: int) -> bool:
    fields = cli_processes._stat_fields(pid)
    return fields is not None and fields[0] != "Z"


def test_a_try_stops_when_its_command_is_killed(env: dict[str, str], tmp_path: Path) -> None:
    """SIGKILL to `conveyor run` alone: its runner leads a group of its own, so no signal
    reaches it, but it sees its fork server gone and stops its try and what the try started,
    which also lets go of the command's output pipe."""
    path = tmp_path / "napping.py"
    path.write_text(textwrap.dedent(NAPPING))
    with cli_process(["run", str(path)], env) as run:
        run.wait_for_line(r"nap running", timeout=60)
        started = cli_processes.descendants(run.pid)
        assert started  # the fork server and the runner
        os.kill(run.pid, signal.SIGKILL)
        deadline = time.monotonic() + 20
        while any(_alive(pid) for pid in started) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [pid for pid in started if _alive(pid)] == []
        run.seconds_to_end(time.monotonic(), 10)  # the output pipe reached its end
