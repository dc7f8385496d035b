"""Airflow's docker provider: ``DockerHook`` and ``DockerOperator``, on the Docker SDK (the
extra ``conveyor[docker]``).

``hook.py`` finds the engine (``docker_url``, ``DOCKER_HOST``, else the socket of a Docker
or podman service on this machine) and logs in to a registry from a ``docker`` connection;
``operator.py`` runs one container and streams its output into the try's log. Anything that
speaks the Docker API serves: podman's ``podman system service`` is how the tests run it.
"""

from __future__ import annotations

from conveyor.providers.declaration import (
    ConnectionType,
    FormField,
    Provider,
    hook_and_operator_paths,
    same_names,
)

_DOCKER_HOOK = same_names("conveyor.providers.docker.hook", "DockerHook")
_DOCKER_OPERATOR = same_names("conveyor.providers.docker.operator", "DockerOperator")

PROVIDER = Provider(
    name="docker",
    extra="docker",
    connection_types=(
        ConnectionType(
            "docker",
            "conveyor.providers.docker.hook:DockerHook",
            "Docker registry",
            fields=(FormField("host", "Registry", "registry.example.com"),),
            hidden=("port", "schema"),
            extras=(FormField("email", "Email", "ci@example.com"),),
        ),
    ),
    airflow_modules=hook_and_operator_paths(
        "docker", _DOCKER_HOOK, _DOCKER_OPERATOR, from_packages=False
    ),
)
