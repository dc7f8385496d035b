"""Where the executor's pods run: a Kubernetes cluster through the official client, or this
machine through ``podman kube play`` of the same pod YAML.

A launcher creates a pod, lists the executor's pods (by its label) with what each is doing,
reads a pod's log and deletes a pod. The executor asks for the list once per scheduler loop
(a relist, not a watch: a scheduler that restarts or misses an event sees the whole state
again at its next loop).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from conveyor.config import Settings
from conveyor.exceptions import ConfigError
from conveyor.executors.kubernetes.pod_spec import EXECUTOR_LABEL
from conveyor.providers.kubernetes.pod import BASE_CONTAINER_NAME
from conveyor.stats import airflow as airflow_stats

#: Container states in which a pod will never start (Airflow's
#: ``worker_pod_pending_fatal_container_state_reasons``): the try fails at once.
FATAL_WAITING = frozenset(
    {
        "CreateContainerConfigError",
        "ErrImagePull",
        "CreateContainerError",
        "ImageInspectError",
        "InvalidImageName",
    }
)
PENDING, RUNNING, SUCCEEDED, FAILED = "Pending", "Running", "Succeeded", "Failed"
#: Seconds a podman command that asks or removes may take.
_QUICK = 120


@dataclass(frozen=True)
class PodState:
    """One of the executor's pods as its launcher sees it now."""

    name: str
    namespace: str
    labels: Mapping[str, str] = field(default_factory=dict)
    phase: str = PENDING
    #: Why it failed or will never start (the container's reason and message).
    reason: str | None = None
    exit_code: int | None = None

    @property
    def ended(self) -> bool:
        return self.phase in (SUCCEEDED, FAILED)


class PodLauncher(Protocol):
    def create(self, pod: Any) -> str | None:
        """Start the pod; None, or why it was refused."""

    def pods(self) -> list[PodState]:
        """Every pod with the executor's label (in the executor's namespace, or in all)."""

    def logs(self, name: str, namespace: str, tail: int | None = None) -> str:
        """The base container's log ('' when there is none)."""

    def delete(self, name: str, namespace: str, grace: float) -> None:
        """Delete the pod: its containers get SIGTERM, and SIGKILL ``grace`` seconds later."""


def launcher_for(settings: Settings) -> PodLauncher:
    if settings.kubernetes_pod_launcher == "podman":
        return PodmanLauncher()
    return ClusterLauncher(
        cluster_api(settings),
        settings.kubernetes_namespace,
        all_namespaces=settings.kubernetes_multi_namespace_mode,
    )


# -- a cluster -------------------------------------------------------------------------------


def cluster_api(settings: Settings) -> Any:
    """A ``CoreV1Api`` configured in cluster (the pod's service account) or from the kube
    config."""
    from kubernetes import client, config

    try:
        if settings.kubernetes_in_cluster:
            config.load_incluster_config()
        else:
            path = settings.kubernetes_config_file
            config.load_kube_config(
                config_file=str(path) if path else None,
                context=settings.kubernetes_cluster_context,
            )
    except (config.ConfigException, OSError) as exc:
        raise ConfigError(f"the Kubernetes executor cannot reach a cluster: {exc}") from None
    return client.CoreV1Api()


def cluster_pod_state(pod: Any) -> PodState:
    """A pod the API returned, as a :class:`PodState`."""
    meta, status = pod.metadata, pod.status
    phase = (status.phase if status else None) or PENDING
    reason: str | None = status.reason if status else None
    exit_code: int | None = None
    for container in (status.container_statuses if status else None) or []:
        if container.name != BASE_CONTAINER_NAME or container.state is None:
            continue
        waiting, terminated = container.state.waiting, container.state.terminated
        if waiting is not None and waiting.reason in FATAL_WAITING:
            phase, reason = FAILED, f"{waiting.reason}: {waiting.message or ''}".rstrip(": ")
        if terminated is not None:
            exit_code = int(terminated.exit_code)
            if exit_code != 0:
                reason = terminated.reason or reason
    for condition in (status.conditions if status else None) or []:
        if condition.type == "PodScheduled" and condition.status == "False" and reason is None:
            reason = f"{condition.reason}: {condition.message}"  # still pending, says why
    if phase == FAILED and reason is None and status is not None:
        reason = status.message
    return PodState(meta.name, meta.namespace, dict(meta.labels or {}), phase, reason, exit_code)


class ClusterLauncher:
    """The pods on a cluster, through ``CoreV1Api``."""

    def __init__(self, api: Any, namespace: str, *, all_namespaces: bool = False) -> None:
        self.api = api
        self.namespace = namespace
        self.all_namespaces = all_namespaces

    def create(self, pod: Any) -> str | None:
        from kubernetes.client import ApiException

        try:
            with _call_measured("pod_creation"):
                self.api.create_namespaced_pod(namespace=pod.metadata.namespace, body=pod)
        except ApiException as exc:
            return f"the cluster refused pod {pod.metadata.name}: {exc.status} {exc.reason}"
        return None

    def pods(self) -> list[PodState]:
        selector = f"{EXECUTOR_LABEL}=True"
        if self.all_namespaces:
            listed = self.api.list_pod_for_all_namespaces(label_selector=selector)
        else:
            listed = self.api.list_namespaced_pod(self.namespace, label_selector=selector)
        return [cluster_pod_state(pod) for pod in listed.items]

    def logs(self, name: str, namespace: str, tail: int | None = None) -> str:
        from kubernetes.client import ApiException

        try:
            text = self.api.read_namespaced_pod_log(
                name, namespace, container=BASE_CONTAINER_NAME, tail_lines=tail
            )
        except ApiException:
            return ""
        return str(text)

    def delete(self, name: str, namespace: str, grace: float) -> None:
        from kubernetes.client import ApiException

        try:
            with _call_measured("pod_deletion"):
                self.api.delete_namespaced_pod(name, namespace, grace_period_seconds=int(grace))
        except ApiException as exc:
            if exc.status != 404:  # gone already is what was wanted
                raise


