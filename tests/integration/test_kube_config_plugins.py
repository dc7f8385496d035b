"""The attack: an admin of the web UI, with no shell on the workers, saved a ``kubernetes``
connection whose ``kube_config`` names an ``exec`` credential plugin; the kubernetes client
ran its command on the worker as soon as an op's ``KubernetesPodOperator`` loaded it. Now
such a kubeconfig is refused before the client sees it, unless the worker's own setting
allows plugins."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest

from conveyor import connections
from conveyor.config import load_config
from conveyor.exceptions import TaskError
from conveyor.providers.kubernetes.cluster import credential_plugins, load_client
from conveyor.store.engine import Store


def _kube_config(marker: Path) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
        "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "x",
        "users": [
            {
                "name": "u",
                "user": {
                    "exec": {
                        "apiVersion": "client.authentication.k8s.io/v1beta1",
                        "command": "sh",
                        "args": ["-c", f"touch {marker}; echo '{{}}'"],
                        "interactiveMode": "Never",
                    }
                },
            }
        ],
    }


def _load(tmp_path: Path, extra: dict[str, object], allow: bool) -> None:
    settings = load_config(
        {"CONVEYOR_HOME": str(tmp_path / "home")},
        kubernetes_allow_exec_plugins=allow,
    ).settings
    with connections.bind(Store("sqlite://"), settings):
        load_client(extra, config_file=None, in_cluster=None, cluster_context=None)


@pytest.mark.parametrize("spelling", ["object", "yaml text"])
def test_an_exec_plugin_in_a_connections_kube_config_never_runs(
    tmp_path: Path, spelling: str
) -> None:
    marker = tmp_path / "ran"
    config = _kube_config(marker)
    value: object = config if spelling == "object" else json.dumps(config)
    with pytest.raises(TaskError, match="exec plugin 'sh'") as refused:
        _load(tmp_path, {"kube_config": value}, allow=False)
    assert "CONVEYOR_KUBERNETES_ALLOW_EXEC_PLUGINS" in str(refused.value)
    assert not marker.exists()


def test_a_worker_that_allows_plugins_runs_them_as_before(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    # No cluster answers here; the plugin runs before any is asked.
    with contextlib.suppress(TaskError):
        _load(tmp_path, {"kube_config": _kube_config(marker)}, allow=True)
    assert marker.exists()


def test_auth_providers_are_found_too() -> None:
    text = json.dumps({"users": [{"name": "g", "user": {"auth-provider": {"name": "gcp"}}}]})
    assert credential_plugins(text) == ["user 'g': auth-provider 'gcp'"]
    assert credential_plugins("users: [{name: t, user: {token: abc}}]") == []
