"""Conveyor's image, built once per session, and a cluster of its containers on the host's
PostgreSQL and Redis.

Containers run with podman on the host's network (``--network host``), so the store and the
broker are the test services on 127.0.0.1; each container's hostname is its name, so the
store says which container ran a try. Tasks of the counted DAG note the start and the end of
every try in a file on a mounted folder: "ran twice" and "lost" are measured from what ran.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from conveyor.states import RUN_FINISHED
from conveyor.store.engine import Store
from conveyor.store.tables import dag, dag_run, task_instance, task_try

ROOT = Path(__file__).resolve().parents[2]
#: The files the image is built from (deploy/Dockerfile.dockerignore lets in no others).
IMAGE_INPUTS = (
    "deploy/Dockerfile",
    "deploy/Dockerfile.dockerignore",
    "deploy/entrypoint.sh",
    "pyproject.toml",
    "hatch_build.py",
    "README.md",
    "src",
    "examples/dags",
    "scripts/image",
)
#: The Redis database of the container tests; no other tests use it.
BROKER = "redis://127.0.0.1:6379/14"
#: The user the image runs as: mounted folders are given to it.
IMAGE_UID = 10001
#: Where the counted DAG notes its tries, inside the containers.
COUNT_DIR = "/opt/conveyor/count"

#: Each counted DAG file starts with this: tries note their start and end.
COUNTING = '''
"""Tries that note their start and end, for the container tests (tests/deploy)."""
import os
import time
from datetime import datetime

from conveyor import DAG, task

COUNT_FILE = {count_file!r}
RETRIED = {{"retries": 2, "retry_delay": 1}}


def note(ti, what):
    line = f"{{ti.dag_id}} {{ti.run_id}} {{ti.task_id}} {{ti.try_number}} {{what}}\\n"
    fd = os.open(COUNT_FILE, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, line.encode())  # one write on O_APPEND: lines never mix
    finally:
        os.close(fd)


def work(ti, seconds):
    note(ti, "start")
    time.sleep(seconds)
    note(ti, "done")
'''

COUNTED_DAGS = """

with DAG("deploy_wide", max_active_tasks=64, default_args=RETRIED):
    @task
    def part(ti=None):
        work(ti, 3)

    [part.override(task_id=f"part_{{i:02d}}")() for i in range({width})]


with DAG("deploy_chain", default_args=RETRIED):
    previous = None
    for i in range({length}):
        @task(task_id=f"link_{{i:02d}}")
        def link(ti=None):
            work(ti, 0.5)

        current = link()
        if previous is not None:
            previous >> current
        previous = current


with DAG("deploy_graceful", default_args={{"queue": "graceful", "retries": 0}}):
    @task
    def short(ti=None):
        work(ti, {graceful_seconds})

    short()
