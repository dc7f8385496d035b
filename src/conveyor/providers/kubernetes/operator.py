"""``KubernetesPodOperator``: run a pod, as Airflow's cncf.kubernetes provider does.

Where a cluster is configured (a ``kubernetes`` connection of ``kubernetes_conn_id``, the
operator's ``config_file`` or ``in_cluster``, ``KUBECONFIG``, or ``~/.kube/config``) the pod
runs there through the official client (``cluster.py``); where none is, the same pod runs on
this machine with ``podman kube play`` (``podman_kube.py``). Either way the base container's
log goes into the try's log line by line (``get_logs``), a non-zero exit fails the try with
the end of that log (or skips it, for a code in ``skip_on_exit_code``), ``do_xcom_push`` pushes
the JSON the container wrote to ``/airflow/xcom/return.json``, and ``on_finish_action``
decides whether the pod stays.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Container
from pathlib import Path
from typing import Any, ClassVar

from conveyor.connections import get_connection
from conveyor.exceptions import NotFoundError, Skip, TaskError
from conveyor.model.task import BaseOperator
from conveyor.operators.bash import skip_codes
from conveyor.providers._fields import keep_fields
from conveyor.providers.kubernetes.outcome import PodOutcome
from conveyor.providers.kubernetes.pod import (
    BASE_CONTAINER_NAME,
    add_unique_suffix,
    add_xcom_sidecar,
    check_models,
    env_vars_of,
    k8s,
    reconcile_pods,
    safe_label_value,
    try_labels,
    unique_pod_name,
)
from conveyor.providers.kubernetes.secret import Secret

_log = logging.getLogger(f"airflow.task.operators.{__name__}")

ON_FINISH_ACTIONS = ("delete_pod", "delete_succeeded_pod", "keep_pod")


class PodFailedError(TaskError):
    """The pod's base container exited with a code other than 0, or never ran."""


def _on_finish(action: str, is_delete_operator_pod: bool | None, task_id: str) -> str:
    # Airflow before provider 7.0 said it with a bool.
    if is_delete_operator_pod is not None:
        return "delete_pod" if is_delete_operator_pod else "keep_pod"
    if action not in ON_FINISH_ACTIONS:
        raise TaskError(
            f"task {task_id!r}: on_finish_action must be one of {', '.join(ON_FINISH_ACTIONS)}, "
            f"got {action!r}"
        )
    return action


