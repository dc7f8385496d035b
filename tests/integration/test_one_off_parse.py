"""A command that parses what changed before it reads (``dags list`` and the other reads,
``dags reserialize``) forks its parse children from itself, which has most of what a parse
imports loaded, instead of starting the fork server with a try runner's whole preload: a new
DAG file is listed a second or more sooner. The children are still apart from the command
(a file that hangs or dies holds up only its child), close the command's other pipes, and
leave the command's store connections alone, on both stores.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from cli_processes import PROBE, alive, cli_env, descendants


def noting_dag(dag_id: str, notes: Path, *, sleep: float = 0.0) -> str:
    """A DAG file that notes, as it is parsed, its process, its parent and its sockets (a
    parse child's end to its parent is one, as is a connection to PostgreSQL)."""
    return textwrap.dedent(
        f"""\
        import json, os, stat, time
        from conveyor import DAG, EmptyOperator
        time.sleep({sleep!r})
        sockets = []
        for fd in map(int, os.listdir("/proc/self/fd")):
            try:
                if stat.S_ISSOCK(os.fstat(fd).st_mode):
                    sockets.append(fd)
            except OSError:
                continue
        with open({str(notes)!r}, "a") as out:
            out.write(json.dumps({{"dag": {dag_id!r}, "pid": os.getpid(),
                                   "parent": os.getppid(), "sockets": sockets}}) + "\\n")
        with DAG({dag_id!r}, schedule=None):
            EmptyOperator(task_id="a")
        """
    )


def probe(tmp_path: Path, env: dict[str, str], *args: str) -> tuple[dict, str]:
    report = tmp_path / "report.json"
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(report), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(report.read_text()), done.stdout


def notes_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.parametrize("store_url", ["sqlite", "postgres"], indirect=True)
def test_a_read_parses_new_files_in_forks_of_itself_and_lists_them(
    tmp_path: Path, store_url: str
) -> None:
    # Two children at once, one file each: the later ones are forked after the first
    # results were saved (through the store's connections).
    env = cli_env(
        tmp_path,
        CONVEYOR_DATABASE_URL=store_url,
        CONVEYOR_DAG_PARSE_PROCESSES="2",
        CONVEYOR_DAG_PARSE_FILES_PER_PROCESS="1",
    )
    folder, notes = Path(env["CONVEYOR_DAGS_FOLDER"]), tmp_path / "notes.jsonl"
    names = [f"noted_{n}" for n in range(5)]
    for name in names:
        (folder / f"{name}.py").write_text(noting_dag(name, notes))

    report, listed = probe(tmp_path, env, "dags", "list", "-o", "plain")

    assert report["code"] == 0
    assert [line.split("\t")[0] for line in listed.splitlines()[1:]] == names
    # Each file was parsed in a child of the command itself, none of the fork server's,
    # which the command never started.
    seen = notes_of(notes)
    assert sorted(n["dag"] for n in seen) == names
    assert {n["parent"] for n in seen} == {report["pid"]}
    assert len({n["pid"] for n in seen}) == len(names)
    assert report["fork_server"] is None
    # A child holds one socket: its own end to the command. Not a copy of another child's
    # end (which would keep that pipe open after the command died), nor of the command's
    # own (which would keep its own open), nor the command's connection to PostgreSQL.
    assert all(len(n["sockets"]) == 1 for n in seen), seen

    # The command's store is whole after its children ended: a second command reads it,
    # and a changed file is parsed again by a fork.
    (folder / "noted_0.py").write_text(noting_dag("noted_0", notes) + "# changed\n")
    again, listed_again = probe(tmp_path, env, "dags", "list", "-o", "plain")
    assert again["code"] == 0 and "noted_0" in listed_again
    assert notes_of(notes)[-1]["dag"] == "noted_0"
    assert notes_of(notes)[-1]["parent"] == again["pid"]


def test_reserialize_parses_every_file_in_forks_of_itself(tmp_path: Path) -> None:
    env = cli_env(tmp_path)
    folder, notes = Path(env["CONVEYOR_DAGS_FOLDER"]), tmp_path / "notes.jsonl"
    (folder / "noted.py").write_text(noting_dag("noted", notes))
    probe(tmp_path, env, "dags", "list")

    report, _ = probe(tmp_path, env, "dags", "reserialize")

    assert report["code"] == 0 and report["fork_server"] is None
    assert [n["parent"] for n in notes_of(notes)][-1] == report["pid"]


def test_the_children_of_a_command_killed_mid_parse_end_with_it(tmp_path: Path) -> None:
    env = cli_env(tmp_path, CONVEYOR_DAG_PARSE_PROCESSES="2")
    folder, notes = Path(env["CONVEYOR_DAGS_FOLDER"]), tmp_path / "notes.jsonl"
    for n in range(4):  # two children, each given a second file once the first is parsed
        (folder / f"slow_{n}.py").write_text(noting_dag(f"slow_{n}", notes, sleep=1.5))
    command = subprocess.Popen(
        [sys.executable, "-c", PROBE, str(tmp_path / "report.json"), "dags", "list"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    children: list[int] = []
    try:
        deadline = time.monotonic() + 60
        while not notes.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        children = descendants(command.pid)
        assert children, "the command started no parse child"
        command.kill()  # as the OOM killer or a `kill -9` would
        command.wait(timeout=10)

        # Each child finds its pipe closed when it hands its file's result over, and ends,
        # rather than waiting for a next file for ever.
        deadline = time.monotonic() + 20
        while any(alive(pid) for pid in children) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [pid for pid in children if alive(pid)]
    finally:
        command.kill()
        command.wait(timeout=10)
        for pid in children:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
