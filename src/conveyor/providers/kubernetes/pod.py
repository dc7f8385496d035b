"""The pod a ``KubernetesPodOperator`` asks for, built as Airflow builds it: one container
named ``base`` (image, cmds as its command, arguments as its args, env, resources, volume
mounts), the pod's volumes, labels and annotations, ``restartPolicy: Never``, a name made
unique with a random suffix, the secrets attached, the try's identifying labels, and the
XCom sidecar when ``do_xcom_push`` is on."""

from __future__ import annotations

import copy
import hashlib
import re
import secrets
import string
from collections.abc import Mapping
from typing import Any

from conveyor.exceptions import TaskError
from conveyor.providers._extras import load

load("kubernetes", "kubernetes", "cncf.kubernetes")
from kubernetes.client import models as k8s  # noqa: E402

BASE_CONTAINER_NAME = "base"
XCOM_MOUNT_PATH = "/airflow/xcom"
XCOM_VOLUME = "xcom"
SIDECAR_CONTAINER_NAME = "airflow-xcom-sidecar"
#: The sidecar keeps the pod up until the XCom is read, then exits on SIGINT.
SIDECAR_COMMAND = 'trap "exit 0" INT; while true; do sleep 1; done;'
DEFAULT_SIDECAR_IMAGE = "alpine"
#: A pod's name is a DNS label of the cluster: at most 63 characters.
POD_NAME_MAX_LENGTH = 63
_LABEL_MAX = 63
_SUFFIX_CHARS = string.ascii_lowercase + string.digits


def random_suffix(length: int = 8) -> str:
    return "".join(secrets.choice(_SUFFIX_CHARS) for _ in range(length))


def safe_name(name: str) -> str:
    """``name`` as a DNS label: lower case, runs of other characters turned into one "-"."""
    cleaned = re.sub(r"[^a-z0-9.-]+", "-", name.lower()).strip("-.")
    return cleaned or "pod"


def unique_pod_name(task_id: str, unique: bool = True) -> str:
    """A pod name from the task id (Airflow's ``create_unique_id``)."""
    name = safe_name(task_id)
    if not unique:
        return name[:POD_NAME_MAX_LENGTH].strip("-.")
    return f"{name[: POD_NAME_MAX_LENGTH - 9].strip('-.')}-{random_suffix()}"


def add_unique_suffix(name: str) -> str:
    """A user's pod name with "-" and 8 random characters after it, kept within 63."""
    return f"{name[: POD_NAME_MAX_LENGTH - 9].rstrip('-.')}-{random_suffix()}"


def safe_label_value(value: str) -> str:
    """A label value Kubernetes takes (<= 63 of ``[A-Za-z0-9._-]``, alphanumeric at both
    ends); a value that had to change gets a short hash of the original, so two never meet."""
    cleaned = re.sub(r"^[^a-zA-Z0-9]+|[^a-zA-Z0-9._-]|[^a-zA-Z0-9]+$", "", value)
    if len(cleaned) > _LABEL_MAX or cleaned != value:
        digest = hashlib.md5(value.encode(), usedforsecurity=False).hexdigest()[:9]
        cleaned = f"{cleaned[: _LABEL_MAX - 10].rstrip('._-')}-{digest}"
    return cleaned


def env_vars_of(value: Any) -> list[Any]:
    """``env_vars`` as a list of ``V1EnvVar``: a dict of names to values, or the list."""
    if not value:
        return []
    if isinstance(value, Mapping):
        return [
            k8s.V1EnvVar(name=str(k), value=None if v is None else str(v)) for k, v in value.items()
        ]
    if isinstance(value, list | tuple) and all(isinstance(e, k8s.V1EnvVar) for e in value):
        return list(value)
    raise TaskError(f"env_vars must be a dict or a list of V1EnvVar, got {type(value).__name__}")


def try_labels(context: Mapping[str, Any] | None) -> dict[str, str]:
    """Labels naming the try a pod belongs to (dag_id, task_id, run_id, try_number...)."""
    if not context:
        return {}
    ti = context["ti"]
    labels = {
        "dag_id": ti.dag_id,
        "task_id": ti.task_id,
        "run_id": context.get("run_id") or ti.run_id,
        "kubernetes_pod_operator": "True",
        "try_number": str(ti.try_number),
    }
    map_index = getattr(ti, "map_index", -1)
    if map_index is not None and map_index >= 0:
        labels["map_index"] = str(map_index)
    return {key: safe_label_value(str(value)) for key, value in labels.items()}


