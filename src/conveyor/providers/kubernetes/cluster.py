"""A pod run on a Kubernetes cluster through the official client, as Airflow runs it.

The client is configured from the ``kubernetes`` connection (Airflow's extras: ``in_cluster``,
``kube_config_path``, ``kube_config`` (the file's text or JSON), ``cluster_context``,
``namespace``, ``xcom_sidecar_container_image``), else the operator's ``config_file`` /
``in_cluster`` / ``cluster_context``, else the kube config the client finds itself
(``KUBECONFIG``, ``~/.kube/config``). The pod is created, awaited until it starts, its base
container's log followed, the XCom read from the sidecar with ``cat`` through the API's exec,
and the sidecar told to stop.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Mapping
from typing import Any

import yaml

from conveyor.connections import current_store
from conveyor.exceptions import TaskError
from conveyor.providers._extras import load
from conveyor.providers.kubernetes.outcome import PodOutcome
from conveyor.providers.kubernetes.pod import SIDECAR_CONTAINER_NAME, XCOM_MOUNT_PATH

kubernetes = load("kubernetes", "kubernetes", "cncf.kubernetes")
from kubernetes import client as k8s_client  # noqa: E402
from kubernetes import config as k8s_config  # noqa: E402
from kubernetes.stream import stream as k8s_stream  # noqa: E402

#: Seconds between two looks at a pod that is starting or running.
POLL = 1.0
_EMPTY = "__conveyor_xcom_result_empty__"


def _extra(extra: Mapping[str, Any], key: str) -> Any:
    """An extra under its name or Airflow's older ``extra__kubernetes__`` prefix."""
    value = extra.get(key, extra.get(f"extra__kubernetes__{key}"))
    return None if value in ("", None) else value


def _true(value: Any) -> bool:
    return str(value).strip().lower() == "true"


def credential_plugins(text: str) -> list[str]:
    """What in a kubeconfig's users would run on this machine before any cluster is asked:
    ``exec`` credential plugins (with their command) and ``auth-provider`` entries."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError:
        return []  # the client refuses it with its own message
    found: list[str] = []
    users = document.get("users") if isinstance(document, dict) else None
    for entry in users if isinstance(users, list) else []:
        user = entry.get("user") if isinstance(entry, dict) else None
        if not isinstance(user, dict):
            continue
        name = entry.get("name", "?")
        if "exec" in user:
            command = (user["exec"] or {}).get("command", "?")
            found.append(f"user {name!r}: exec plugin {command!r}")
        if "auth-provider" in user:
            provider = (user["auth-provider"] or {}).get("name", "?")
            found.append(f"user {name!r}: auth-provider {provider!r}")
    return found


def refuse_credential_plugins(text: str) -> None:
    """Refuse a connection's kube_config that would run a command on this worker, unless the
    worker's ``kubernetes_allow_exec_plugins`` setting allows it: editing a connection is an
    admin's right in the web UI, running code on workers is not (docs/security.md)."""
    plugins = credential_plugins(text)
    if not plugins or current_store()[1].kubernetes_allow_exec_plugins:
        return
    raise TaskError(
        "the connection's kube_config runs a command on the worker to get credentials ("
        + "; ".join(plugins)
        + "), which Conveyor refuses for a kube_config held in a connection: put the file "
        "on the workers and name it with kube_config_path, or set "
        "CONVEYOR_KUBERNETES_ALLOW_EXEC_PLUGINS=true on the workers"
    )


def load_client(
    extra: Mapping[str, Any],
    *,
    config_file: str | None,
    in_cluster: bool | None,
    cluster_context: str | None,
) -> Any:
    """A ``CoreV1Api`` of the cluster the settings name (see the module's docstring)."""
    context = _extra(extra, "cluster_context") or cluster_context
    try:
        if _true(_extra(extra, "in_cluster")) or in_cluster:
            k8s_config.load_incluster_config()
        elif _extra(extra, "kube_config") is not None:
            text = _extra(extra, "kube_config")
            text = json.dumps(text) if isinstance(text, Mapping) else str(text)
            refuse_credential_plugins(text)
            with tempfile.NamedTemporaryFile("w", suffix=".kubeconfig") as file:
                file.write(text)
                file.flush()
                k8s_config.load_kube_config(config_file=file.name, context=context)
        else:
            path = _extra(extra, "kube_config_path") or config_file
            k8s_config.load_kube_config(config_file=path, context=context)
    except (k8s_config.ConfigException, OSError) as exc:
        raise TaskError(f"the kubernetes client cannot be configured: {exc}") from None
    return k8s_client.CoreV1Api()


