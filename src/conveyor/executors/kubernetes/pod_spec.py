"""The pod of one try, built with the official client's models as Airflow's Kubernetes
executor builds it.

Three layers, each laid over the one before with the pod operator's ``reconcile_pods``
(Airflow's rules: what the upper layer sets wins, what it leaves empty comes from below,
containers pair up by position, env, mounts, ports, volumes and init containers add up,
labels and annotations merge):

1. the pod template (``kubernetes_pod_template_file``), else one container named ``base``
   with ``restartPolicy: Never``;
2. the task's ``resources`` (Airflow's ``Resources`` or a dict of ``cpus``, ``ram`` and
   ``disk`` in MB, ``gpus``) as the base container's requests and limits, then the task's
   ``executor_config["pod_override"]`` (a ``V1Pod``);
3. what the executor sets: the pod's name and namespace, the labels naming the try, the
   image (the override's when it names one, else ``worker_container_repository:tag``) and
   the arguments that run the try (``conveyor tasks run-try``), and ``CONVEYOR_DATABASE_URL``
   when no layer gives it (a template may take it from a Secret instead).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from conveyor.config import Settings
from conveyor.engine.progress import QueuedTry
from conveyor.exceptions import ConfigError
from conveyor.providers.kubernetes.pod import (
    BASE_CONTAINER_NAME,
    k8s,
    reconcile_pods,
    safe_label_value,
    unique_pod_name,
)
from conveyor.worker.runner import log_path_for

#: The label every pod of the executor carries: what a scheduler lists to adopt them.
EXECUTOR_LABEL = "kubernetes_executor"
#: The label holding the task instance's id, exactly (the others are made label-safe).
TI_LABEL = "conveyor_ti_id"
TRY_LABEL = "try_number"
#: Environment variables a try's process needs to reach the store, when no layer sets them.
STORE_ENV = "CONVEYOR_DATABASE_URL"
#: Airflow's ``Resources`` units are MB; Kubernetes quantities take ``Mi``.
_RESOURCE_NAMES = {"cpus": "cpu", "ram": "memory", "disk": "ephemeral-storage"}


class _Json:
    """What the client's ``deserialize`` reads: a response whose ``data`` is JSON text."""

    def __init__(self, value: Any) -> None:
        self.data = json.dumps(value)


def pod_from_dict(value: Mapping[str, Any]) -> Any:
    """A ``V1Pod`` from the API's JSON shape (camelCase keys), as the client reads one."""
    from kubernetes.client import ApiClient

    return ApiClient().deserialize(_Json(dict(value)), "V1Pod")  # type: ignore[arg-type]


def pod_to_dict(pod: Any) -> dict[str, Any]:
    """The pod as the API receives it (camelCase keys, no empty fields)."""
    from kubernetes.client import ApiClient

    return dict(ApiClient().sanitize_for_serialization(pod))


@lru_cache(maxsize=8)
def _template_text(path: Path, mtime: float) -> dict[str, Any]:
    import yaml

    document = yaml.safe_load(path.read_text())
    if not isinstance(document, dict) or document.get("kind", "Pod") != "Pod":
        raise ConfigError(f"kubernetes_pod_template_file {path}: not the YAML of a Pod")
    return document


def template_pod(settings: Settings) -> Any:
    """The pod template of the settings, or the default one."""
    path = settings.kubernetes_pod_template_file
    if path is None:
        return k8s.V1Pod(
            metadata=k8s.V1ObjectMeta(),
            spec=k8s.V1PodSpec(
                containers=[k8s.V1Container(name=BASE_CONTAINER_NAME)], restart_policy="Never"
            ),
        )
    path = Path(path).expanduser()
    try:
        document = _template_text(path, path.stat().st_mtime)
    except OSError as exc:
        raise ConfigError(f"kubernetes_pod_template_file {path}: {exc}") from None
    return pod_from_dict(copy.deepcopy(document))


