"""``SSHOperator``: run a command on a server over SSH, as Airflow's.

The command's stdout is the XCom, base64-encoded: what Airflow returns with
``enable_xcom_pickling`` off (its default, and Airflow 3's only way). Conveyor's XComs are
JSON, so the raw bytes are never pushed; ``base64.b64decode(ti.xcom_pull(...))`` reads it
back, as in Airflow. The exit status is pushed under the key ``ssh_exit``.
"""

from __future__ import annotations

import base64
from collections.abc import Container
from typing import Any, ClassVar

from conveyor.exceptions import Skip, TaskError
from conveyor.model.task import BaseOperator
from conveyor.operators.bash import skip_codes
from conveyor.providers._fields import keep_fields
from conveyor.providers.ssh.hook import NOTSET, SSHCommandError, SSHHook


class SSHOperator(BaseOperator):
    """Run ``command`` on a server over SSH (``ssh_conn_id`` or ``ssh_hook``). A non-zero exit
    fails the try (or skips it, for a status in ``skip_on_exit_code``); the XCom is the
    command's stdout, base64-encoded, as Airflow returns it with XCom pickling off."""

    template_fields: ClassVar[tuple[str, ...]] = (
        "command",
        "environment",
        "remote_host",
        "ssh_conn_id",
    )
    template_ext = (".sh", ".bash", ".csh", ".zsh", ".dash", ".ksh")

    ssh_conn_id: str | None
    remote_host: str | None
    command: str | None
    conn_timeout: int | None
    cmd_timeout: float | None
    environment: dict[str, str] | None
    get_pty: bool
    banner_timeout: float

    def __init__(
        self,
        task_id: str,
        *,
        ssh_hook: SSHHook | None = None,
        ssh_conn_id: str | None = None,
        remote_host: str | None = None,
        command: str | None = None,
        conn_timeout: int | None = None,
        cmd_timeout: float | None = NOTSET,
        environment: dict[str, str] | None = None,
        get_pty: bool = False,
        banner_timeout: float = 30.0,
        skip_on_exit_code: int | Container[int] | None = None,
        **kwargs: Any,
    ) -> None:
        # Airflow 1.10's and 2's older name of conn_timeout.
        timeout = kwargs.pop("timeout", None)
        conn_timeout = timeout if conn_timeout is None else conn_timeout
        super().__init__(task_id, **kwargs)
        self.ssh_hook = ssh_hook if isinstance(ssh_hook, SSHHook) else None
        keep_fields(self, SSHOperator, locals())
        self.skip_on_exit_code = skip_codes(skip_on_exit_code)

    @property
    def hook(self) -> SSHHook:
        """The hook given, else one made from ``ssh_conn_id`` (made once)."""
        if self.ssh_hook is None:
            if not self.ssh_conn_id:
                raise TaskError(f"task {self.task_id!r}: SSHOperator needs ssh_hook or ssh_conn_id")
            self.ssh_hook = SSHHook(
                ssh_conn_id=self.ssh_conn_id,
                remote_host=self.remote_host or "",
                conn_timeout=self.conn_timeout,
                cmd_timeout=self.cmd_timeout,
                banner_timeout=self.banner_timeout,
            )
        return self.ssh_hook

    def get_ssh_client(self) -> Any:
        """A connected ``paramiko.SSHClient`` (the caller closes it)."""
        return self.hook.get_conn()

    def raise_for_status(self, exit_status: int, stderr: bytes, context: Any = None) -> None:
        """Record ``ssh_exit`` in the XCom, then skip or fail as the status says."""
        if context and getattr(self, "do_xcom_push", True):
            context["ti"].xcom_push(key="ssh_exit", value=exit_status)
        if exit_status in self.skip_on_exit_code:
            raise Skip(f"SSH command returned exit code {exit_status}. Skipping.")
        if exit_status != 0:
            last = stderr.decode("utf-8", "replace").strip().splitlines()[-1:]
            said = f"; stderr ends: {last[0]}" if last else ""
            raise SSHCommandError(f"SSH operator error: exit status = {exit_status}{said}")

    def run_ssh_client_command(self, ssh_client: Any, command: str, context: Any = None) -> bytes:
        status, out, err = self.hook.exec_ssh_client_command(
            ssh_client,
            command,
            get_pty=self.get_pty,
            environment=self.environment,
            timeout=self.cmd_timeout,
        )
        self.raise_for_status(status, err, context=context)
        return out

    def execute(self, context: dict[str, Any]) -> str:
        if self.command is None:
            raise TaskError(f"task {self.task_id!r}: SSH operator error: no command given")
        if self.remote_host:
            self.hook.remote_host = self.remote_host
        # A command run with sudo needs a terminal for its prompt, as in Airflow.
        self.get_pty = self.command.startswith("sudo") or self.get_pty
        with self.get_ssh_client() as ssh_client:
            out = self.run_ssh_client_command(ssh_client, self.command, context=context)
        # Conveyor's XComs are JSON, so stdout goes as Airflow sends it without pickling.
        return base64.b64encode(out).decode("utf-8")

    def on_kill(self) -> None:
        if self.ssh_hook is not None and self.ssh_hook.client is not None:
            self.ssh_hook.client.close()
