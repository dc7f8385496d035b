"""The docker and cncf.kubernetes providers' parts that need no engine: every import path,
the missing-extra line, where ``DockerHook`` finds the engine, the operators' checks of their
arguments, and the pod ``KubernetesPodOperator`` builds (real ``kubernetes`` models, no
cluster)."""

from __future__ import annotations

import importlib
import logging
import socket
import sys
from pathlib import Path
from typing import Any

import pytest
from kubernetes.client import models as k8s

from airflow_hook_on import assert_paths_give
from conveyor.airflow_compat import AirflowNameError
from conveyor.airflow_compat.lint import check_source
from conveyor.exceptions import TaskError
from conveyor.providers.docker import hook as docker_hook
from conveyor.providers.docker.operator import DockerOperator, lines_of
from conveyor.providers.kubernetes import pod as pod_module
from conveyor.providers.kubernetes.operator import KubernetesPodOperator
from conveyor.providers.kubernetes.secret import Secret

AIRFLOW_PATHS: dict[str, dict[str, type]] = {
    "airflow.providers.docker.hooks.docker": {"DockerHook": docker_hook.DockerHook},
    "airflow.providers.docker.operators.docker": {"DockerOperator": DockerOperator},
    "airflow.hooks.docker_hook": {"DockerHook": docker_hook.DockerHook},
    "airflow.operators.docker_operator": {"DockerOperator": DockerOperator},
    "airflow.providers.cncf.kubernetes.operators.pod": {
        "KubernetesPodOperator": KubernetesPodOperator
    },
    "airflow.providers.cncf.kubernetes.operators.kubernetes_pod": {
        "KubernetesPodOperator": KubernetesPodOperator
    },
    "airflow.contrib.operators.kubernetes_pod_operator": {
        "KubernetesPodOperator": KubernetesPodOperator
    },
    "airflow.providers.cncf.kubernetes.secret": {"Secret": Secret},
    "airflow.kubernetes.secret": {"Secret": Secret},
    "airflow.contrib.kubernetes.secret": {"Secret": Secret},
}


def test_every_path_users_import_from_gives_conveyors_class(airflow_hook: None) -> None:
    assert_paths_give(AIRFLOW_PATHS)


@pytest.mark.parametrize(
    ("library", "modules", "source", "extra"),
    [
        (
            "docker",
            ["conveyor.providers.docker.hook", "conveyor.providers.docker.operator"],
            "from airflow.providers.docker.operators.docker import DockerOperator\n",
            "conveyor[docker]",
        ),
        (
            "kubernetes",
            [
                "conveyor.providers.kubernetes.pod",
                "conveyor.providers.kubernetes.secret",
                "conveyor.providers.kubernetes.operator",
            ],
            "from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator\n",
            "conveyor[kubernetes]",
        ),
    ],
)
def test_a_missing_library_fails_the_import_naming_the_extra(
    airflow_hook: None,
    monkeypatch: pytest.MonkeyPatch,
    library: str,
    modules: list[str],
    source: str,
    extra: str,
) -> None:
    # As if the library were not installed: Conveyor's modules are imported again without it.
    monkeypatch.setitem(sys.modules, library, None)
    for module in modules:
        monkeypatch.delitem(sys.modules, module, raising=False)
    module_name, _, name = source.removeprefix("from ").partition(" import ")
    with pytest.raises(AirflowNameError) as failed:
        getattr(importlib.import_module(module_name), name.strip())
    message = str(failed.value)
    assert "\n" not in message and name.strip() in message and extra in message, message
    found = check_source(source)
    assert len(found) == 1 and extra in found[0].message


# -- docker ------------------------------------------------------------------------------


