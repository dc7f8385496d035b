"""``DockerOperator``: run a command in a container of a Docker-API engine, as Airflow's.

The container's output (stdout and stderr, as the engine interleaves them) goes into the try's
log line by line as it comes. The XCom is its last line, or every line with ``xcom_all``; a
non-zero exit fails the try with the end of the output in the message (or skips it, for a
status in ``skip_on_exit_code``). ``auto_remove`` is Airflow's: ``"never"`` keeps the
container, ``"success"`` removes it when it exited 0, ``"force"`` removes it whatever
happened. With ``mount_tmp_dir`` (the default) a fresh folder of this machine is bound at
``tmp_dir`` and named by ``AIRFLOW_TMP_DIR`` inside; an engine on another machine cannot
bind it, and the container then runs without it, as in Airflow.
"""

from __future__ import annotations

import ast
import logging
import tempfile
from collections.abc import Container, Iterable, Iterator
from typing import Any, ClassVar

from conveyor.exceptions import AirflowException, Skip, TaskError
from conveyor.model.task import BaseOperator
from conveyor.operators.bash import skip_codes
from conveyor.providers._fields import keep_fields
from conveyor.providers.docker.hook import DockerHook, docker

_log = logging.getLogger(f"airflow.task.operators.{__name__}")

AUTO_REMOVE = ("never", "success", "force")
#: Lines of output a failure's message ends with.
TAIL_LINES = 20


class DockerContainerFailedError(TaskError, AirflowException):
    """The container exited with a status other than 0; ``logs`` holds its output lines. An
    ``AirflowException``, as Airflow's ``DockerContainerFailedException``."""

    def __init__(self, message: str | None = None, logs: list[str] | None = None) -> None:
        super().__init__(message)
        self.logs = logs


def lines_of(chunks: Iterable[bytes | str]) -> Iterator[str]:
    """Whole lines out of a stream of chunks (a line may be cut across two)."""
    pending = ""
    for chunk in chunks:
        pending += chunk.decode("utf-8", "replace") if isinstance(chunk, bytes) else chunk
        *whole, pending = pending.split("\n")
        for line in whole:
            yield line.rstrip()
    if pending:
        yield pending.rstrip()


def _whole_output(cli: Any, container_id: str, streamed: list[str]) -> list[str]:
    """The exited container's output: what the follow stream gave, and the lines it ended
    before (podman's Docker API ends the stream now and then before the last lines reach it,
    and the XCom is the last line), logged now."""
    whole = list(lines_of([cli.logs(container_id, stdout=True, stderr=True, stream=False)]))
    if len(whole) <= len(streamed) or whole[: len(streamed)] != streamed:
        return streamed
    for line in whole[len(streamed) :]:
        _log.info("%s", line)
    return whole


def _auto_remove(value: Any, task_id: str) -> str:
    # Airflow before provider 3.0 took a bool: True removed the container once it exited.
    if value is True:
        return "success"
    if value is False or value is None:
        return "never"
    if value not in AUTO_REMOVE:
        raise TaskError(
            f"task {task_id!r}: auto_remove must be one of {', '.join(AUTO_REMOVE)}, got {value!r}"
        )
    return str(value)