"""


def podman_path() -> str:
    """The podman binary; skips the tests without it, but fails them when CI=true."""
    found = shutil.which("podman")
    if found is None:
        message = "podman is not installed: the container tests need it (scripts/services.sh)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


def podman(
    *args: str, timeout: float = 120, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run podman with runc, the runtime that works on these hosts (docs/deploy.md)."""
    result = subprocess.run(
        [podman_path(), "--runtime", "runc", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"podman {' '.join(args)} exited {result.returncode}\n{result.stdout}{result.stderr}"
        )
    return result


def inputs_digest() -> str:
    """A digest of every file the image is built from: the same digest, the same image."""
    digest = hashlib.sha256()
    for name in IMAGE_INPUTS:
        path = ROOT / name
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            if "__pycache__" in file.parts or file.suffix == ".pyc":
                continue
            digest.update(str(file.relative_to(ROOT)).encode() + b"\0")
            digest.update(file.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class Image:
    name: str
    built_seconds: float | None  # None: an image of the same inputs was reused
    size_bytes: int


def build_image() -> Image:
    """scripts/image, unless an image of the same inputs is there already. One build at a
    time on the machine: the test workers that need the image at once wait for the first
    one's build and reuse it, instead of building it side by side on the same cores."""
    podman_path()
    name = f"localhost/conveyor-test:{inputs_digest()}"
    built: float | None = None
    with open(Path(tempfile.gettempdir()) / "conveyor-test-image.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if podman("image", "exists", name, check=False).returncode != 0:
            started = time.monotonic()
            result = subprocess.run(
                ["bash", str(ROOT / "scripts" / "image"), "--tag", name],
                capture_output=True,
                text=True,
                timeout=1200,
            )
            assert result.returncode == 0, f"the image did not build:\n{result.stderr[-6000:]}"
            built = time.monotonic() - started
            _remove_other_test_images(name)
    size = int(podman("image", "inspect", "--format", "{{.Size}}", name).stdout.strip())
    return Image(name, built, size)


def _remove_other_test_images(keep: str) -> None:
    """Images of earlier inputs: each is a few hundred MB that nothing will use again."""
    listed = podman("images", "--format", "{{.Repository}}:{{.Tag}}", "localhost/conveyor-test")
    for name in listed.stdout.split():
        if name != keep:
            podman("rmi", "--force", name, check=False)


def remove_leftover_containers() -> None:
    """Containers of a test session that died without removing them (its process is gone):
    left running, their workers would take tries from this session's broker database."""
    listed = podman("ps", "--all", "--format", "{{.Names}}", "--filter", "name=^conveyor-test-")
    for name in listed.stdout.split():
        pid = name.split("-")[2]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            podman("rm", "--force", "--time", "0", name, check=False, timeout=60)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Cluster:
    """Containers of one image sharing a store, a broker, a DAG folder and a home."""

    image: str
    prefix: str
    env: dict[str, str]
    store: Store
    tmp: Path
    web_port: int
    base_url: str
    containers: list[str] = field(default_factory=list)

    @property
    def count_file(self) -> Path:
        return self.tmp / "count" / "executions.txt"

    def name(self, role: str) -> str:
        return f"{self.prefix}-{role}"

    def volumes(self) -> list[str]:
        """The DAG folder, the shared home and the count folder, as every container has them."""
        return [
            "-v",
            f"{self.tmp / 'dags'}:/opt/conveyor/dags:ro",
            "-v",
            f"{self.tmp / 'home'}:/var/lib/conveyor",
            "-v",
            f"{self.tmp / 'count'}:{COUNT_DIR}",
        ]

    def run(self, role: str, *command: str, detach: bool = True, timeout: float = 180) -> str:
        """Start a container named after ``role`` running ``command`` (the image's roles)."""
        name = self.name(role)
        env_args = [arg for key, value in self.env.items() for arg in ("-e", f"{key}={value}")]
        args = [
            "run",
            *(["-d"] if detach else ["--rm"]),
            "--name",
            name,
            "--hostname",
            name,
            "--network",
            "host",
            "--init",  # as compose's `init: true`: a small PID 1 reaps the tries' processes
            *env_args,
            *self.volumes(),
            self.image,
            *command,
        ]
        if detach:
            self.containers.append(name)
        result = podman(*args, timeout=timeout)
        return result.stdout

    def exec(
        self, role: str, *command: str, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        return podman("exec", self.name(role), *command, timeout=timeout, check=False)

    def conveyor(self, *args: str) -> str:
        """A conveyor command in a throw-away container of the image."""
        result = podman(
            "run",
            "--rm",
            "--network",
            "host",
            *[arg for key, value in self.env.items() for arg in ("-e", f"{key}={value}")],
            *self.volumes(),  # the same DAG folder: `dags trigger` syncs it to the store
            self.image,
            *args,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    def running(self, role: str) -> bool:
        result = podman("inspect", "--format", "{{.State.Running}}", self.name(role), check=False)
        return result.stdout.strip() == "true"

    def logs(self, role: str, lines: int = 40) -> str:
        result = podman("logs", "--tail", str(lines), self.name(role), check=False)
        return result.stdout + result.stderr

    def log_tail(self, lines: int = 25) -> str:
        return "\n".join(
            f"--- {name}\n{self.logs(name[len(self.prefix) + 1 :], lines)}"
            for name in self.containers
        )

    def remove_all(self) -> None:
        for name in reversed(self.containers):
            podman("rm", "--force", "--time", "0", name, check=False, timeout=60)
        self.containers.clear()

    def http_get(self, path: str) -> tuple[int, str]:
        url = f"http://127.0.0.1:{self.web_port}{path}"
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def wait_for(self, condition: Callable[[], bool], limit: float, what: str) -> float:
        started = time.monotonic()
        while time.monotonic() - started < limit:
            with suppress(Exception):
                if condition():
                    return time.monotonic() - started
            time.sleep(0.5)
        raise AssertionError(f"{what} not reached within {limit:g}s\n{self.log_tail()}")

    def healthy(self, role: str) -> bool:
        """The image's HEALTHCHECK, run now by the engine."""
        return podman("healthcheck", "run", self.name(role), check=False).returncode == 0

    # -- the store --------------------------------------------------------------------------

    def dags_parsed(self, dag_ids: set[str]) -> bool:
        with self.store.read() as conn:
            active = conn.execute(select(dag.c.dag_id).where(dag.c.is_active.is_(True)))
            return dag_ids <= set(active.scalars())

    def run_states(self, dag_ids: set[str] | None = None) -> dict[tuple[str, str], str]:
        query = select(dag_run.c.dag_id, dag_run.c.run_id, dag_run.c.state)
        if dag_ids is not None:
            query = query.where(dag_run.c.dag_id.in_(dag_ids))
        with self.store.read() as conn:
            return {(r.dag_id, r.run_id): r.state for r in conn.execute(query)}

    def runs_finished(self, dag_ids: set[str], count: int) -> Callable[[], bool]:
        def check() -> bool:
            states = self.run_states(dag_ids)
            return len(states) >= count and all(s in RUN_FINISHED for s in states.values())

        return check

    def tries_running_on(self, role: str) -> int:
        with self.store.read() as conn:
            return len(
                conn.execute(
                    select(task_try.c.id).where(
                        task_try.c.hostname == self.name(role), task_try.c.end_date.is_(None)
                    )
                ).all()
            )

    def tally(self, dag_ids: set[str]) -> Tally:
        """What ran (the count file) against what the store says ran."""
        lines = self.count_file.read_text().split("\n") if self.count_file.exists() else []
        notes = Counter(
            tuple(line.split()) for line in lines if line.strip() and line.split()[0] in dag_ids
        )
        with self.store.read() as conn:
            tis = conn.execute(
                select(
                    task_instance.c.dag_id,
                    task_instance.c.run_id,
                    task_instance.c.task_id,
                    task_instance.c.state,
                    task_instance.c.try_number,
                ).where(task_instance.c.dag_id.in_(dag_ids))
            ).all()
        return Tally(
            task_instances=len(tis),
            not_succeeded=sorted(
                (t.dag_id, t.run_id, t.task_id, t.state) for t in tis if t.state != "success"
            ),
            tries_started_twice=sorted(key for key, n in notes.items() if n > 1),
            succeeded_without_a_finished_try=sorted(
                (t.dag_id, t.run_id, t.task_id)
                for t in tis
                if (t.dag_id, t.run_id, t.task_id, str(t.try_number), "done") not in notes
            ),
            tries_started=sum(n for key, n in notes.items() if key[-1] == "start"),
            retried=sorted({key[:3] for key in notes if key[3] != "1"}),
        )


@dataclass(frozen=True)
class Tally:
    task_instances: int
    not_succeeded: list[tuple[str, ...]]
    tries_started_twice: list[tuple[str, ...]]
    succeeded_without_a_finished_try: list[tuple[str, ...]]
    tries_started: int
    retried: list[tuple[str, ...]]


def write_dags(folder: Path, *, width: int, length: int, graceful_seconds: float) -> None:
    """The examples and the counted DAGs, in a folder the containers mount."""
    shutil.copytree(
        ROOT / "examples" / "dags", folder, ignore=shutil.ignore_patterns("__pycache__")
    )
    counting = COUNTING.format(count_file=f"{COUNT_DIR}/executions.txt")
    counted = COUNTED_DAGS.format(width=width, length=length, graceful_seconds=graceful_seconds)
    (folder / "deploy_counted.py").write_text(counting + counted)


#: An hourly DAG catching up on its missed hours: runs that only schedulers create and start.
TICKS_DAG = """
with DAG(
    "deploy_ticks",
    schedule="@hourly",
    start_date=datetime.fromisoformat({start!r}),
    catchup=True,
    max_active_runs=2,
    default_args=RETRIED,
):
    @task
    def tick(ti=None):
        work(ti, 0.5)

    tick()
"""


def write_ticks_dag(folder: Path, hours: int) -> None:
    """deploy_ticks, from ``hours`` whole hours ago: the schedulers start on it at once."""
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    start = (now - timedelta(hours=hours)).isoformat()
    counting = COUNTING.format(count_file=f"{COUNT_DIR}/executions.txt")
    (folder / "deploy_ticks.py").write_text(counting + TICKS_DAG.format(start=start))


def give_to_image_user(*folders: Path) -> None:
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
        os.chown(folder, IMAGE_UID, IMAGE_UID)


if __name__ == "__main__":
    # scripts/test builds the image this way while the linters run, before pytest starts; the
    # tests' own build_image() then waits on the same lock and reuses it.
    print(f"==> the container tests' image: {build_image()}")
