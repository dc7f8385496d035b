"""The Kubernetes executor's pods, without a cluster: how a try's pod is layered (template,
resources, pod_override, the executor's own fields), how a task's executor_config travels in
the serialized DAG, and the cluster launcher's calls through the official client, recorded
at its HTTP transport (the client's own serialization and URLs, a fake API server's answers).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from kubernetes.client import ApiClient, CoreV1Api
from kubernetes.client import models as k8s

from conveyor.config import Settings, load_config
from conveyor.engine.progress import QueuedTry
from conveyor.executors.kubernetes.launchers import FAILED, RUNNING, ClusterLauncher
from conveyor.executors.kubernetes.pod_spec import (
    TaskPodSettings,
    build_pod,
    pod_override,
    pod_to_dict,
)
from metric_receivers import record_metrics

WORK = QueuedTry(
    41, 2, "default", 7, "etl", "manual__2024-01-01T00:00:00+00:00", "load.rows", None, 3
)

TEMPLATE = """
apiVersion: v1
kind: Pod
metadata:
  labels: {team: data}
  annotations: {from: template}
spec:
  serviceAccountName: conveyor-worker
  restartPolicy: Never
  containers:
    - name: base
      env: [{name: FROM_TEMPLATE, value: t}]
      volumeMounts: [{name: logs, mountPath: /var/lib/conveyor/logs}]
  volumes: [{name: logs, persistentVolumeClaim: {claimName: conveyor-logs}}]
