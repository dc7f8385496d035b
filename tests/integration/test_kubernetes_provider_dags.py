"""DAG files in Airflow's spelling that use the cncf.kubernetes provider's
``KubernetesPodOperator``, run to their end with ``conveyor run`` on a machine with no
cluster configured: the pods run with ``podman kube play`` (``container_engine.py`` makes the
image). Each test then reads what the pods left on a mounted folder, what they pushed, the
tries' logs, and which pods podman still has."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from container_engine import box_image, podman
from sql_servers import run_dag_file

# Pods start in a few seconds each; a DAG run in a process of its own on a busy machine.
pytestmark = [pytest.mark.timeout(300)]


POD_DAG = '''
"""Pods with the cncf.kubernetes provider's operator, new and old paths."""
from datetime import datetime

from airflow import DAG
from airflow.contrib.operators.kubernetes_pod_operator import (
    KubernetesPodOperator as KubernetesPodOperator110,
)
from airflow.kubernetes.secret import Secret
from airflow.operators.python import PythonOperator
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from kubernetes.client import models as k8s

IMAGE = "@IMAGE@"
DATA = "@DATA@"
MARK = "@MARK@"

data_volume = k8s.V1Volume(name="data", host_path=k8s.V1HostPathVolumeSource(path=DATA))
data_mount = k8s.V1VolumeMount(name="data", mount_path="/data")
# Declared as DAG files declare it; not attached (podman resolves secrets from its own store).
db_secret = Secret("env", "DB_PASSWORD", "db-secret", "password")


def check(ti):
    pushed = ti.xcom_pull(task_ids="produce")
    assert pushed == {"greeting": "hello k8s_dag", "read": "from-the-host", "n": [1, 2]}, pushed
    assert ti.xcom_pull(task_ids="old_path") is None  # do_xcom_push is off unless asked


with DAG("k8s_dag", start_date=datetime(2024, 1, 1), schedule=None) as dag:
    produce = KubernetesPodOperator(
        task_id="produce",
        name="producer",
        namespace="default",
        image=IMAGE,
        cmds=["sh", "-c"],
        arguments=[
            "echo \\"say $GREETING\\"; "
            "printf \\'{\\"greeting\\": \\"%s\\", \\"read\\": \\"%s\\", \\"n\\": [1, 2]}\\' "
            "\\"$GREETING\\" \\"$(cat /data/in.txt)\\" > /airflow/xcom/return.json"
        ],
        env_vars={"GREETING": "hello {{ dag.dag_id }}"},
        volumes=[data_volume],
        volume_mounts=[data_mount],
        labels={"conveyor_test": MARK},
        annotations={"note": "made by a test"},
        container_resources=k8s.V1ResourceRequirements(limits={"memory": "64Mi"}),
        do_xcom_push=True,
        get_logs=True,
    )
    old_path = KubernetesPodOperator110(
        task_id="old_path",
        name="old-path",
        namespace="default",
        image=IMAGE,
        cmds=["sh", "-c", "echo \\"$WHO on {{ ds }}\\" > /data/out.txt; echo written"],
        env_vars=[k8s.V1EnvVar(name="WHO", value="old path")],
        volumes=[data_volume],
        volume_mounts=[data_mount],
        labels={"conveyor_test": MARK, "kept": "yes"},
        is_delete_operator_pod=False,
    )
    [produce, old_path] >> PythonOperator(task_id="check", python_callable=check)

    # A full_pod_spec gives the image, a variable and the mounted folder; the operator's own
    # arguments (command, another variable, labels) are laid over it, as in Airflow.
    from_spec = KubernetesPodOperator(
        task_id="from_spec",
        full_pod_spec=k8s.V1Pod(
            metadata=k8s.V1ObjectMeta(annotations={"from": "spec"}),
            spec=k8s.V1PodSpec(
                containers=[
                    k8s.V1Container(
                        name="main",
                        image=IMAGE,
                        env=[k8s.V1EnvVar("FROM_SPEC", "spec")],
                        volume_mounts=[data_mount],
                    )
                ],
                volumes=[data_volume],
            ),
        ),
        cmds=["sh", "-c", "echo \\"$FROM_SPEC+$FROM_OP\\" > /data/spec.txt"],
        env_vars={"FROM_OP": "operator"},
        labels={"conveyor_test": MARK},
    )

    # Failures, in the same run: each fails (or skips) its own try only.
    boom = KubernetesPodOperator(
        task_id="boom",
        image=IMAGE,
        cmds=["sh", "-c", "for i in 1 2 3; do echo step-$i; done; echo broke-at-end >&2; exit 3"],
        labels={"conveyor_test": MARK},
        on_finish_action="delete_succeeded_pod",
    )
    skipped = KubernetesPodOperator(
        task_id="skipped",
        image=IMAGE,
        cmds=["sh", "-c", "exit 42"],
        skip_on_exit_code=42,
        labels={"conveyor_test": MARK},
        on_finish_action="delete_succeeded_pod",
    )