class DockerOperator(BaseOperator):
    """Run ``command`` in a container of ``image`` on a Docker-API engine (``docker_url``,
    else ``DOCKER_HOST``, else a local Docker or podman socket)."""

    template_fields: ClassVar[tuple[str, ...]] = (
        "image",
        "command",
        "environment",
        "env_file",
        "container_name",
        # A Mount is a dict: rendering gives back a plain dict in the API's spelling, which
        # the SDK takes as it is.
        "mounts",
        "docker_conn_id",
    )
    template_ext = (".sh", ".bash", ".env")

    image: str
    api_version: str | None
    command: str | list[str] | None
    container_name: str | None
    cpus: float
    docker_url: str | list[str] | None
    env_file: str | None
    force_pull: bool
    mem_limit: float | str | None
    host_tmp_dir: str | None
    network_mode: str | None
    tls_ssl_version: str | None
    mount_tmp_dir: bool
    tmp_dir: str
    user: str | int | None
    entrypoint: str | list[str] | None
    working_dir: str | None
    xcom_all: bool
    docker_conn_id: str | None
    dns: list[str] | None
    dns_search: list[str] | None
    shm_size: int | None
    tty: bool
    hostname: str | None
    privileged: bool
    cap_add: Iterable[str] | None
    extra_hosts: dict[str, str] | None
    timeout: int
    ulimits: list[Any] | None
    labels: dict[str, str] | list[str] | None
    ipc_mode: str | None

    def __init__(
        self,
        task_id: str,
        *,
        image: str,
        api_version: str | None = None,
        command: str | list[str] | None = None,
        container_name: str | None = None,
        cpus: float = 1.0,
        docker_url: str | list[str] | None = None,
        environment: dict[str, Any] | None = None,
        private_environment: dict[str, Any] | None = None,
        env_file: str | None = None,
        force_pull: bool = False,
        mem_limit: float | str | None = None,
        host_tmp_dir: str | None = None,
        network_mode: str | None = None,
        tls_ca_cert: str | None = None,
        tls_client_cert: str | None = None,
        tls_client_key: str | None = None,
        tls_verify: bool = True,
        tls_hostname: str | bool | None = None,
        tls_ssl_version: str | None = None,
        mount_tmp_dir: bool = True,
        tmp_dir: str = "/tmp/airflow",
        user: str | int | None = None,
        mounts: list[Any] | None = None,
        entrypoint: str | list[str] | None = None,
        working_dir: str | None = None,
        xcom_all: bool = False,
        docker_conn_id: str | None = None,
        dns: list[str] | None = None,
        dns_search: list[str] | None = None,
        auto_remove: str | bool = "never",
        shm_size: int | None = None,
        tty: bool = False,
        hostname: str | None = None,
        privileged: bool = False,
        cap_add: Iterable[str] | None = None,
        extra_hosts: dict[str, str] | None = None,
        timeout: int = 60,
        skip_on_exit_code: int | Container[int] | None = None,
        port_bindings: dict[Any, Any] | None = None,
        ulimits: list[Any] | None = None,
        labels: dict[str, str] | list[str] | None = None,
        ipc_mode: str | None = None,
        **kwargs: Any,
    ) -> None:
        # Airflow 1.10's spelling of skip_on_exit_code, and options Conveyor does not carry
        # out: refused when the task runs, so the DAG file loads as on Airflow.
        skip = kwargs.pop("skip_exit_code", None)
        for ignored in ("retrieve_output", "retrieve_output_path", "device_requests"):
            if kwargs.pop(ignored, None):
                self.refuse_when_run(f"task {task_id!r}: DockerOperator does not support {ignored}")
        for display in ("log_opts_max_size", "log_opts_max_file"):
            kwargs.pop(display, None)
        super().__init__(task_id, **kwargs)
        keep_fields(self, DockerOperator, locals())
        self.environment = dict(environment or {})
        self.private_environment = dict(private_environment or {})
        self.tls = (tls_ca_cert, tls_client_cert, tls_client_key, tls_verify, tls_hostname)
        self.mounts = list(mounts or [])
        self.auto_remove = _auto_remove(auto_remove, task_id)
        self.skip_on_exit_code = skip_codes(
            skip_on_exit_code if skip_on_exit_code is not None else skip
        )
        self.port_bindings = port_bindings or {}
        self.container: dict[str, Any] | None = None
        self._hook: DockerHook | None = None

    # -- the engine ------------------------------------------------------------------------

    @property
    def hook(self) -> DockerHook:
        if self._hook is None:
            self._hook = DockerHook(
                docker_conn_id=self.docker_conn_id,
                base_url=self.docker_url,
                version=self.api_version,
                tls=self._tls_config(),
                timeout=self.timeout,
            )
        return self._hook

    def get_hook(self) -> DockerHook:
        return self.hook

    @property
    def cli(self) -> Any:
        """The ``docker.APIClient`` the container runs on."""
        return self.hook.get_conn()

    def _tls_config(self) -> Any:
        ca_cert, client_cert, client_key, verify, hostname = self.tls
        if not (ca_cert or client_cert or client_key):
            return None
        return docker.tls.TLSConfig(
            ca_cert=ca_cert,
            client_cert=(client_cert, client_key) if client_cert and client_key else None,
            verify=verify,
            assert_hostname=hostname,
        )

    # -- running ---------------------------------------------------------------------------

    def execute(self, context: dict[str, Any]) -> list[str] | str | None:
        self.mounts = [m if isinstance(m, docker.types.Mount) else _mount(m) for m in self.mounts]
        cli = self.cli
        if self.force_pull or not cli.images(name=self.image):
            self._pull(cli)
        if not self.mount_tmp_dir:
            return self._run(cli, self.mounts)
        with tempfile.TemporaryDirectory(prefix="airflowtmp", dir=self.host_tmp_dir) as host_dir:
            tmp_mount = docker.types.Mount(self.tmp_dir, host_dir, "bind")
            try:
                return self._run(cli, [*self.mounts, tmp_mount], tmp=True)
            except docker.errors.APIError as exc:
                if host_dir not in str(exc):
                    raise
                # A remote engine cannot bind this machine's folder: run without it.
                _log.warning(
                    "The engine cannot mount %s; running without %s", host_dir, self.tmp_dir
                )
                return self._run(cli, self.mounts)

    def _pull(self, cli: Any) -> None:
        _log.info("Pulling image %s", self.image)
        try:
            for event in cli.pull(self.image, stream=True, decode=True):
                if isinstance(event, dict) and event.get("status") and "id" not in event:
                    _log.info("%s", event["status"])
        except docker.errors.APIError as exc:
            raise TaskError(
                f"task {self.task_id!r}: image {self.image!r} is not on the engine and cannot be "
                f"pulled: {getattr(exc, 'explanation', None) or exc}"
            ) from None

    def _environment(self, tmp: bool) -> dict[str, Any]:
        from_file = self.unpack_environment_variables(self.env_file) if self.env_file else {}
        env = {**from_file, **self.environment, **self.private_environment}
        if tmp:
            env["AIRFLOW_TMP_DIR"] = self.tmp_dir
        return env

    def _create(self, cli: Any, mounts: list[Any], tmp: bool) -> dict[str, Any]:
        host_config = cli.create_host_config(
            auto_remove=False,  # removed by this operator, so the exit status can be read
            mounts=mounts,
            network_mode=self.network_mode,
            shm_size=self.shm_size,
            dns=self.dns,
            dns_search=self.dns_search,
            cpu_shares=round(self.cpus * 1024),
            port_bindings=self.port_bindings,
            mem_limit=self.mem_limit,
            cap_add=self.cap_add,
            extra_hosts=self.extra_hosts,
            privileged=self.privileged,
            ipc_mode=self.ipc_mode,
            ulimits=self.ulimits,
        )
        try:
            created: dict[str, Any] = cli.create_container(
                image=self.image,
                command=self.format_command(self.command),
                name=self.container_name,
                environment=self._environment(tmp),
                ports=list(self.port_bindings),
                host_config=host_config,
                user=self.user,
                entrypoint=self.format_command(self.entrypoint),
                working_dir=self.working_dir,
                tty=self.tty,
                hostname=self.hostname,
                labels=self.labels,
            )
        except docker.errors.ImageNotFound:
            raise TaskError(f"task {self.task_id!r}: image {self.image!r} not found") from None
        return created

    def _run(self, cli: Any, mounts: list[Any], tmp: bool = False) -> list[str] | str | None:
        self.container = self._create(cli, mounts, tmp)
        container_id = self.container["Id"]
        exited_ok = False
        try:
            cli.start(container_id)
            # Followed from the start: every line goes to the try's log as the engine sends it.
            stream = cli.logs(container_id, stdout=True, stderr=True, stream=True, follow=True)
            log_lines = []
            for line in lines_of(stream):
                _log.info("%s", line)
                log_lines.append(line)
            status = int(cli.wait(container_id)["StatusCode"])
            log_lines = _whole_output(cli, container_id, log_lines)
            exited_ok = status == 0
            self._check_status(status, log_lines)
            if not getattr(self, "do_xcom_push", True) or not log_lines:
                return None
            return log_lines if self.xcom_all else log_lines[-1]
        finally:
            if self.auto_remove == "force" or (self.auto_remove == "success" and exited_ok):
                cli.remove_container(container_id, force=True)

    def _check_status(self, status: int, log_lines: list[str]) -> None:
        if status in self.skip_on_exit_code:
            raise Skip(f"Docker container returned exit code {status}. Skipping.")
        if status != 0:
            tail = "\n".join(log_lines[-TAIL_LINES:])
            said = f"; its output ends:\n{tail}" if tail else " with no output"
            raise DockerContainerFailedError(
                f"Docker container failed: exit code {status}{said}", logs=log_lines
            )

    @staticmethod
    def format_command(command: str | list[str] | None) -> str | list[str] | None:
        """A command given as the text of a list (``"['sh', '-c', 'x']"``, as a template
        renders one) is that list; any other text is the shell words of one command."""
        if isinstance(command, str) and command.strip().startswith("["):
            parsed = ast.literal_eval(command)
            if isinstance(parsed, list):
                return [str(word) for word in parsed]
        return command

    @staticmethod
    def unpack_environment_variables(env_str: str) -> dict[str, str]:
        """``KEY=value`` lines (a rendered ``.env`` file): comments and blank lines skipped."""
        found = {}
        for line in env_str.splitlines():
            line = line.strip()
            if not line or line.startswith("#") or "=" not in line:
                continue
            key, _, value = line.partition("=")
            found[key.strip()] = value.strip()
        return found

    def on_kill(self) -> None:
        if self.container is None or self._hook is None or not self._hook.client_created:
            return
        cli = self.cli
        try:
            cli.stop(self.container["Id"])
            if self.auto_remove == "force":
                cli.remove_container(self.container["Id"], force=True)
        except docker.errors.APIError as exc:
            _log.info("The container could not be stopped or removed: %s", exc)


def _mount(value: Any) -> Any:
    """A mount given as a dict: ``{"target": ..., "source": ..., "type": "bind"}``, or the
    API's own spelling (``Target``, ``Source``...), which the SDK takes as it is."""
    if isinstance(value, dict) and "Target" in value:
        return value
    if isinstance(value, dict):
        return docker.types.Mount(**value)
    raise TaskError(f"a mount must be a docker.types.Mount or a dict, got {value!r}")
