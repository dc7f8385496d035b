"""The Kubernetes executor with real pods and no cluster: ``podman kube play`` runs each try's
pod (the same YAML the cluster would get) from Conveyor's image, and a scheduler runs here
with ``executor = kubernetes`` and ``kubernetes_pod_launcher = podman``.

The pod template puts the pods on the host's network (the store is the test PostgreSQL on
127.0.0.1) and mounts the scheduler's log folder, so the tries' logs are read as a shared
log volume would give them. Each test reads what the pods did from the store (XComs, tries,
their errors) and from podman (which pods are left).
"""

from __future__ import annotations

import json
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from containers import Image, build_image, podman
from sqlalchemy import select

from conftest import describe_runs, make_settings
from conveyor.config import Settings
from conveyor.engine import manual
from conveyor.executors.kubernetes.executor import KubernetesExecutor
from conveyor.executors.kubernetes.launchers import PodmanLauncher
from conveyor.lifecycle import Actor
from conveyor.loading.builder import processor_for
from conveyor.scheduler.loop import Scheduler
from conveyor.states import RUN_FINISHED, TaskState
from conveyor.store import runs
from conveyor.store.engine import Store
from conveyor.store.tables import dag, dag_run, task_instance, task_try, xcom

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(600)]

MARK_LABEL = "conveyor_test_pods"

TEMPLATE = """
apiVersion: v1
kind: Pod
metadata:
  labels:
    {mark_label}: "{mark}"
spec:
  hostNetwork: true
  restartPolicy: Never
  containers:
    - name: base
      volumeMounts:
        - name: logs
          mountPath: /var/lib/conveyor/logs
  volumes:
    - name: logs
      hostPath:
        path: {logs}
"""

DAGS = '''
"""Tries as pods, shaped by executor_config and resources (Airflow's spelling)."""
import os
import socket
import time
from datetime import datetime
from pathlib import Path

from airflow import DAG
from airflow.operators.python import PythonOperator
from kubernetes.client import models as k8s

DATA = {data!r}
OTHER_IMAGE = {other_image!r}


def memory_limit():
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        if Path(path).exists():
            return Path(path).read_text().strip()
    return None


def inside():
    print("inside pod", socket.gethostname())
    return {{
        "hostname": socket.gethostname(),
        "env": os.environ.get("FROM_OVERRIDE"),
        "flavour": os.environ.get("IMAGE_FLAVOUR"),
        "data": Path("/data/in.txt").read_text() if Path("/data/in.txt").exists() else None,
        "memory": memory_limit(),
    }}


with DAG("k8s_shapes", schedule=None, start_date=datetime(2024, 1, 1)):
    PythonOperator(task_id="plain", python_callable=inside)
    PythonOperator(
        task_id="overridden",
        python_callable=inside,
        resources={{"ram": 256}},
        executor_config={{
            "pod_override": k8s.V1Pod(
                spec=k8s.V1PodSpec(
                    containers=[
                        k8s.V1Container(
                            name="base",
                            env=[k8s.V1EnvVar(name="FROM_OVERRIDE", value="yes")],
                            volume_mounts=[k8s.V1VolumeMount(name="data", mount_path="/data")],
                        )
                    ],
                    volumes=[
                        k8s.V1Volume(
                            name="data", host_path=k8s.V1HostPathVolumeSource(path=DATA)
                        )
                    ],
                )
            )
        }},
    )
    PythonOperator(
        task_id="other_image",
        python_callable=inside,
        executor_config={{
            "pod_override": k8s.V1Pod(
                spec=k8s.V1PodSpec(containers=[k8s.V1Container(name="base", image=OTHER_IMAGE)])
            )
        }},
    )


with DAG("k8s_bad_image", schedule=None, start_date=datetime(2024, 1, 1)):
    PythonOperator(
        task_id="never_starts",
        python_callable=inside,
        executor_config={{
            "pod_override": k8s.V1Pod(
                spec=k8s.V1PodSpec(
                    containers=[
                        k8s.V1Container(name="base", image="localhost/conveyor-no-such-image:0")
                    ]
                )
            )
        }},
    )


with DAG("k8s_long", schedule=None, start_date=datetime(2024, 1, 1)):
    PythonOperator(task_id="slow", python_callable=lambda: time.sleep(8) or "slept")
    PythonOperator(task_id="endless", python_callable=lambda: time.sleep(600))
    PythonOperator(
        task_id="killed",
        python_callable=lambda ti: time.sleep(600) if ti.try_number == 1 else "second try",
        retries=1,
        retry_delay=0,
    )
'''


@pytest.fixture(scope="session")
def image() -> Image:
    """Conveyor's image, as test_containers.py builds it (the same inputs: reused)."""
    return build_image()