"""


def _settings(tmp_path: Path, **overrides: Any) -> Settings:
    return load_config(
        {},
        home=tmp_path,
        database_url="postgresql://conveyor@db/conveyor",
        kubernetes_worker_container_repository="registry.example/conveyor",
        kubernetes_worker_container_tag="3.1",
        **overrides,
    ).settings


def _override() -> dict[str, Any]:
    """A pod_override as the serialized DAG carries it (the API's JSON)."""
    pod = k8s.V1Pod(
        metadata=k8s.V1ObjectMeta(labels={"team": "finance", "cost": "low"}),
        spec=k8s.V1PodSpec(
            containers=[
                k8s.V1Container(
                    name="base",
                    image="registry.example/heavy:2",
                    env=[k8s.V1EnvVar(name="FROM_OVERRIDE", value="o")],
                    resources=k8s.V1ResourceRequirements(limits={"memory": "2Gi"}),
                ),
                k8s.V1Container(name="sidecar", image="busybox"),
            ],
            node_selector={"pool": "big"},
            volumes=[k8s.V1Volume(name="scratch", empty_dir=k8s.V1EmptyDirVolumeSource())],
        ),
    )
    return {"pod_override": ApiClient().sanitize_for_serialization(pod)}


def test_a_try_pod_lays_the_override_over_the_template_and_the_executor_over_both(
    tmp_path: Path,
) -> None:
    template = tmp_path / "pod.yaml"
    template.write_text(TEMPLATE)
    settings = _settings(tmp_path, kubernetes_pod_template_file=template)
    pod = build_pod(settings, WORK, TaskPodSettings(_override(), {"cpus": 2, "ram": 512}))
    body = pod_to_dict(pod)
    base, sidecar = body["spec"]["containers"]
    # The override's image wins over the configured one; the executor's arguments run the try.
    assert base["image"] == "registry.example/heavy:2"
    run_folder = "manual__2024-01-01T00%3A00%3A00%2B00%3A00"  # the run id as a folder name
    assert base["args"] == [
        "conveyor", "tasks", "run-try", "41", "2",
        "--log-name", f"etl/{run_folder}/load.rows/map_index=3/try-2.log",
    ]  # fmt: skip
    # Lists add up (template first), the store's URL joins them.
    assert [e["name"] for e in base["env"]] == [
        "FROM_TEMPLATE",
        "FROM_OVERRIDE",
        "CONVEYOR_DATABASE_URL",
    ]
    assert base["env"][2]["value"] == "postgresql://conveyor@db/conveyor"
    assert base["volumeMounts"] == [{"mountPath": "/var/lib/conveyor/logs", "name": "logs"}]
    assert [v["name"] for v in body["spec"]["volumes"]] == ["logs", "scratch"]
    # The override's resources replace those `resources` gave (a field it sets wins whole).
    assert base["resources"] == {"limits": {"memory": "2Gi"}}
    assert sidecar == {"image": "busybox", "name": "sidecar"}
    # What the template alone sets stays; what the override sets is added.
    assert body["spec"]["serviceAccountName"] == "conveyor-worker"
    assert body["spec"]["nodeSelector"] == {"pool": "big"}
    assert body["spec"]["restartPolicy"] == "Never"
    labels = body["metadata"]["labels"]
    assert labels["team"] == "finance" and labels["cost"] == "low"
    assert {k: labels[k] for k in ("kubernetes_executor", "conveyor_ti_id", "try_number")} == {
        "kubernetes_executor": "True",
        "conveyor_ti_id": "41",
        "try_number": "2",
    }
    assert labels["run_id"] != WORK.run_id  # made label-safe (":" is not allowed)
    assert body["metadata"]["annotations"]["run_id"] == WORK.run_id  # the exact value
    assert body["metadata"]["annotations"]["from"] == "template"
    assert body["metadata"]["name"].startswith("etl-load.rows-")
    assert body["metadata"]["namespace"] == "default"


def test_resources_alone_become_requests_and_limits_of_the_configured_image(
    tmp_path: Path,
) -> None:
    settings = _settings(tmp_path, kubernetes_namespace="tries")
    resources = {"cpus": {"qty": 0.5}, "ram": {"qty": 256}, "gpus": {"qty": 1}}
    body = pod_to_dict(build_pod(settings, WORK, TaskPodSettings(None, resources)))
    [base] = body["spec"]["containers"]
    assert base["image"] == "registry.example/conveyor:3.1"
    wanted = {"cpu": "0.5", "memory": "256Mi", "nvidia.com/gpu": "1"}
    assert base["resources"] == {"limits": wanted, "requests": wanted}
    assert body["metadata"]["namespace"] == "tries"


def test_a_store_url_the_template_gives_is_not_overwritten(tmp_path: Path) -> None:
    template = tmp_path / "pod.yaml"
    template.write_text(
        "spec:\n  containers:\n    - name: base\n      env:\n"
        "        - name: CONVEYOR_DATABASE_URL\n"
        "          valueFrom: {secretKeyRef: {name: conveyor-db, key: url}}\n"
    )
    settings = _settings(tmp_path, kubernetes_pod_template_file=template)
    [base] = pod_to_dict(build_pod(settings, WORK, TaskPodSettings()))["spec"]["containers"]
    assert base["env"] == [
        {
            "name": "CONVEYOR_DATABASE_URL",
            "valueFrom": {"secretKeyRef": {"key": "url", "name": "conveyor-db"}},
        }
    ]


def test_executor_config_travels_in_the_serialized_task(airflow_hook: None) -> None:
    from airflow import DAG
    from airflow.operators.bash import BashOperator

    from conveyor.loading.serialize import serialize_task

    override = k8s.V1Pod(
        spec=k8s.V1PodSpec(
            containers=[k8s.V1Container(name="base", env=[k8s.V1EnvVar(name="A", value="1")])]
        )
    )
    with DAG("shaped", schedule=None):
        shaped = BashOperator(
            task_id="shaped",
            bash_command="true",
            executor_config={"pod_override": override},
            resources={"ram": 64},
            executor="KubernetesExecutor",
        )
        plain = BashOperator(task_id="plain", bash_command="true")
    raw = json.loads(json.dumps(serialize_task(shaped)))  # as the store keeps it
    assert raw["executor"] == "KubernetesExecutor"
    assert raw["resources"] == {"ram": 64}
    assert pod_override(raw["executor_config"]) == override
    assert not {"executor", "executor_config", "resources"} & set(serialize_task(plain))


# -- the cluster launcher, through the client ----------------------------------------------


class _Answer:
    """What urllib3 hands the client back."""

    def __init__(self, status: int, body: Any) -> None:
        self.status, self.reason = status, "OK" if status < 400 else "Not Found"
        self.data = json.dumps(body).encode()

    def getheaders(self) -> dict[str, str]:
        return {"content-type": "application/json"}

    def getheader(self, name: str, default: str | None = None) -> str | None:
        return self.getheaders().get(name.lower(), default)


class _Transport:
    """The client's pool manager: records each request, answers from a list."""

    def __init__(self, *answers: tuple[int, Any]) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[str, str, Any]] = []

    def request(self, method: str, url: str, **kwargs: Any) -> _Answer:
        body = kwargs.get("body")  # a POST's JSON; a GET's query is its "fields"
        self.calls.append(
            (method, url, json.loads(body) if body else dict(kwargs.get("fields") or []))
        )
        return _Answer(*self.answers.pop(0))