def add_xcom_sidecar(pod: Any, image: str = DEFAULT_SIDECAR_IMAGE) -> Any:
    """The base container writes its XCom to ``/airflow/xcom/return.json``, on a volume the
    sidecar shares; the sidecar stays up until the file is read."""
    mount = k8s.V1VolumeMount(name=XCOM_VOLUME, mount_path=XCOM_MOUNT_PATH)
    pod.spec.volumes = [
        *(pod.spec.volumes or []),
        k8s.V1Volume(name=XCOM_VOLUME, empty_dir=k8s.V1EmptyDirVolumeSource()),
    ]
    base = pod.spec.containers[0]
    base.volume_mounts = [*(base.volume_mounts or []), mount]
    sidecar = k8s.V1Container(
        name=SIDECAR_CONTAINER_NAME,
        image=image,
        command=["sh", "-c", SIDECAR_COMMAND],
        volume_mounts=[mount],
        resources=k8s.V1ResourceRequirements(requests={"cpu": "1m", "memory": "10Mi"}),
    )
    pod.spec.containers.append(sidecar)
    return pod


def check_models(field: str, value: Any, model: type) -> list[Any]:
    """A list of ``model`` (V1Volume, V1VolumeMount...); a dict is read as the model's
    fields, as Airflow reads a rendered template."""
    found = []
    for item in value or []:
        if isinstance(item, model):
            found.append(item)
        elif isinstance(item, Mapping):
            found.append(_from_dict(item, model))
        else:
            raise TaskError(f"{field} must hold {model.__name__} objects, got {item!r}")
    return found


def _from_dict(data: Mapping[str, Any], model: type) -> Any:
    """A model from a dict of its fields (``{"name": ..., "mount_path": ...}``)."""
    try:
        return model(**data)
    except TypeError as exc:
        raise TaskError(f"cannot read {dict(data)!r} as a {model.__name__}: {exc}") from None


#: Lists a template's pod and the operator's pod both give, kept both (template's first).
_CONTAINER_LISTS = ("volume_mounts", "env", "env_from", "ports", "volume_devices")
_META_LISTS = ("finalizers", "owner_references", "managed_fields")


def _overlay(base: Any, client: Any) -> Any:
    """``client`` with each field it leaves empty taken from ``base`` (dicts: merged, the
    client's keys winning)."""
    if not base:
        return client
    if not client:
        return base
    if isinstance(base, dict) and isinstance(client, dict):
        return {**base, **client}
    merged = copy.deepcopy(client)
    for field in base.attribute_map:
        if not getattr(merged, field, None) and getattr(base, field, None) is not None:
            setattr(merged, field, copy.deepcopy(getattr(base, field)))
    return merged


def _extended(base: Any, client: Any, field: str) -> Any:
    """``client`` with ``field`` (a list) being base's items followed by its own."""
    both = (getattr(base, field, None) or []) + (getattr(client, field, None) or [])
    setattr(client, field, copy.deepcopy(both) or None)
    return client


def _containers(base: list[Any] | None, client: list[Any] | None) -> list[Any] | None:
    """Containers paired by position: each of the operator's over the template's."""
    base, client = base or [], client or []
    merged = []
    for position in range(max(len(base), len(client))):
        if position >= len(client):
            merged.append(copy.deepcopy(base[position]))
            continue
        mine = copy.deepcopy(client[position])
        if position < len(base):
            for field in _CONTAINER_LISTS:
                mine = _extended(base[position], mine, field)
            mine = _overlay(base[position], mine)
        merged.append(mine)
    return merged or None


def reconcile_pods(template: Any, pod: Any) -> Any:
    """The operator's ``pod`` laid over a ``full_pod_spec`` ``template``, as Airflow's pod
    generator does: what the operator sets wins; what it leaves empty comes from the
    template; containers pair up by position, and their mounts, env, env_from, ports and the
    pod's volumes and init containers are both lists together; labels and annotations are
    merged."""
    if template is None:
        return pod
    pod = copy.deepcopy(pod)
    base_spec, spec = template.spec, pod.spec
    if base_spec is not None and spec is not None:
        spec.containers = _containers(base_spec.containers, spec.containers)
        spec.init_containers = _containers(base_spec.init_containers, spec.init_containers)
        spec = _extended(base_spec, spec, "volumes")
        pod.spec = _overlay(base_spec, spec)
    else:
        pod.spec = spec or copy.deepcopy(base_spec)
    base_meta, meta = template.metadata, pod.metadata
    if base_meta is not None and meta is not None:
        meta.labels = _overlay(base_meta.labels, meta.labels)
        meta.annotations = _overlay(base_meta.annotations, meta.annotations)
        for field in _META_LISTS:
            meta = _extended(base_meta, meta, field)
        pod.metadata = _overlay(base_meta, meta)
    else:
        pod.metadata = meta or copy.deepcopy(base_meta)
    return _overlay(template, pod)
