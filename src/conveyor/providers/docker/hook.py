"""``DockerHook``: a client of a Docker-API engine, logged in to a registry when a ``docker``
connection is given, as Airflow's docker provider's.

The engine is ``docker_url`` when given, else ``DOCKER_HOST``, else the first socket of a
running service on this machine: Docker's ``/var/run/docker.sock``, then podman's
(``$XDG_RUNTIME_DIR/podman/podman.sock`` for a user, ``/run/podman/podman.sock`` for root).
A ``docker_url`` naming Docker's socket where there is none falls back to podman's.
The connection (type ``docker``) is the registry's, as in Airflow: host (and port), login,
password, and the extras ``email`` and ``reauth``. An engine that cannot be reached, or a
registry that refuses the login, fails with a ``TaskError`` naming the URL or the connection,
never the password.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from conveyor.connections import get_connection
from conveyor.exceptions import TaskError
from conveyor.providers._extras import load
from conveyor.providers._hook import HookNames, ProviderHook

docker = load("docker", "docker", "docker")

#: Where a Docker or podman service listens on this machine, in the order they are tried.
_DOCKER_SOCKET = "/var/run/docker.sock"
_ROOT_PODMAN_SOCKET = "/run/podman/podman.sock"
#: The API version to speak when none is given: the SDK asks the engine for its own.
AUTO = "auto"
#: The API version of the first question to an engine (/_ping answers in every version).
_PROBE_VERSION = "1.40"


def local_sockets() -> list[str]:
    """The sockets a local engine may listen on, Docker's first."""
    found = [_DOCKER_SOCKET]
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        found.append(str(Path(runtime) / "podman" / "podman.sock"))
    found.append(_ROOT_PODMAN_SOCKET)
    return found


def default_docker_url() -> str:
    """``DOCKER_HOST``, else the first local socket that exists, else Docker's usual one."""
    if os.environ.get("DOCKER_HOST"):
        return os.environ["DOCKER_HOST"]
    for socket in local_sockets():
        if Path(socket).is_socket():
            return f"unix://{socket}"
    return f"unix://{_DOCKER_SOCKET}"


def _socket_path(url: str) -> str:
    """The socket of a ``unix://`` URL; ``unix://var/run/docker.sock`` (two slashes, as Airflow
    spells its default) is absolute too, as the Docker SDK reads it."""
    return "/" + url.removeprefix("unix://").lstrip("/")


class DockerHook(ProviderHook):
    """A ``docker.APIClient`` of the engine at ``base_url``; logged in to the registry of
    ``docker_conn_id`` when one is given."""

    names = HookNames("docker_conn_id", "docker_default", "docker", "Docker")

    def __init__(
        self,
        docker_conn_id: str | None = None,
        base_url: str | list[str] | None = None,
        version: str | None = None,
        tls: Any = None,
        timeout: int = 60,
    ) -> None:
        self.docker_conn_id = docker_conn_id
        urls = [base_url] if isinstance(base_url, str) else list(base_url or [])
        self.base_urls = [u for u in urls if u] or [default_docker_url()]
        self.version = version or AUTO
        self.tls = tls
        self.timeout = timeout
        self._client: Any = None

    @property
    def client_created(self) -> bool:
        return self._client is not None

    @property
    def api_client(self) -> Any:
        return self.get_conn()

    def get_conn(self) -> Any:
        """A connected ``docker.APIClient`` (the first of ``base_url`` that answers)."""
        if self._client is not None:
            return self._client
        failures = []
        for url in self._candidates():
            if url.startswith("unix://") and not Path(_socket_path(url)).exists():
                failures.append(f"{url}: no such socket")
                continue
            # Asked first with a fixed API version, so that an engine that does not answer
            # leaves no open client behind; then the client speaks the version asked for.
            probe = self._api_client(url, _PROBE_VERSION)
            try:
                probe.ping()
            except (docker.errors.DockerException, OSError) as exc:
                failures.append(f"{url}: {exc}")
                continue
            finally:
                probe.close()
            client = self._api_client(url, self.version)
            self._login(client)
            self._client = client
            return client
        raise TaskError(
            "cannot reach a Docker engine ("
            + "; ".join(failures)
            + "); give docker_url, set DOCKER_HOST, or start one (podman system service)"
        )

    def _api_client(self, url: str, version: str) -> Any:
        return docker.APIClient(
            base_url=url, version=version, tls=self.tls or False, timeout=self.timeout
        )

    def _candidates(self) -> list[str]:
        """The URLs given; and, where one is Docker's usual socket, the local podman sockets
        after it (DAG files often name Docker's socket on machines that run podman)."""
        found = list(self.base_urls)
        if any(url.startswith("unix://") and _socket_path(url) == _DOCKER_SOCKET for url in found):
            found += [f"unix://{p}" for p in local_sockets()[1:] if Path(p).is_socket()]
        return found

    def _login(self, client: Any) -> None:
        """Log in to the connection's registry, as Airflow's hook does on connecting."""
        if not self.docker_conn_id:
            return
        conn = get_connection(self.docker_conn_id)
        name = f"docker connection {self.docker_conn_id!r}"
        if not conn.host:
            raise TaskError(f"{name}: no host (the registry to log in to)")
        if not conn.login:
            raise TaskError(f"{name}: no login (the registry's user)")
        registry = f"{conn.host}:{conn.port}" if conn.port else conn.host
        try:
            client.login(
                username=conn.login,
                password=conn.password,
                registry=registry,
                email=conn.extra_dejson.get("email") or None,
                reauth=str(conn.extra_dejson.get("reauth", "true")).lower() != "false",
            )
        except docker.errors.APIError as exc:
            reason = getattr(exc, "explanation", None) or type(exc).__name__
            raise TaskError(
                f"{name}: the registry {registry} refused the login: {reason}"
            ) from None