def _launcher(transport: _Transport, **kwargs: Any) -> ClusterLauncher:
    client = ApiClient()
    client.configuration.host = "https://cluster.example"
    client.rest_client.pool_manager = transport
    return ClusterLauncher(CoreV1Api(client), "tries", **kwargs)


def test_the_cluster_launcher_creates_lists_and_deletes_through_the_client(
    tmp_path: Path,
) -> None:
    pod = build_pod(_settings(tmp_path, kubernetes_namespace="tries"), WORK, TaskPodSettings())
    name = pod.metadata.name
    listed = {
        "kind": "PodList",
        "items": [
            {
                "metadata": {"name": name, "namespace": "tries", "labels": {"a": "b"}},
                "status": {
                    "phase": "Pending",
                    "containerStatuses": [
                        {
                            "name": "base",
                            "image": "x",
                            "imageID": "",
                            "ready": False,
                            "restartCount": 0,
                            "state": {
                                "waiting": {"reason": "ErrImagePull", "message": "not found"}
                            },
                        }
                    ],
                },
            },
            {"metadata": {"name": "other", "namespace": "tries"}, "status": {"phase": "Running"}},
        ],
    }
    transport = _Transport((201, pod_to_dict(pod)), (200, listed), (200, {}), (404, {}))
    launcher = _launcher(transport)
    assert launcher.create(pod) is None
    states = launcher.pods()
    launcher.delete(name, "tries", grace=5)
    launcher.delete("gone-already", "tries", grace=5)  # a 404 is what was wanted

    (method, url, body), (_, list_url, query), (delete, delete_url, _), _ = transport.calls
    assert (method, url) == ("POST", "https://cluster.example/api/v1/namespaces/tries/pods")
    assert body == pod_to_dict(pod)
    assert list_url == "https://cluster.example/api/v1/namespaces/tries/pods"
    assert query == {"labelSelector": "kubernetes_executor=True"}
    assert delete == "DELETE" and delete_url.endswith(
        f"/namespaces/tries/pods/{name}?gracePeriodSeconds=5"
    )
    assert [(s.name, s.phase, s.reason) for s in states] == [
        (name, FAILED, "ErrImagePull: not found"),
        ("other", RUNNING, None),
    ]


def test_a_refused_pod_says_why_and_all_namespaces_are_listed_when_asked(
    tmp_path: Path,
) -> None:
    pod = build_pod(_settings(tmp_path), WORK, TaskPodSettings())
    transport = _Transport((403, {"message": "forbidden"}), (200, {"items": []}))
    launcher = _launcher(transport, all_namespaces=True)
    refused = launcher.create(pod)
    assert refused is not None and "403" in refused
    assert launcher.pods() == []
    assert transport.calls[1][1:] == (
        "https://cluster.example/api/v1/pods",
        {"labelSelector": "kubernetes_executor=True"},
    )