def test_the_engine_is_docker_url_then_docker_host_then_a_local_socket(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DOCKER_HOST", "tcp://10.1.2.3:2375")
    assert docker_hook.DockerHook(base_url="unix:///given.sock").base_urls == ["unix:///given.sock"]
    assert docker_hook.DockerHook().base_urls == ["tcp://10.1.2.3:2375"]
    monkeypatch.delenv("DOCKER_HOST")
    monkeypatch.setattr(docker_hook, "_DOCKER_SOCKET", str(tmp_path / "no-docker.sock"))
    monkeypatch.setattr(docker_hook, "_ROOT_PODMAN_SOCKET", str(tmp_path / "no-podman.sock"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    # Nothing listens: Docker's usual socket, which the error will name.
    assert docker_hook.default_docker_url() == f"unix://{tmp_path / 'no-docker.sock'}"
    (tmp_path / "podman").mkdir()
    with socket.socket(socket.AF_UNIX) as listening:
        listening.bind(str(tmp_path / "podman" / "podman.sock"))
        assert docker_hook.default_docker_url() == f"unix://{tmp_path}/podman/podman.sock"


def test_an_engine_that_does_not_answer_fails_naming_its_url(tmp_path: Path) -> None:
    hook = docker_hook.DockerHook(base_url=f"unix://{tmp_path}/nothing.sock", timeout=5)
    with pytest.raises(TaskError, match=r"cannot reach a Docker engine \(unix://.*nothing\.sock"):
        hook.get_conn()


def test_docker_operator_arguments_read_as_airflows() -> None:
    assert DockerOperator(task_id="a", image="i").auto_remove == "never"
    assert DockerOperator(task_id="b", image="i", auto_remove=True).auto_remove == "success"
    assert DockerOperator(task_id="c", image="i", auto_remove="force").auto_remove == "force"
    with pytest.raises(TaskError, match="auto_remove must be one of never, success, force"):
        DockerOperator(task_id="d", image="i", auto_remove="always")
    assert DockerOperator.format_command("['sh', '-c', 'echo 1']") == ["sh", "-c", "echo 1"]
    assert DockerOperator.format_command("echo [1]") == "echo [1]"
    env = DockerOperator.unpack_environment_variables("# note\nA=1\n\nB = two=2\n")
    assert env == {"A": "1", "B": "two=2"}
    assert list(lines_of([b"on", b"e\ntw", "o\n", b"three"])) == ["one", "two", "three"]


class _EngineEndingTheStreamEarly:
    """A container engine whose follow stream ends before the container's last line (as
    podman's Docker API does now and then), while its whole log has every line."""

    def __init__(self, output: bytes, streamed: bytes) -> None:
        self.output, self.streamed = output, streamed
        self.removed: list[str] = []

    def create_host_config(self, **_: Any) -> dict[str, Any]:
        return {}

    def create_container(self, **_: Any) -> dict[str, str]:
        return {"Id": "c1"}

    def start(self, container_id: str) -> None: ...

    def logs(self, container_id: str, *, stream: bool, **_: Any) -> Any:
        return iter([self.streamed]) if stream else self.output

    def wait(self, container_id: str) -> dict[str, int]:
        return {"StatusCode": 0}

    def remove_container(self, container_id: str, force: bool) -> None:
        self.removed.append(container_id)


def test_the_xcom_is_the_containers_last_line_when_the_stream_ended_before_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="airflow.task.operators")
    engine = _EngineEndingTheStreamEarly(b"one\ntwo\n", streamed=b"one\n")
    last = DockerOperator(task_id="greet", image="i", auto_remove="success")
    assert last._run(engine, []) == "two"
    assert "two" in caplog.messages  # in the try's log too
    every = DockerOperator(task_id="all", image="i", xcom_all=True)
    assert every._run(engine, []) == ["one", "two"]
    assert engine.removed == ["c1"]
    # A whole log that does not go on from what was streamed is not taken over it.
    other = _EngineEndingTheStreamEarly(b"two\none\n", streamed=b"one\n")
    assert DockerOperator(task_id="odd", image="i")._run(other, []) == "one"


# -- kubernetes --------------------------------------------------------------------------


class _TI:
    dag_id, task_id, run_id, try_number, map_index = "my_dag", "my.task", "manual__2024:01", 2, -1


def _context() -> dict[str, Any]:
    return {"ti": _TI(), "run_id": _TI.run_id}


def test_the_pod_is_built_as_airflow_builds_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_KUBERNETES_DEFAULT", raising=False)
    task = KubernetesPodOperator(
        task_id="my.task",
        image="busybox",
        name="My_Pod",
        namespace="jobs",
        cmds=["sh", "-c"],
        arguments=["echo hi"],
        env_vars={"A": "1", "B": None},
        secrets=[
            Secret("env", "db_password", "db-secret", "password"),
            Secret("env", None, "all-of-it"),
            Secret("volume", "/etc/creds", "creds"),
        ],
        volumes=[k8s.V1Volume(name="data", empty_dir=k8s.V1EmptyDirVolumeSource())],
        volume_mounts=[k8s.V1VolumeMount(name="data", mount_path="/data")],
        container_resources=k8s.V1ResourceRequirements(limits={"memory": "64Mi"}),
        labels={"team": "data"},
        annotations={"a": "b"},
    )
    task.do_xcom_push = True
    pod = task.build_pod_request_obj(_context())
    assert pod.metadata.namespace == "jobs"
    # A given name is kept as it is (Airflow does not clean it), with a random suffix.
    assert pod.metadata.name.rsplit("-", 1)[0] == "My_Pod" and len(pod.metadata.name) == 15
    assert pod.metadata.annotations == {"a": "b"}
    labels = pod.metadata.labels
    assert labels["team"] == "data" and labels["dag_id"] == "my_dag" and labels["try_number"] == "2"
    assert labels["kubernetes_pod_operator"] == "True"
    # A run id with ":" is no label value: cleaned, with a hash so two never meet.
    assert ":" not in labels["run_id"] and labels["run_id"].startswith("manual__202401-")
    assert pod.spec.restart_policy == "Never"
    base, sidecar = pod.spec.containers
    assert (base.name, base.command, base.args) == ("base", ["sh", "-c"], ["echo hi"])
    assert [(e.name, e.value) for e in base.env[:2]] == [("A", "1"), ("B", None)]
    password = base.env[2]
    assert password.name == "DB_PASSWORD"
    assert password.value_from.secret_key_ref.to_dict() == {
        "name": "db-secret",
        "key": "password",
        "optional": None,
    }
    assert base.env_from[0].secret_ref.name == "all-of-it"
    assert base.resources.limits == {"memory": "64Mi"}
    mounts = {m.mount_path: m for m in base.volume_mounts}
    assert set(mounts) == {"/data", "/etc/creds", "/airflow/xcom"}
    assert mounts["/etc/creds"].read_only is True
    volumes = {v.name: v for v in pod.spec.volumes}
    assert volumes[mounts["/etc/creds"].name].secret.secret_name == "creds"
    assert volumes["xcom"].empty_dir is not None
    assert sidecar.name == "airflow-xcom-sidecar" and sidecar.volume_mounts[0].name == "xcom"


def test_pod_names_and_the_operators_defaults() -> None:
    task = KubernetesPodOperator(task_id="Load_Data.now", image="i")
    name = task.build_pod_request_obj().metadata.name
    assert name.startswith("load-data.now-") and len(name) == len("load-data.now-") + 8
    fixed = KubernetesPodOperator(task_id="t", image="i", name="fixed", random_name_suffix=False)
    assert fixed.build_pod_request_obj().metadata.name == "fixed"
    assert task.on_finish_action == "delete_pod" and task.get_logs is True
    kept = KubernetesPodOperator(task_id="k", image="i", is_delete_operator_pod=False)
    assert kept.on_finish_action == "keep_pod"
    with pytest.raises(TaskError, match="on_finish_action must be one of"):
        KubernetesPodOperator(task_id="x", image="i", on_finish_action="delete")
    long = pod_module.safe_label_value("x" * 80)
    assert len(long) <= 63
    with pytest.raises(TaskError, match="env_vars must be a dict or a list of V1EnvVar"):
        pod_module.env_vars_of(["A=1"])


def test_airflow_files_push_a_pods_xcom_only_when_asked(airflow_hook: None) -> None:
    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator as Kpo
    from airflow.providers.docker.operators.docker import DockerOperator as Docker

    assert Kpo(task_id="a", image="i").do_xcom_push is False
    assert Kpo(task_id="b", image="i", do_xcom_push=True).do_xcom_push is True
    assert Docker(task_id="c", image="i").do_xcom_push is True


def test_dockers_usual_socket_falls_back_to_podmans(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(docker_hook, "_DOCKER_SOCKET", "/var/run/no-docker-here.sock")
    monkeypatch.setattr(docker_hook, "_ROOT_PODMAN_SOCKET", str(tmp_path / "podman.sock"))
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    # Airflow's spelling of the default, two slashes: the same absolute socket.
    hook = docker_hook.DockerHook(base_url="unix://var/run/no-docker-here.sock")
    assert hook._candidates() == ["unix://var/run/no-docker-here.sock"]
    with socket.socket(socket.AF_UNIX) as listening:
        listening.bind(str(tmp_path / "podman.sock"))
        assert hook._candidates()[1:] == [f"unix://{tmp_path}/podman.sock"]


def test_full_pod_spec_is_the_base_the_operator_arguments_are_laid_over() -> None:
    from conveyor.providers.kubernetes.operator import KubernetesPodOperator

    spec = k8s.V1Pod(
        metadata=k8s.V1ObjectMeta(labels={"team": "data", "x": "spec"}, annotations={"a": "1"}),
        spec=k8s.V1PodSpec(
            containers=[
                k8s.V1Container(
                    name="main",
                    image="busybox",
                    command=["false"],
                    env=[k8s.V1EnvVar("FROM_SPEC", "1")],
                    working_dir="/work",
                ),
                k8s.V1Container(name="sidecar", image="alpine"),
            ],
            volumes=[k8s.V1Volume(name="spec-volume")],
            dns_policy="ClusterFirst",
        ),
    )
    operator = KubernetesPodOperator(
        task_id="t",
        full_pod_spec=spec,
        cmds=["sh", "-c", "env"],
        env_vars={"FROM_OP": "2"},
        labels={"x": "operator"},
        volumes=[k8s.V1Volume(name="op-volume")],
    )
    pod = operator.build_pod_request_obj({})
    base, sidecar = pod.spec.containers
    assert (base.name, base.image, base.command) == ("base", "busybox", ["sh", "-c", "env"])
    assert [e.name for e in base.env] == ["FROM_SPEC", "FROM_OP"]
    assert base.working_dir == "/work"
    assert (sidecar.name, sidecar.image) == ("sidecar", "alpine")
    assert [v.name for v in pod.spec.volumes] == ["spec-volume", "op-volume"]
    assert (pod.spec.dns_policy, pod.spec.restart_policy) == ("ClusterFirst", "Never")
    assert pod.metadata.labels["team"] == "data" and pod.metadata.labels["x"] == "operator"
    assert pod.metadata.annotations == {"a": "1"}
    assert spec.spec.containers[0].command == ["false"]  # the template is left as it was
    with pytest.raises(TaskError, match="full_pod_spec must be"):
        KubernetesPodOperator(task_id="u", image="x", full_pod_spec={"spec": {}})