class ClusterEngine:
    """Runs pods on a cluster; one engine per try."""

    def __init__(self, api: Any, startup_timeout: float = 120) -> None:
        self.api = api
        self.startup_timeout = startup_timeout

    def run(self, pod: Any, on_line: Callable[[str], None] | None) -> PodOutcome:
        name, namespace = pod.metadata.name, pod.metadata.namespace
        base = pod.spec.containers[0].name
        try:
            self.api.create_namespaced_pod(namespace=namespace, body=pod)
        except k8s_client.ApiException as exc:
            return PodOutcome(-1, reason=f"the cluster refused pod {name}: {exc.reason} {exc.body}")
        if not self._started(name, namespace):
            return PodOutcome(-1, reason=f"pod {name} did not start in {self.startup_timeout}s")
        outcome = PodOutcome(0)
        if on_line is not None:
            stream = self.api.read_namespaced_pod_log(
                name, namespace, container=base, follow=True, _preload_content=False
            )
            pending = ""
            for chunk in stream.stream():
                pending += chunk.decode("utf-8", "replace")
                *whole, pending = pending.split("\n")
                for line in whole:
                    outcome.tail.append(line)
                    on_line(line)
            if pending:
                outcome.tail.append(pending)
                on_line(pending)
        outcome.exit_code = self._exit_code(name, namespace, base)
        if on_line is None:
            text = self.api.read_namespaced_pod_log(name, namespace, container=base, tail_lines=20)
            outcome.tail.extend(str(text).splitlines())
        if any(c.name == SIDECAR_CONTAINER_NAME for c in pod.spec.containers):
            outcome.xcom = self._xcom(name, namespace)
        return outcome

    def _started(self, name: str, namespace: str) -> bool:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            phase = self.api.read_namespaced_pod(name, namespace).status.phase
            if phase != "Pending":
                return True
            time.sleep(POLL)
        return False

    def _exit_code(self, name: str, namespace: str, base: str) -> int:
        while True:
            status = self.api.read_namespaced_pod(name, namespace).status
            for container in status.container_statuses or []:
                terminated = container.state.terminated if container.state else None
                if container.name == base and terminated is not None:
                    return int(terminated.exit_code)
            if status.phase in ("Succeeded", "Failed"):
                return 0 if status.phase == "Succeeded" else 1
            time.sleep(POLL)

    def _exec(self, name: str, namespace: str, command: str) -> str:
        return str(
            k8s_stream(
                self.api.connect_get_namespaced_pod_exec,
                name,
                namespace,
                container=SIDECAR_CONTAINER_NAME,
                command=["sh", "-c", command],
                stdin=False,
                stdout=True,
                stderr=True,
                tty=False,
            )
        )

    def _xcom(self, name: str, namespace: str) -> str | None:
        path = f"{XCOM_MOUNT_PATH}/return.json"
        text = self._exec(
            name, namespace, f"if [ -s {path} ]; then cat {path}; else echo {_EMPTY}; fi"
        )
        self._exec(name, namespace, "kill -s SIGINT 1")
        return None if text.strip() == _EMPTY else text

    def describe(self, pod: Any) -> str:
        try:
            found = self.api.read_namespaced_pod(pod.metadata.name, pod.metadata.namespace)
        except k8s_client.ApiException as exc:
            return f"(pod not readable: {exc.reason})"
        return str(found.status.phase)

    def delete(self, pod: Any) -> None:
        try:
            self.api.delete_namespaced_pod(pod.metadata.name, pod.metadata.namespace)
        except k8s_client.ApiException as exc:
            if exc.status != 404:
                raise TaskError(
                    f"pod {pod.metadata.name} could not be deleted: {exc.reason}"
                ) from None

    def close(self) -> None:
        return None