def resources_pod(resources: Any) -> Any | None:
    """The task's ``resources`` as the base container's requests and limits (equal)."""
    if not isinstance(resources, Mapping) or not resources:
        return None
    quantities: dict[str, str] = {}
    for name, value in resources.items():
        amount = value.get("qty") if isinstance(value, Mapping) else value
        if amount in (None, "", 0):
            continue
        if name == "gpus":
            quantities["nvidia.com/gpu"] = str(amount)
        elif name in ("ram", "disk"):
            quantities[_RESOURCE_NAMES[name]] = f"{amount}Mi"
        elif name == "cpus":
            quantities["cpu"] = str(amount)
    if not quantities:
        return None
    requirements = k8s.V1ResourceRequirements(requests=dict(quantities), limits=dict(quantities))
    return k8s.V1Pod(
        spec=k8s.V1PodSpec(
            containers=[k8s.V1Container(name=BASE_CONTAINER_NAME, resources=requirements)]
        )
    )


def pod_override(executor_config: Any) -> Any | None:
    """The ``pod_override`` of a serialized ``executor_config``, as a ``V1Pod``."""
    if not isinstance(executor_config, Mapping):
        return None
    found = executor_config.get("pod_override")
    if not found:
        return None
    if isinstance(found, Mapping):
        return pod_from_dict(found)
    return copy.deepcopy(found)  # a V1Pod already (a task given to the executor directly)


def try_labels(work: QueuedTry) -> dict[str, str]:
    """Labels naming the try (Airflow's names), and the exact task instance id."""
    labels = {
        EXECUTOR_LABEL: "True",
        "dag_id": work.dag_id,
        "task_id": work.task_id,
        "run_id": work.run_id,
        TRY_LABEL: str(work.try_number),
        TI_LABEL: str(work.ti_id),
    }
    if work.map_index >= 0:
        labels["map_index"] = str(work.map_index)
    return {key: safe_label_value(value) for key, value in labels.items()}


@dataclass(frozen=True)
class TaskPodSettings:
    """What a task's serialized form says of its pod."""

    executor_config: Any = None
    resources: Any = None

    @classmethod
    def of(cls, raw: Mapping[str, Any]) -> TaskPodSettings:
        return cls(raw.get("executor_config"), raw.get("resources"))


def worker_image(settings: Settings) -> str:
    repository = settings.kubernetes_worker_container_repository
    tag = settings.kubernetes_worker_container_tag
    return f"{repository}:{tag}" if tag else repository


def try_command(settings: Settings, work: QueuedTry, log_path: Path | None = None) -> list[str]:
    """The arguments of the base container: run this try (``worker.pod_try``), whose log is
    ``log_path`` (default: the one its number names; a poke or a resumption writes to the log
    its try's start recorded, which the executor reads from the store)."""
    if log_path is None:
        log_path = log_path_for(
            settings, work.dag_id, work.run_id, work.task_id, work.try_number, work.map_index
        )
    log_name = log_path.relative_to(settings.logs_path)
    return [
        "conveyor", "tasks", "run-try", str(work.ti_id), str(work.try_number),
        "--log-name", str(log_name),
    ]  # fmt: skip


def build_pod(
    settings: Settings, work: QueuedTry, task: TaskPodSettings, log_path: Path | None = None
) -> Any:
    """The try's pod (see the module's docstring); ``log_path`` as for :func:`try_command`."""
    pod = template_pod(settings)
    for layer in (resources_pod(task.resources), pod_override(task.executor_config)):
        if layer is not None:
            pod = reconcile_pods(pod, layer)
    base = pod.spec.containers[0] if pod.spec and pod.spec.containers else None
    image = (base.image if base is not None else None) or worker_image(settings)
    env = (
        []
        if _sets(base, STORE_ENV)
        else [k8s.V1EnvVar(name=STORE_ENV, value=settings.database_url)]
    )
    namespace = (pod.metadata.namespace if pod.metadata else None) or settings.kubernetes_namespace
    executor_pod = k8s.V1Pod(
        metadata=k8s.V1ObjectMeta(
            name=unique_pod_name(f"{work.dag_id}-{work.task_id}"),
            namespace=namespace,
            labels=try_labels(work),
            annotations={
                "dag_id": work.dag_id,
                "task_id": work.task_id,
                "run_id": work.run_id,
                "try_number": str(work.try_number),
                "map_index": str(work.map_index),
            },
        ),
        spec=k8s.V1PodSpec(
            containers=[
                k8s.V1Container(
                    name=BASE_CONTAINER_NAME,
                    image=image,
                    args=try_command(settings, work, log_path),
                    env=env or None,
                )
            ]
        ),
    )
    return reconcile_pods(pod, executor_pod)


def _sets(container: Any, name: str) -> bool:
    return container is not None and any(e.name == name for e in container.env or [])