@contextmanager
def _call_measured(call: str) -> Iterator[None]:
    """Airflow's ``kubernetes_executor.<call>`` (how long a call to the cluster took) and
    ``<call>_status`` (200, the refusal's HTTP status, or ``error``)."""
    if not airflow_stats.on():
        yield
        return
    from kubernetes.client import ApiException

    started = time.perf_counter()
    status = "error"
    try:
        yield
        status = "200"
    except ApiException as exc:
        status = str(exc.status)
        raise
    finally:
        airflow_stats.pod_call(call, time.perf_counter() - started, status)


# -- podman ----------------------------------------------------------------------------------


class PodmanLauncher:
    """The same pods on this machine, with ``podman kube play`` (no cluster).

    podman names a pod's containers ``<pod>-<container>``; a pod's labels are the YAML's.
    Namespaces, node selection, tolerations and service accounts mean nothing here. A
    deletion runs in the background (``podman pod rm --time GRACE``), so the scheduler's loop
    does not wait out the grace period."""

    def __init__(self, podman: str | None = None) -> None:
        found = podman or shutil.which("podman")
        if found is None:
            raise ConfigError("kubernetes_pod_launcher = podman, but podman is not installed")
        self.command = [found]
        if shutil.which("runc"):  # the runtime that works on hosts without cgroup v2
            self.command += ["--runtime", "runc"]
        self.folder = Path(tempfile.mkdtemp(prefix="conveyor-pods-"))
        self._deleting: list[subprocess.Popen[bytes]] = []

    def _podman(self, *args: str, timeout: float = _QUICK) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.command, *args], capture_output=True, text=True, timeout=timeout, check=False
        )

    def create(self, pod: Any) -> str | None:
        import yaml

        from conveyor.executors.kubernetes.pod_spec import pod_to_dict

        spec = self.folder / f"{pod.metadata.name}.yaml"
        spec.write_text(yaml.safe_dump(pod_to_dict(pod), sort_keys=False))
        try:
            played = self._podman("kube", "play", str(spec), timeout=600)
        except subprocess.TimeoutExpired:
            return f"podman kube play did not start pod {pod.metadata.name} in time"
        finally:
            spec.unlink(missing_ok=True)
        if played.returncode != 0:
            said = (played.stderr or played.stdout).strip().splitlines()[-3:]
            return "podman kube play failed: " + " / ".join(said)
        return None

    def pods(self) -> list[PodState]:
        self._reap()
        listed = self._podman(
            "pod", "ps", "--filter", f"label={EXECUTOR_LABEL}=True", "--format", "json"
        )
        found = json.loads(listed.stdout or "[]") if listed.returncode == 0 else []
        names = [f"{pod['Name']}-{BASE_CONTAINER_NAME}" for pod in found]
        states: dict[str, Any] = {}
        if names:
            inspected = self._podman("container", "inspect", "--format", "json", *names)
            with contextlib.suppress(ValueError):
                states = {c["Name"]: c["State"] for c in json.loads(inspected.stdout or "[]")}
        return [
            _podman_state(pod, states.get(f"{pod['Name']}-{BASE_CONTAINER_NAME}")) for pod in found
        ]

    def logs(self, name: str, namespace: str, tail: int | None = None) -> str:
        args = ["logs", *(["--tail", str(tail)] if tail is not None else [])]
        done = self._podman(*args, f"{name}-{BASE_CONTAINER_NAME}")
        return done.stdout + done.stderr if done.returncode == 0 else ""

    def delete(self, name: str, namespace: str, grace: float) -> None:
        self._deleting.append(
            subprocess.Popen(
                [*self.command, "pod", "rm", "--force", "--time", str(int(grace)), name],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )

    def _reap(self) -> None:
        self._deleting = [p for p in self._deleting if p.poll() is None]

    def close(self) -> None:
        for process in self._deleting:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=_QUICK)
        shutil.rmtree(self.folder, ignore_errors=True)


def _podman_state(pod: Mapping[str, Any], state: Mapping[str, Any] | None) -> PodState:
    labels = dict(pod.get("Labels") or {})
    name, namespace = str(pod["Name"]), ""  # podman has no namespaces
    if state is None:
        return PodState(name, namespace, labels, FAILED, "the pod has no base container")
    status = str(state.get("Status", ""))
    if status == "running":
        return PodState(name, namespace, labels, RUNNING)
    if status in ("exited", "stopped"):
        code = int(state.get("ExitCode", -1))
        phase = SUCCEEDED if code == 0 else FAILED
        reason = None if code == 0 else _exit_reason(state, code)
        return PodState(name, namespace, labels, phase, reason, code)
    return PodState(name, namespace, labels, PENDING)


def _exit_reason(state: Mapping[str, Any], code: int) -> str:
    if state.get("OOMKilled"):
        return "OOMKilled"
    if code > 128:
        return f"Error: killed by signal {code - 128}"
    return f"Error: exit code {code}" + (f" ({state['Error']})" if state.get("Error") else "")