@pytest.fixture(scope="module")
def other_image(image: Image, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The image with one variable more: "another image" a pod_override can name."""
    name = image.name.replace("conveyor-test:", "conveyor-test-other:")
    if podman("image", "exists", name, check=False).returncode != 0:
        folder = tmp_path_factory.mktemp("other-image")
        (folder / "Containerfile").write_text(f"FROM {image.name}\nENV IMAGE_FLAVOUR=other\n")
        podman("build", "-t", name, str(folder), timeout=300)
        # Those of earlier inputs: each would keep its own base image from being removed.
        listed = podman("images", "--format", "{{.Repository}}:{{.Tag}}", name.split(":")[0])
        for older in set(listed.stdout.split()) - {name}:
            podman("rmi", "--force", older, check=False)
    return name


@pytest.fixture
def pods_env(
    tmp_path: Path, pg_database_url: str, image: Image, other_image: str
) -> Iterator[tuple[Settings, Store]]:
    """Settings of a Kubernetes executor on podman, the DAG folder, and its store; the pods
    of the test are removed at its end."""
    mark = tmp_path.name[-40:].strip("-_.").lower() or "t"
    logs, data, dags = tmp_path / "logs", tmp_path / "data", tmp_path / "dags"
    for folder in (logs, data, dags):
        folder.mkdir()
    logs.chmod(0o777)  # the image's user writes the tries' logs there
    (data / "in.txt").write_text("from-the-host")
    (dags / "pods.py").write_text(DAGS.format(data=str(data), other_image=other_image))
    template = tmp_path / "pod.yaml"
    template.write_text(
        textwrap.dedent(TEMPLATE).format(mark_label=MARK_LABEL, mark=mark, logs=logs)
    )
    repository, _, tag = image.name.rpartition(":")
    settings = make_settings(
        tmp_path,
        dags,
        pg_database_url,
        executor="kubernetes",
        log_folder=logs,
        kubernetes_pod_launcher="podman",
        kubernetes_pod_template_file=template,
        kubernetes_worker_container_repository=repository,
        kubernetes_worker_container_tag=tag,
        kubernetes_worker_pods_creation_batch_size=4,
        kill_grace_seconds=2,
        dags_are_paused_at_creation=False,
    )
    store = Store(pg_database_url)
    try:
        yield settings, store
    finally:
        store.dispose()
        for name in _pods(f"{MARK_LABEL}={mark}"):
            podman("pod", "rm", "--force", "--time", "0", name, check=False)


def _pods(selector: str) -> list[str]:
    listed = podman("pod", "ps", "--filter", f"label={selector}", "--format", "json")
    return [pod["Name"] for pod in json.loads(listed.stdout or "[]")]


def _scheduler(settings: Settings, store: Store) -> Scheduler:
    executor = KubernetesExecutor(settings, store, PodmanLauncher())
    return Scheduler(settings, store, executor, processor_for(settings, store))


def _run(
    settings: Settings, store: Store, until: Callable[[], bool], limit: float, what: str
) -> None:
    deadline = time.monotonic() + limit
    _scheduler(settings, store).run(until=lambda: until() or time.monotonic() > deadline)
    assert until(), f"{what} not reached in {limit:g}s:\n{describe_runs(store)}"


def _trigger(settings: Settings, store: Store, dag_id: str) -> int:
    """Parse the folder (a scheduler loop until the DAG is known), then start a run."""

    def known() -> bool:
        with store.read() as conn:
            return (
                conn.execute(select(dag.c.dag_id).where(dag.c.dag_id == dag_id)).first() is not None
            )

    _run(settings, store, known, 60, f"DAG {dag_id} parsed")
    with store.write() as conn:
        run_pk = runs.create_manual_run(conn, dag_id, created_by="test")
    assert run_pk is not None
    return run_pk


def _finished(store: Store, run_pk: int) -> Callable[[], bool]:
    def check() -> bool:
        with store.read() as conn:
            state = conn.execute(select(dag_run.c.state).where(dag_run.c.id == run_pk)).scalar()
        return state in RUN_FINISHED

    return check


def _tries(store: Store, run_pk: int) -> dict[str, list[tuple[int, str | None, str | None]]]:
    """Per task: (try number, hostname, error) of each try."""
    with store.read() as conn:
        rows = conn.execute(
            select(task_instance.c.task_id, task_try.c.try_number, task_try.c.hostname,
                   task_try.c.error)
            .join(task_try, task_try.c.ti_id == task_instance.c.id)
            .where(task_instance.c.run_pk == run_pk)
            .order_by(task_try.c.try_number)
        )  # fmt: skip
        found: dict[str, list[tuple[int, str | None, str | None]]] = {}
        for row in rows:
            found.setdefault(row.task_id, []).append((row.try_number, row.hostname, row.error))
    return found


def _states(store: Store, run_pk: int) -> dict[str, str]:
    with store.read() as conn:
        rows = conn.execute(
            select(task_instance.c.task_id, task_instance.c.state).where(
                task_instance.c.run_pk == run_pk
            )
        )
        return {row.task_id: row.state for row in rows}


def test_pod_overrides_and_resources_are_seen_from_inside_each_pod(
    pods_env: tuple[Settings, Store],
) -> None:
    settings, store = pods_env
    run_pk = _trigger(settings, store, "k8s_shapes")
    _run(settings, store, _finished(store, run_pk), 240, "the run's end")
    assert set(_states(store, run_pk).values()) == {TaskState.SUCCESS.value}, _tries(store, run_pk)
    with store.read() as conn:
        rows = conn.execute(
            select(xcom.c.task_id, xcom.c.value).where(
                xcom.c.run_pk == run_pk, xcom.c.key == "return_value"
            )
        )
        seen = {row.task_id: row.value for row in rows}
    tries = _tries(store, run_pk)
    for task_id in ("plain", "overridden", "other_image"):
        # Each ran once, in a pod of its own, named after the DAG and the task.
        [(number, hostname, _)] = tries[task_id]
        assert number == 1
        assert hostname == seen[task_id]["hostname"]
        assert hostname.startswith(f"k8s-shapes-{task_id.replace('_', '-')}-"), hostname
    assert seen["plain"]["env"] is None and seen["plain"]["data"] is None
    assert seen["plain"]["flavour"] is None
    assert seen["overridden"]["env"] == "yes"
    assert seen["overridden"]["data"] == "from-the-host"
    assert seen["overridden"]["memory"] == str(256 * 1024 * 1024)  # resources={"ram": 256}
    assert seen["other_image"]["flavour"] == "other"
    # The log the pod wrote is the scheduler's to read (the shared log folder).
    [log] = settings.logs_path.glob("k8s_shapes/*/overridden/try-1.log")
    assert f"inside pod {seen['overridden']['hostname']}" in log.read_text()
    # Succeeded pods are deleted (delete_worker_pods): the run may end before the scheduler
    # saw its last pods end; the next one (adopting them) deletes them then.
    _run(settings, store, lambda: _pods("dag_id=k8s_shapes") == [], 60, "the pods deleted")


def test_a_pod_that_cannot_start_fails_its_try_with_the_reason(
    pods_env: tuple[Settings, Store],
) -> None:
    settings, store = pods_env
    run_pk = _trigger(settings, store, "k8s_bad_image")
    _run(settings, store, _finished(store, run_pk), 120, "the run's end")
    assert _states(store, run_pk) == {"never_starts": TaskState.FAILED.value}
    # `conveyor tasks why` says why, with podman's words for the image it could not pull.
    from click.testing import CliRunner

    from conveyor.cli.common import settings as cli_settings
    from conveyor.cli.main import cli

    with store.read() as conn:
        run_id = runs.get_run(conn, run_pk).run_id
    cli_settings.cache_clear()
    environ = {"CONVEYOR_HOME": str(settings.home), "CONVEYOR_DATABASE_URL": store.url}
    try:
        why = CliRunner().invoke(
            cli, ["tasks", "why", "k8s_bad_image", run_id, "never_starts"], env=environ
        )
    finally:
        cli_settings.cache_clear()
    said = " ".join(why.output.split())  # the table wraps long lines
    assert why.exit_code == 0, why.output
    assert "pod could not start" in said and "conveyor-no-such-image" in said, why.output


def test_a_new_scheduler_adopts_running_pods_and_a_stopped_try_loses_its_pod(
    pods_env: tuple[Settings, Store],
) -> None:
    settings, store = pods_env
    run_pk = _trigger(settings, store, "k8s_long")

    def both_running() -> bool:
        return set(_states(store, run_pk).values()) == {TaskState.RUNNING.value}

    _run(settings, store, both_running, 120, "the tries running")  # then this one stops
    [endless_pod] = _pods("task_id=endless")
    # While no scheduler runs, a pod is killed (as a node that went away would).
    [killed_pod] = _pods("task_id=killed")
    podman("pod", "kill", killed_pod)
    with store.write() as conn:
        run_id = runs.get_run(conn, run_pk).run_id
        marked = manual.mark(
            conn, "k8s_long", run_id, "endless", TaskState.FAILED, Actor("user:test")
        )
    assert marked.stopped == ["endless"]

    # A second scheduler: it adopts both pods, deletes the stopped try's, and sees the
    # other through to its end; neither try runs twice.
    _run(settings, store, _finished(store, run_pk), 120, "the run's end")
    assert _states(store, run_pk) == {
        "slow": TaskState.SUCCESS.value,
        "endless": TaskState.FAILED.value,
        "killed": TaskState.SUCCESS.value,
    }
    tries = _tries(store, run_pk)
    assert [number for number, _, _ in tries["slow"]] == [1]
    assert [number for number, _, _ in tries["endless"]] == [1]
    # The killed pod failed its try with the pod's reason; the retry ran in a new pod.
    (first, _, error), (second, _, _) = tries["killed"]
    assert (first, second) == (1, 2)
    assert error is not None and f"pod {killed_pod} failed" in error, error

    def pod_gone() -> bool:
        return endless_pod not in _pods("task_id=endless")

    _run(settings, store, pod_gone, 60, "the stopped try's pod gone")
    # Deleting the pod sent its process SIGTERM, which called the task's on_kill.
    [log] = settings.logs_path.glob("k8s_long/*/endless/try-1.log")
    assert "calling the task's on_kill()" in log.read_text(), log.read_text()[-2000:]