def test_each_call_to_the_cluster_is_timed_and_counted_by_status_under_airflows_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = record_metrics(monkeypatch)
    pod = build_pod(_settings(tmp_path, kubernetes_namespace="tries"), WORK, TaskPodSettings())
    transport = _Transport((201, pod_to_dict(pod)), (409, {}), (200, {}), (404, {}))
    launcher = _launcher(transport)
    assert launcher.create(pod) is None
    assert launcher.create(pod) is not None  # the name is taken
    launcher.delete(pod.metadata.name, "tries", grace=5)
    launcher.delete("gone-already", "tries", grace=5)
    sent = recorder.named()
    counted = [(name, tags["status"]) for kind, name, tags in sent if kind == "c"]
    assert counted == [
        ("kubernetes_executor.pod_creation_status", "200"),  # Airflow's word for any success
        ("kubernetes_executor.pod_creation_status", "409"),
        ("kubernetes_executor.pod_deletion_status", "200"),
        ("kubernetes_executor.pod_deletion_status", "404"),
    ]
    timed = [name for kind, name, _ in sent if kind == "ms"]
    assert (
        timed == ["kubernetes_executor.pod_creation"] * 2 + ["kubernetes_executor.pod_deletion"] * 2
    )


@pytest.mark.parametrize(
    ("variable", "value", "setting", "expected"),
    [
        ("AIRFLOW__CORE__EXECUTOR", "KubernetesExecutor", "executor", "kubernetes"),
        ("AIRFLOW__CORE__EXECUTOR", "CeleryKubernetesExecutor", "executor", "celery_kubernetes"),
        (
            "AIRFLOW__CORE__EXECUTOR",
            "CeleryExecutor,KubernetesExecutor",
            "executor",
            "celery_kubernetes",
        ),
        ("AIRFLOW__KUBERNETES_EXECUTOR__NAMESPACE", "tries", "kubernetes_namespace", "tries"),
        (
            "AIRFLOW__KUBERNETES_EXECUTOR__DELETE_WORKER_PODS",
            "False",
            "kubernetes_delete_worker_pods",
            False,
        ),
        (
            "AIRFLOW__CELERY_KUBERNETES_EXECUTOR__KUBERNETES_QUEUE",
            "pods",
            "celery_kubernetes_queue",
            "pods",
        ),
    ],
)
def test_airflow_spells_the_executor_settings(
    tmp_path: Path, variable: str, value: str, setting: str, expected: Any
) -> None:
    settings = load_config({variable: value}, home=tmp_path).settings
    assert getattr(settings, setting) == expected


# -- Celery and Kubernetes side by side ----------------------------------------------------


class _Taking:
    """An executor that notes what it was handed."""

    def __init__(self) -> None:
        self.taken: list[int] = []
        self.store = None

    def submit(self, tries: list[QueuedTry]) -> None:
        self.taken.extend(work.ti_id for work in tries)

    def holds(self, ti_id: int) -> bool:
        return ti_id in self.taken


def test_the_kubernetes_queue_and_executor_kubernetes_go_to_pods_the_rest_to_celery(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from conveyor.executors.kubernetes import celery_kubernetes

    raw = {"plain": {}, "asks": {"executor": "KubernetesExecutor"}, "other": {"executor": "x"}}
    monkeypatch.setattr(celery_kubernetes, "task_raw", lambda _store, work: raw[work.task_id])
    settings = _settings(tmp_path, executor="celery_kubernetes", celery_kubernetes_queue="pods")
    celery, pods = _Taking(), _Taking()
    router = celery_kubernetes.CeleryKubernetesExecutor(settings, celery, pods)  # type: ignore[arg-type]

    def work(ti_id: int, queue: str, task_id: str) -> QueuedTry:
        return QueuedTry(ti_id, 1, queue, 1, "d", "r", task_id, None)

    router.submit(
        [
            work(1, "default", "plain"),
            work(2, "pods", "plain"),
            work(3, "default", "asks"),
            work(4, "etl", "other"),
        ]
    )
    assert (celery.taken, pods.taken) == ([1, 4], [2, 3])
    assert router.holds(2) and router.holds(4) and not router.holds(5)
