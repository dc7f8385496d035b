"""``Secret``: a Kubernetes secret given to a pod's containers, as environment variables or as
files, in Airflow's spelling (``Secret("env", "DB_PASSWORD", "db-secret", "password")``)."""

from __future__ import annotations

import copy
import uuid
from typing import Any

from conveyor.exceptions import DagDefinitionError
from conveyor.providers._extras import load

load("kubernetes", "kubernetes", "cncf.kubernetes")
from kubernetes.client import models as k8s  # noqa: E402


class Secret:
    """``deploy_type`` "env": the variable ``deploy_target`` holds ``key`` of the secret (or,
    with no target, every key becomes a variable); "volume": the secret's keys are files under
    the folder ``deploy_target``."""

    def __init__(
        self,
        deploy_type: str,
        deploy_target: str | None,
        secret: str,
        key: str | None = None,
        items: list[Any] | None = None,
    ) -> None:
        if deploy_type not in ("env", "volume"):
            raise DagDefinitionError(
                f"Secret: deploy_type must be 'env' or 'volume', got {deploy_type!r}"
            )
        if deploy_type == "volume" and not deploy_target:
            raise DagDefinitionError(
                f"Secret {secret!r}: a volume secret needs deploy_target (a folder)"
            )
        if key is not None and deploy_target is None:
            raise DagDefinitionError(
                f"Secret {secret!r}: a key needs deploy_target (where it goes)"
            )
        self.deploy_type = deploy_type
        # As in Airflow: an environment variable's name is upper-cased.
        if deploy_type == "env" and deploy_target:
            deploy_target = deploy_target.upper()
        self.deploy_target = deploy_target
        self.secret = secret
        self.key = key
        self.items = items or []
        self.secret_name = f"secretvol{uuid.uuid4().hex[:8]}"

    def to_env_secret(self) -> Any:
        return k8s.V1EnvVar(
            name=str(self.deploy_target),
            value_from=k8s.V1EnvVarSource(
                secret_key_ref=k8s.V1SecretKeySelector(name=self.secret, key=str(self.key))
            ),
        )

    def to_env_from_secret(self) -> Any:
        return k8s.V1EnvFromSource(secret_ref=k8s.V1SecretEnvSource(name=self.secret))

    def to_volume_secret(self) -> tuple[Any, Any]:
        volume = k8s.V1Volume(
            name=self.secret_name,
            secret=k8s.V1SecretVolumeSource(secret_name=self.secret, items=self.items or None),
        )
        mount = k8s.V1VolumeMount(
            mount_path=str(self.deploy_target), name=self.secret_name, read_only=True
        )
        return volume, mount

    def attach_to_pod(self, pod: Any) -> Any:
        """A copy of ``pod`` whose first container (and volumes) carry this secret."""
        pod = copy.deepcopy(pod)
        container = pod.spec.containers[0]
        if self.deploy_type == "volume":
            volume, mount = self.to_volume_secret()
            pod.spec.volumes = [*(pod.spec.volumes or []), volume]
            container.volume_mounts = [*(container.volume_mounts or []), mount]
        elif self.deploy_target and self.key:
            container.env = [*(container.env or []), self.to_env_secret()]
        else:
            container.env_from = [*(container.env_from or []), self.to_env_from_secret()]
        return pod

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return self._fields() == other._fields()

    def _fields(self) -> tuple[Any, ...]:
        return (self.deploy_type, self.deploy_target, self.secret, self.key, self.items)

    def __repr__(self) -> str:
        return f"Secret({self.deploy_type}, {self.deploy_target}, {self.secret}, {self.key})"
