"""``SFTPSensor``: wait for a file on a server over SFTP, as Airflow's.

Each poke asks the server of ``sftp_conn_id`` whether ``path`` is a file, or with
``file_pattern`` whether the directory ``path`` holds a name matching it (``fnmatch``);
``newer_than`` keeps only files changed at or after that time. With ``python_callable`` the
XCom is ``{"files_found": [...], "decorator_return_value": ...}``, as in Airflow. Works in
poke and reschedule modes like every Conveyor sensor.
"""

from __future__ import annotations

import datetime
import logging
import os
from collections.abc import Callable
from typing import Any, ClassVar

from conveyor.providers._fields import keep_fields
from conveyor.providers.sftp.hook import SFTPHook
from conveyor.sensors.base import BaseSensor, PokeReturnValue

# Not a "conveyor.*" name: those records stay out of the try's log.
_log = logging.getLogger(f"airflow.task.sensors.{__name__}")


def _as_utc(value: datetime.datetime | str) -> datetime.datetime:
    """``newer_than`` as an aware UTC time (a naive one is UTC, as Airflow reads it)."""
    when = datetime.datetime.fromisoformat(value) if isinstance(value, str) else value
    if when.tzinfo is None:
        return when.replace(tzinfo=datetime.UTC)
    return when.astimezone(datetime.UTC)


class SFTPSensor(BaseSensor):
    """Wait until ``path`` (or a file in it matching ``file_pattern``) is on the server."""

    template_fields: ClassVar[tuple[str, ...]] = (
        "path",
        "file_pattern",
        "newer_than",
        "sftp_conn_id",
    )

    path: str
    file_pattern: str
    newer_than: datetime.datetime | str | None
    sftp_conn_id: str
    python_callable: Callable[..., Any] | None

    def __init__(
        self,
        task_id: str,
        *,
        path: str,
        file_pattern: str = "",
        newer_than: datetime.datetime | str | None = None,
        sftp_conn_id: str = "sftp_default",
        python_callable: Callable[..., Any] | None = None,
        op_args: list[Any] | None = None,
        op_kwargs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.pop("use_managed_conn", None)  # each poke opens and closes its own connection
        super().__init__(task_id, **kwargs)
        keep_fields(self, SFTPSensor, locals())
        self.op_args = list(op_args or [])
        self.op_kwargs = dict(op_kwargs or {})

    def _candidates(self, hook: SFTPHook) -> list[str]:
        if self.file_pattern:
            names = hook.get_files_by_pattern(self.path, self.file_pattern)
            return [os.path.join(self.path, name) for name in names]
        return [self.path] if hook.isfile(self.path) else []

    def _new_enough(self, hook: SFTPHook, path: str) -> bool:
        if self.newer_than is None:
            return True
        changed = datetime.datetime.strptime(hook.get_mod_time(path), "%Y%m%d%H%M%S")
        # get_mod_time gives the worker's local time, as Airflow's does.
        changed_utc = changed.astimezone(datetime.UTC)
        _log.info("Found File %s last modified: %s", path, changed_utc)
        return _as_utc(self.newer_than) <= changed_utc

    def poke(self, context: dict[str, Any]) -> PokeReturnValue | bool:
        hook = SFTPHook(self.sftp_conn_id)
        print(f"Poking for {self.path}, with pattern {self.file_pattern}", flush=True)
        with hook.get_managed_conn():
            found = [p for p in self._candidates(hook) if self._new_enough(hook, p)]
        if not found:
            return False
        if self.python_callable is None:
            return True
        if self.op_kwargs:
            self.op_kwargs["files_found"] = found
        returned = self.python_callable(*self.op_args, **self.op_kwargs)
        return PokeReturnValue(
            is_done=True,
            xcom_value={"files_found": found, "decorator_return_value": returned},
        )