class KubernetesPodOperator(BaseOperator):
    """Run ``image`` (``cmds`` as its entrypoint, ``arguments`` as its args) in a pod."""

    template_fields: ClassVar[tuple[str, ...]] = (
        "image",
        "name",
        "hostname",
        "cmds",
        "annotations",
        "arguments",
        "env_vars",
        "labels",
        "config_file",
        "namespace",
        "container_resources",
        "volumes",
        "volume_mounts",
        "cluster_context",
        "node_selector",
        "kubernetes_conn_id",
    )
    # No template_ext, as in Airflow: an argument ending in ".json" is text, not a file's name.
    #: Airflow's KubernetesPodOperator pushes nothing unless asked (airflow_compat reads this).
    default_do_xcom_push: ClassVar[bool] = False

    kubernetes_conn_id: str | None
    namespace: str | None
    image: str | None
    name: str | None
    random_name_suffix: bool
    in_cluster: bool | None
    cluster_context: str | None
    startup_timeout_seconds: int
    get_logs: bool
    image_pull_policy: str | None
    container_resources: Any
    affinity: Any
    config_file: str | None
    service_account_name: str | None
    hostnetwork: bool
    security_context: Any
    container_security_context: Any
    dnspolicy: str | None
    hostname: str | None
    priority_class_name: str | None
    termination_grace_period: int | None
    active_deadline_seconds: int | None

    def __init__(
        self,
        task_id: str,
        *,
        kubernetes_conn_id: str | None = "kubernetes_default",
        namespace: str | None = None,
        image: str | None = None,
        name: str | None = None,
        random_name_suffix: bool = True,
        cmds: list[str] | None = None,
        arguments: list[str] | None = None,
        ports: list[Any] | None = None,
        volume_mounts: list[Any] | None = None,
        volumes: list[Any] | None = None,
        env_vars: list[Any] | dict[str, str] | None = None,
        env_from: list[Any] | None = None,
        secrets: list[Secret] | None = None,
        in_cluster: bool | None = None,
        cluster_context: str | None = None,
        labels: dict[str, str] | None = None,
        startup_timeout_seconds: int = 120,
        get_logs: bool = True,
        base_container_name: str | None = None,
        image_pull_policy: str | None = None,
        annotations: dict[str, str] | None = None,
        container_resources: Any = None,
        affinity: Any = None,
        config_file: str | None = None,
        node_selector: dict[str, str] | None = None,
        image_pull_secrets: list[Any] | None = None,
        service_account_name: str | None = None,
        hostnetwork: bool = False,
        tolerations: list[Any] | None = None,
        security_context: Any = None,
        container_security_context: Any = None,
        dnspolicy: str | None = None,
        hostname: str | None = None,
        init_containers: list[Any] | None = None,
        priority_class_name: str | None = None,
        termination_grace_period: int | None = None,
        active_deadline_seconds: int | None = None,
        skip_on_exit_code: int | Container[int] | None = None,
        on_finish_action: str = "delete_pod",
        is_delete_operator_pod: bool | None = None,
        **kwargs: Any,
    ) -> None:
        # Keywords of older releases, and ones that change nothing a DAG can see here.
        node_selector = node_selector or kwargs.pop("node_selectors", None)
        for ignored in (
            "reattach_on_restart", "log_events_on_failure", "poll_interval", "deferrable",
            "startup_check_interval_seconds", "log_pod_spec_on_failure",
            "termination_message_policy",
            "container_logs", "init_container_logs", "schedule_timeout_seconds",
            "automount_service_account_token",
        ):  # fmt: skip
            kwargs.pop(ignored, None)
        full_pod_spec = kwargs.pop("full_pod_spec", None)
        if full_pod_spec is not None and not isinstance(full_pod_spec, k8s.V1Pod):
            raise TaskError(
                f"task {task_id!r}: full_pod_spec must be a kubernetes.client.models.V1Pod, "
                f"got {type(full_pod_spec).__name__}"
            )
        for unsupported in ("pod_template_file", "pod_template_dict", "callbacks"):
            if kwargs.pop(unsupported, None) is not None:  # refused when the task runs
                self.refuse_when_run(
                    f"task {task_id!r}: KubernetesPodOperator does not support {unsupported}"
                )
        super().__init__(task_id, **kwargs)
        if not hasattr(self, "do_xcom_push"):
            self.do_xcom_push = False
        keep_fields(self, KubernetesPodOperator, locals())
        self.cmds = cmds or []
        self.arguments = arguments or []
        self.ports = ports or []
        self.volume_mounts = volume_mounts or []
        self.volumes = volumes or []
        self.env_vars = env_vars or []
        self.env_from = env_from or []
        self.secrets = secrets or []
        self.labels = labels or {}
        self.base_container_name = base_container_name or BASE_CONTAINER_NAME
        self.annotations = annotations or {}
        self.node_selector = node_selector or {}
        self.image_pull_secrets = image_pull_secrets or []
        self.tolerations = tolerations or []
        self.init_containers = init_containers or []
        self.skip_on_exit_code = skip_codes(skip_on_exit_code)
        self.on_finish_action = _on_finish(on_finish_action, is_delete_operator_pod, task_id)
        self.full_pod_spec = full_pod_spec
        self.pod: Any = None
        self._engine: Any = None

    # -- the pod ---------------------------------------------------------------------------

    def _connection_extra(self) -> dict[str, Any] | None:
        """The ``kubernetes`` connection's extras, or None when there is no such connection."""
        if not self.kubernetes_conn_id:
            return None
        try:
            return get_connection(self.kubernetes_conn_id).extra_dejson
        except NotFoundError:
            return None

    def build_pod_request_obj(self, context: dict[str, Any] | None = None) -> Any:
        """The ``V1Pod`` this try asks for (see pod.py)."""
        template = self.full_pod_spec
        if not self.image and not _template_image(template):
            raise TaskError(f"task {self.task_id!r}: KubernetesPodOperator needs an image")
        container = k8s.V1Container(
            name=self.base_container_name,
            image=self.image,
            command=list(self.cmds) or None,
            args=list(self.arguments) or None,
            ports=self.ports or None,
            image_pull_policy=self.image_pull_policy,
            resources=self.container_resources,
            volume_mounts=check_models("volume_mounts", self.volume_mounts, k8s.V1VolumeMount)
            or None,
            env=env_vars_of(self.env_vars) or None,
            env_from=self.env_from or None,
            security_context=self.container_security_context,
        )
        name = self.name or (template.metadata.name if template and template.metadata else None)
        if not name:
            name = unique_pod_name(self.task_id, self.random_name_suffix)
        elif self.random_name_suffix:
            name = add_unique_suffix(name)
        labels = {k: "" if v is None else str(v) for k, v in self.labels.items()}
        pod = k8s.V1Pod(
            api_version="v1",
            kind="Pod",
            metadata=k8s.V1ObjectMeta(
                name=name,
                namespace=self.namespace or self._default_namespace(),
                labels=labels,
                annotations=self.annotations or None,
            ),
            spec=k8s.V1PodSpec(
                containers=[container],
                init_containers=self.init_containers or None,
                volumes=check_models("volumes", self.volumes, k8s.V1Volume) or None,
                restart_policy="Never",
                node_selector=self.node_selector or None,
                affinity=self.affinity,
                tolerations=self.tolerations or None,
                image_pull_secrets=self.image_pull_secrets or None,
                service_account_name=self.service_account_name,
                host_network=self.hostnetwork or None,
                hostname=self.hostname,
                security_context=self.security_context,
                dns_policy=self.dnspolicy,
                priority_class_name=self.priority_class_name,
                termination_grace_period_seconds=self.termination_grace_period,
                active_deadline_seconds=self.active_deadline_seconds,
            ),
        )
        # The operator's arguments over the template, as Airflow's pod generator lays them.
        pod = reconcile_pods(template, pod)
        for secret in self.secrets:
            pod = secret.attach_to_pod(pod)
        if self.do_xcom_push:
            extra = self._connection_extra() or {}
            image = extra.get("xcom_sidecar_container_image") or "alpine"
            pod = add_xcom_sidecar(pod, image=str(image))
        metadata: Any = pod.metadata
        metadata.labels = {
            **(metadata.labels or {}),
            **try_labels(context),
            "airflow_version": safe_label_value("conveyor"),
        }
        return pod

    def _default_namespace(self) -> str:
        extra = self._connection_extra() or {}
        return str(extra.get("namespace") or extra.get("extra__kubernetes__namespace") or "default")

    # -- the engine ------------------------------------------------------------------------

    def _cluster_configured(self, extra: dict[str, Any] | None) -> bool:
        if extra is not None or self.in_cluster or self.config_file:
            return True
        if os.environ.get("KUBECONFIG"):
            return True
        return (Path.home() / ".kube" / "config").is_file()

    def make_engine(self) -> Any:
        """The cluster's engine when one is configured, else podman's."""
        extra = self._connection_extra()
        if self._cluster_configured(extra):
            from conveyor.providers.kubernetes.cluster import ClusterEngine, load_client

            api = load_client(
                extra or {},
                config_file=self.config_file,
                in_cluster=self.in_cluster,
                cluster_context=self.cluster_context,
            )
            return ClusterEngine(api, startup_timeout=self.startup_timeout_seconds)
        from conveyor.providers.kubernetes.podman_kube import PodmanEngine

        _log.info("No kubernetes connection or kube config: running the pod with podman kube play")
        return PodmanEngine(startup_timeout=self.startup_timeout_seconds)

    def execute(self, context: dict[str, Any]) -> Any:
        self.pod = self.build_pod_request_obj(context)
        self._engine = engine = self.make_engine()
        name = self.pod.metadata.name
        _log.info("Starting pod %s (namespace %s)", name, self.pod.metadata.namespace)
        outcome: PodOutcome | None = None
        try:
            outcome = engine.run(self.pod, self._log_line if self.get_logs else None)
            self._check(outcome)
            if not self.do_xcom_push or outcome.xcom is None or not outcome.xcom.strip():
                return None
            try:
                return json.loads(outcome.xcom)
            except ValueError:
                raise TaskError(
                    f"pod {name}: /airflow/xcom/return.json is not JSON: {outcome.xcom[:200]!r}"
                ) from None
        finally:
            self._finish(engine, outcome)

    def _log_line(self, line: str) -> None:
        _log.info("[%s] %s", self.base_container_name, line)

    def _check(self, outcome: PodOutcome) -> None:
        name = self.pod.metadata.name
        if outcome.reason is not None:
            raise PodFailedError(f"Pod {name} did not run: {outcome.reason}")
        if outcome.exit_code in self.skip_on_exit_code:
            raise Skip(f"Pod {name} returned exit code {outcome.exit_code}. Skipping.")
        if outcome.exit_code != 0:
            tail = "\n".join(outcome.tail)
            said = f"; its log ends:\n{tail}" if tail else " with an empty log"
            raise PodFailedError(
                f"Pod {name} returned a failure: container {self.base_container_name!r} exited "
                f"with code {outcome.exit_code}{said}"
            )

    def _finish(self, engine: Any, outcome: PodOutcome | None) -> None:
        succeeded = (
            outcome is not None
            and outcome.reason is None
            and (outcome.exit_code == 0 or outcome.exit_code in self.skip_on_exit_code)
        )
        try:
            if self.on_finish_action == "delete_pod" or (
                self.on_finish_action == "delete_succeeded_pod" and succeeded
            ):
                _log.info("Deleting pod %s", self.pod.metadata.name)
                engine.delete(self.pod)
            else:
                _log.info(
                    "Keeping pod %s (on_finish_action=%s)",
                    self.pod.metadata.name,
                    self.on_finish_action,
                )
        finally:
            engine.close()

    def on_kill(self) -> None:
        if self._engine is not None and self.pod is not None:
            self._engine.delete(self.pod)

    def dry_run(self) -> None:
        """Print the pod this task would ask for, as YAML."""
        from conveyor.providers.kubernetes.podman_kube import pod_yaml

        print(pod_yaml(self.build_pod_request_obj()))


def _template_image(template: Any) -> str | None:
    """The image of a ``full_pod_spec``'s first container, if it names one."""
    containers = template.spec.containers if template is not None and template.spec else None
    return containers[0].image if containers else None