'''


def _try_logs(tmp_path: Path) -> dict[str, str]:
    return {
        str(p.relative_to(tmp_path)): p.read_text(errors="replace")
        for p in (tmp_path / "home").rglob("try-*.log")
    }


def _summary(output: str) -> list[str]:
    """The rows of ``conveyor run``'s closing table: task, state, try, duration."""
    rows = output.split(" task ")[-1].splitlines()[1:]
    return [row for row in rows if len(row.split()) >= 3 and "/" in row.split()[2]]


def _pods(mark: str) -> list[str]:
    listed = podman("pod", "ps", "--format", "{{.Name}}", "--filter", f"label=conveyor_test={mark}")
    return sorted(listed.stdout.split())


def _remove_pods(mark: str) -> None:
    for pod in _pods(mark):
        podman("pod", "rm", "--force", pod, check=False)


def test_a_pod_dag_runs_its_pods_on_podman(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "in.txt").write_text("from-the-host\n")
    mark = f"ok-{os.getpid()}"
    source = (
        POD_DAG.replace("@IMAGE@", box_image()).replace("@DATA@", str(data)).replace("@MARK@", mark)
    )
    try:
        # HOME without a kube config: no cluster is configured, so podman runs the pods.
        done = run_dag_file(tmp_path, "k8s_dag.py", source, {"HOME": str(tmp_path)})
        output = done.stdout + done.stderr
        states = {line.split()[0]: line.split()[1] for line in _summary(output)}
        assert states == {
            "produce": "success",
            "old_path": "success",
            "check": "success",
            "boom": "failed",
            "skipped": "skipped",
            "from_spec": "success",
        }, output
        assert (data / "spec.txt").read_text() == "spec+operator\n"
        # The env var rendered, the host's folder mounted, the pod's log in the try's log.
        assert (data / "out.txt").read_text().startswith("old path on 20")
        logs = _try_logs(tmp_path)
        produce = next(text for path, text in logs.items() if "/produce/" in path)
        assert "say hello k8s_dag" in produce, produce
        assert "podman kube play" in produce
        # A failure names the exit code and ends with the pod's log, stderr included.
        boom = next(text for path, text in logs.items() if "/boom/" in path)
        assert "returned a failure: container 'base' exited with code 3" in boom, boom
        assert "step-3" in boom and "broke-at-end" in boom
        # delete_pod (the default) removed the producer; is_delete_operator_pod=False kept
        # its pod; delete_succeeded_pod kept the failed pod and removed the skipped one.
        kept = _pods(mark)
        assert [pod.rsplit("-", 1)[0] for pod in kept] == ["boom", "old-path"], kept
        labels = podman("pod", "inspect", kept[1], "--format", "{{json .Labels}}").stdout
        assert '"dag_id":"k8s_dag"' in labels and '"task_id":"old_path"' in labels, labels
    finally:
        _remove_pods(mark)
