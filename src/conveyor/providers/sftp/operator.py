"""``SFTPOperator``: copy files to or from a server over SFTP, or delete them there.

``local_filepath`` and ``remote_filepath`` are one path each or lists of the same length,
paired in order; ``create_intermediate_dirs`` makes the missing folders on the receiving
side. ``delete`` removes remote files, and directories with all they hold; a path that is
not there is skipped with a warning, as in Airflow. The return value (the XCom) is
``local_filepath``, as in Airflow. A file that cannot be copied or deleted fails the try
naming the operation and the paths.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, ClassVar

from conveyor.exceptions import TaskError
from conveyor.model.task import BaseOperator
from conveyor.providers._fields import keep_fields
from conveyor.providers.sftp.hook import SFTPHook, SFTPOperation
from conveyor.providers.ssh.hook import SSHConnectionError, SSHHook

# Not a "conveyor.*" name: those records stay out of the try's log.
_log = logging.getLogger(f"airflow.task.operators.{__name__}")


def _paths(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


class SFTPOperator(BaseOperator):
    """Put, get or delete files on the server of ``ssh_conn_id`` (or ``sftp_hook``)."""

    template_fields: ClassVar[tuple[str, ...]] = (
        "local_filepath",
        "remote_filepath",
        "remote_host",
        "ssh_conn_id",
    )

    sftp_hook: SFTPHook | None
    ssh_conn_id: str | None
    remote_host: str | None
    local_filepath: str | list[str] | None
    remote_filepath: str | list[str]
    confirm: bool
    create_intermediate_dirs: bool

    def __init__(
        self,
        task_id: str,
        *,
        sftp_hook: SFTPHook | None = None,
        ssh_hook: SSHHook | None = None,
        ssh_conn_id: str | None = None,
        remote_host: str | None = None,
        local_filepath: str | list[str] | None = None,
        remote_filepath: str | list[str],
        operation: str = SFTPOperation.PUT,
        confirm: bool = True,
        create_intermediate_dirs: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        # Airflow's older operators took an SSHHook: its connection is what counts.
        if sftp_hook is None and ssh_hook is not None and not ssh_conn_id:
            ssh_conn_id = ssh_hook.ssh_conn_id
        keep_fields(self, SFTPOperator, locals())
        self.operation = str(getattr(operation, "value", operation)).lower()
        if self.operation not in {op.value for op in SFTPOperation}:
            raise TaskError(
                f"task {self.task_id!r}: unsupported operation {operation!r}, expected "
                "'get', 'put' or 'delete'"
            )

    def _hook(self) -> SFTPHook:
        if self.ssh_conn_id and not isinstance(self.sftp_hook, SFTPHook):
            self.sftp_hook = SFTPHook(
                ssh_conn_id=self.ssh_conn_id, remote_host=self.remote_host or ""
            )
        if self.sftp_hook is None:
            raise TaskError(f"task {self.task_id!r}: SFTPOperator needs sftp_hook or ssh_conn_id")
        if self.remote_host:
            self.sftp_hook.remote_host = self.remote_host
        return self.sftp_hook

    def execute(self, context: dict[str, Any]) -> str | list[str] | None:
        local, remote = _paths(self.local_filepath), _paths(self.remote_filepath)
        if self.operation == SFTPOperation.DELETE:
            if local:
                raise TaskError(f"task {self.task_id!r}: delete takes no local_filepath")
        elif len(local) != len(remote):
            raise TaskError(
                f"task {self.task_id!r}: {len(local)} paths in local_filepath != "
                f"{len(remote)} paths in remote_filepath"
            )
        hook = self._hook()
        with hook.get_managed_conn():
            for index, remote_path in enumerate(remote):
                local_path = local[index] if local else ""
                try:
                    self._transfer(hook, local_path, remote_path)
                except (OSError, TaskError) as exc:
                    if isinstance(exc, SSHConnectionError):
                        raise
                    raise TaskError(
                        f"task {self.task_id!r}: error while processing {self.operation.upper()} "
                        f"operation ({local_path or '-'} / {remote_path}): {exc}"
                    ) from exc
        return self.local_filepath

    def _transfer(self, hook: SFTPHook, local_path: str, remote_path: str) -> None:
        if self.operation == SFTPOperation.GET:
            if self.create_intermediate_dirs:
                Path(local_path).parent.mkdir(parents=True, exist_ok=True)
            _log.info("Starting to transfer from %s to %s", remote_path, local_path)
            hook.retrieve_file(remote_path, local_path)
        elif self.operation == SFTPOperation.PUT:
            if self.create_intermediate_dirs:
                hook.create_directory(os.path.dirname(remote_path))
            _log.info("Starting to transfer file from %s to %s", local_path, remote_path)
            hook.store_file(remote_path, local_path, confirm=self.confirm)
        elif hook.isdir(remote_path):
            _log.info("Deleting %s and all it holds", remote_path)
            hook.delete_directory(remote_path, include_files=True)
        elif hook.path_exists(remote_path):
            _log.info("Deleting %s", remote_path)
            hook.delete_file(remote_path)
        else:
            _log.warning("Remote file %s does not exist. Skipping delete.", remote_path)
