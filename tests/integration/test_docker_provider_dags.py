"""DAG files in Airflow's spelling that use the docker provider, run to their end with
``conveyor run`` against podman's Docker-compatible API (``container_engine.py`` starts
``podman system service`` on a socket of this test's own). Each test then reads what the
containers left on a mounted folder, what the tasks pushed, and the tries' logs."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from container_engine import DockerService, box_image, docker_service, podman
from sql_servers import run_dag_file

# Containers start in a second or two each; a DAG run in a process of its own on a busy machine.
pytestmark = [pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DockerService]:
    box_image()
    yield from docker_service(tmp_path_factory.mktemp("podman"))


DOCKER_DAG = '''
"""Containers with the docker provider's operator, new and 1.10 paths."""
import os
import time
from datetime import datetime
from pathlib import Path

from airflow import DAG
from airflow.operators.docker_operator import DockerOperator as DockerOperator110
from airflow.operators.python import PythonOperator
from airflow.providers.docker.operators.docker import DockerOperator
from docker.types import Mount

IMAGE = "@IMAGE@"
OUT = "@OUT@"
NAME = "@NAME@"


def check(ti):
    assert ti.xcom_pull(task_ids="greet") == "two", ti.xcom_pull(task_ids="greet")
    assert ti.xcom_pull(task_ids="all_lines") == ["a", "b c", "tmp=/tmp/airflow"]
    assert ti.xcom_pull(task_ids="quiet") is None


def let_go():
    """Wait for the streamed task's first line in its try's log, then let it finish: the line
    is there only if the output reaches the log while the container still runs."""
    home = Path(os.environ["CONVEYOR_HOME"])
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        for log in home.rglob("try-*.log"):
            if "waiting-for-go" in log.read_text(errors="replace"):
                Path(OUT, "go").touch()
                return
        time.sleep(0.1)
    raise AssertionError("the streamed task's first line never reached its log")


with DAG("docker_dag", start_date=datetime(2024, 1, 1), schedule=None) as dag:
    greet = DockerOperator(
        task_id="greet",
        image=IMAGE,
        container_name=NAME + "-greet",
        command="sh -c 'echo \\"$GREETING\\" > /out/greeting.txt; echo one; echo two'",
        environment={"GREETING": "hello {{ dag.dag_id }} {{ params.who }}"},
        params={"who": "there", "out": OUT},
        mounts=[Mount(source="{{ params.out }}", target="/out", type="bind")],
        auto_remove="success",
    )
    all_lines = DockerOperator110(
        task_id="all_lines",
        image=IMAGE,
        container_name=NAME + "-all",
        command=["sh", "-c", "echo a; echo 'b c'; echo tmp=$AIRFLOW_TMP_DIR"],
        xcom_all=True,
        auto_remove="never",
    )
    quiet = DockerOperator(
        task_id="quiet",
        image=IMAGE,
        command="echo not-pushed",
        do_xcom_push=False,
        mount_tmp_dir=False,
        auto_remove="force",
    )
    streamed = DockerOperator(
        task_id="streamed",
        image=IMAGE,
        command=["sh", "-c",
                 "echo waiting-for-go; i=0; while [ ! -e /out/go ]; do sleep 0.1; "
                 "i=$((i+1)); [ $i -gt 1500 ] && exit 9; done; echo got-go"],
        mounts=[{"source": OUT, "target": "/out", "type": "bind"}],
        auto_remove="force",
    )
    go = PythonOperator(task_id="let_go", python_callable=let_go)
    [greet, all_lines, quiet] >> PythonOperator(task_id="check", python_callable=check)

    # Failures, in the same run: each fails (or skips) its own try only.
    boom = DockerOperator(
        task_id="boom",
        image=IMAGE,
        docker_url="@URL@",
        container_name=NAME + "-boom",
        command="sh -c 'for i in 1 2 3 4 5; do echo line-$i; done; echo boom-at-end >&2; exit 3'",
        auto_remove="success",
    )
    skipped = DockerOperator(
        task_id="skipped", image=IMAGE, command="sh -c 'exit 42'", skip_on_exit_code=42,
        auto_remove="force",
    )
    no_image = DockerOperator(
        task_id="no_image", image="localhost/conveyor-no-such-image:1", command="true",
    )
'''


def _try_logs(tmp_path: Path) -> dict[str, str]:
    return {
        str(p.relative_to(tmp_path)): p.read_text(errors="replace")
        for p in (tmp_path / "home").rglob("try-*.log")
    }


def _containers(prefix: str) -> list[str]:
    listed = podman("ps", "--all", "--format", "{{.Names}}", "--filter", f"name=^{prefix}")
    return sorted(listed.stdout.split())


def test_a_docker_dag_runs_its_containers(tmp_path: Path, engine: DockerService) -> None:
    out = tmp_path / "out"
    out.mkdir()
    name = f"conveyor-test-docker-{os.getpid()}"
    source = (
        DOCKER_DAG.replace("@IMAGE@", box_image())
        .replace("@OUT@", str(out))
        .replace("@NAME@", name)
        .replace("@URL@", engine.url)
    )
    try:
        done = run_dag_file(tmp_path, "docker_dag.py", source, {"DOCKER_HOST": engine.url})
        output = done.stdout + done.stderr
        states = {line.split()[0]: line.split()[1] for line in _summary(output)}
        assert states == {
            "greet": "success",
            "all_lines": "success",
            "quiet": "success",
            "streamed": "success",
            "let_go": "success",
            "check": "success",
            "boom": "failed",
            "skipped": "skipped",
            "no_image": "failed",
        }, output + engine.logs()[-3000:]
        # The environment was rendered, and the mount is the host's folder.
        assert (out / "greeting.txt").read_text() == "hello docker_dag there\n"
        logs = _try_logs(tmp_path)
        greet_log = next(text for path, text in logs.items() if "/greet/" in path)
        assert "one" in greet_log and "two" in greet_log
        assert any("got-go" in text for text in logs.values())
        # A failure names the exit code and ends with the output, stderr included.
        boom = next(text for path, text in logs.items() if "/boom/" in path)
        assert "Docker container failed: exit code 3" in boom, boom
        assert "line-5" in boom and "boom-at-end" in boom
        missing = next(text for path, text in logs.items() if "/no_image/" in path)
        assert "localhost/conveyor-no-such-image:1" in missing, missing
        # auto_remove: "success" and "force" removed theirs, "never" kept its container, and
        # "success" kept the one that failed, for a look inside.
        assert _containers(name) == sorted([f"{name}-all", f"{name}-boom"])
    finally:
        for left in _containers(name):
            podman("rm", "--force", left, check=False)


def _summary(output: str) -> list[str]:
    """The rows of ``conveyor run``'s closing table: task, state, try, duration."""
    rows = output.split(" task ")[-1].splitlines()[1:]
    return [row for row in rows if len(row.split()) >= 3 and "/" in row.split()[2]]
