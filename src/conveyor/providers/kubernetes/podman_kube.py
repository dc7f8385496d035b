"""A pod run on this machine with ``podman kube play``, where no cluster is configured.

The pod's YAML is the one the cluster would get (the client's own serialisation of the
``V1Pod``), with one change: the XCom volume is a folder of this machine instead of an
``emptyDir`` shared with a sidecar, so ``return.json`` is read from here once the base
container exits and no sidecar image is needed. podman names each container
``<pod>-<container>``; its log is followed with ``podman logs -f`` and its exit code read with
``podman wait``. ``delete`` removes the pod and its containers (``podman pod rm -f``).
Namespaces, node selection, tolerations, affinity and service accounts mean nothing here and
are ignored by podman.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from conveyor.exceptions import TaskError
from conveyor.providers.kubernetes.outcome import PodOutcome
from conveyor.providers.kubernetes.pod import SIDECAR_CONTAINER_NAME, XCOM_VOLUME, k8s

#: Seconds a podman command that only asks or removes may take.
_QUICK = 60


def podman_binary() -> str:
    found = shutil.which("podman")
    if found is None:
        raise TaskError(
            "KubernetesPodOperator: no kubernetes connection or kube config is configured, and "
            "podman, which runs the pod on this machine instead, is not installed"
        )
    return found


def pod_yaml(pod: Any) -> str:
    """The pod as the cluster's API would receive it, in YAML."""
    import yaml
    from kubernetes.client import ApiClient

    body = ApiClient().sanitize_for_serialization(pod)
    return str(yaml.safe_dump(body, sort_keys=False))


class PodmanEngine:
    """Runs pods with ``podman kube play``; one engine per try."""

    def __init__(self, startup_timeout: float = 120) -> None:
        self.podman = podman_binary()
        self.startup_timeout = startup_timeout
        self.folder = Path(tempfile.mkdtemp(prefix="conveyor-kube-"))

    def _podman(
        self, *args: str, timeout: float | None = _QUICK
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.podman, *args], capture_output=True, text=True, timeout=timeout, check=False
        )

    def _local_xcom(self, pod: Any) -> Path | None:
        """Swap the sidecar's shared volume for a folder here; the folder, or None."""
        volumes = pod.spec.volumes or []
        if not any(v.name == XCOM_VOLUME for v in volumes):
            return None
        folder = self.folder / "xcom"
        folder.mkdir()
        os.chmod(folder, 0o777)  # the image's user may not be root
        pod.spec.volumes = [
            k8s.V1Volume(name=XCOM_VOLUME, host_path=k8s.V1HostPathVolumeSource(path=str(folder)))
            if v.name == XCOM_VOLUME
            else v
            for v in volumes
        ]
        pod.spec.containers = [c for c in pod.spec.containers if c.name != SIDECAR_CONTAINER_NAME]
        return folder

    def run(self, pod: Any, on_line: Callable[[str], None] | None) -> PodOutcome:
        """Start the pod, follow its base container to its end (each log line to
        ``on_line`` when given), and return what it did."""
        name = pod.metadata.name
        base = pod.spec.containers[0].name
        xcom_folder = self._local_xcom(pod)
        spec = self.folder / "pod.yaml"
        spec.write_text(pod_yaml(pod))
        try:
            played = self._podman("kube", "play", str(spec), timeout=self.startup_timeout)
        except subprocess.TimeoutExpired:
            return PodOutcome(-1, reason=f"podman kube play did not start pod {name} in time")
        if played.returncode != 0:
            said = (played.stderr or played.stdout).strip().splitlines()[-5:]
            return PodOutcome(-1, reason="podman kube play failed: " + " / ".join(said))
        container = f"{name}-{base}"
        outcome = PodOutcome(0)
        if on_line is not None:
            self._follow(container, outcome, on_line)
        waited = self._podman("wait", container, timeout=None)
        try:
            outcome.exit_code = int(waited.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            outcome.exit_code = -1
            outcome.reason = f"podman wait {container}: {waited.stderr.strip()}"
        if on_line is None:
            tail = self._podman("logs", "--tail", str(outcome.tail.maxlen), container)
            outcome.tail.extend((tail.stdout + tail.stderr).splitlines())
        if xcom_folder is not None and (xcom_folder / "return.json").is_file():
            outcome.xcom = (xcom_folder / "return.json").read_text()
        return outcome

    def _follow(self, container: str, outcome: PodOutcome, on_line: Callable[[str], None]) -> None:
        with subprocess.Popen(
            [self.podman, "logs", "--follow", container],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        ) as follower:
            assert follower.stdout is not None
            for raw in follower.stdout:
                line = raw.rstrip("\n")
                outcome.tail.append(line)
                on_line(line)

    def describe(self, pod: Any) -> str:
        """The pod's containers and their states, for a failure's message."""
        listed = self._podman(
            "ps", "--all", "--filter", f"pod={pod.metadata.name}",
            "--format", "{{.Names}} {{.Status}}",
        )  # fmt: skip
        return json.dumps(listed.stdout.split("\n")[:-1])

    def delete(self, pod: Any) -> None:
        self._podman("pod", "rm", "--force", pod.metadata.name)

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
