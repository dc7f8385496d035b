"""Airflow's common.sql ``SqlSensor``: poke a query until its first row says done.

Each poke runs ``sql`` through the connection's hook (``get_records``). No rows: not done,
or a failure with ``fail_on_empty``. Otherwise ``selector`` picks a value from the first row
(its first cell by default); ``failure(value)`` true fails the sensor, ``success(value)``
decides when given, else the value's truth does (``0``, ``""``, ``None`` are not done). A failure
fails the try and retries apply, as in Airflow.
Works in poke and reschedule modes like every Conveyor sensor.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from operator import itemgetter
from typing import Any, ClassVar

from conveyor.exceptions import TaskError
from conveyor.providers import registry
from conveyor.providers._fields import keep_fields
from conveyor.sensors.base import BaseSensor


class SqlSensor(BaseSensor):
    """Wait until ``sql`` on ``conn_id`` returns a row whose selected value is done."""

    template_fields: ClassVar[tuple[str, ...]] = ("sql", "hook_params", "parameters", "conn_id")
    template_ext = (".hql", ".sql")
    ui_color = "#7c7287"

    conn_id: str
    sql: str
    parameters: Mapping[str, Any] | list[Any] | tuple[Any, ...] | None
    success: Callable[[Any], bool] | None
    failure: Callable[[Any], bool] | None
    selector: Callable[[Any], Any]
    fail_on_empty: bool

    def __init__(
        self,
        task_id: str,
        *,
        conn_id: str,
        sql: str,
        parameters: Mapping[str, Any] | list[Any] | tuple[Any, ...] | None = None,
        success: Callable[[Any], bool] | None = None,
        failure: Callable[[Any], bool] | None = None,
        selector: Callable[[Any], Any] = itemgetter(0),
        fail_on_empty: bool = False,
        hook_params: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        for name, given in (("success", success), ("failure", failure)):
            if given is not None and not callable(given):
                raise TaskError(f"task {self.task_id!r}: {name}= must be callable, got {given!r}")
        keep_fields(self, SqlSensor, locals())
        self.hook_params = dict(hook_params or {})

    def poke(self, context: dict[str, Any]) -> bool:
        hook = registry.get_hook(self.conn_id, self.hook_params)
        print(f"Poking: {self.sql} (with parameters {self.parameters})", flush=True)
        records = hook.get_records(self.sql, self.parameters)
        if not records:
            if self.fail_on_empty:
                raise TaskError(
                    f"task {self.task_id!r}: No rows returned, raising as per fail_on_empty flag"
                )
            return False
        value = self.selector(records[0])
        if self.failure is not None and self.failure(value):
            raise TaskError(
                f"task {self.task_id!r}: Failure criteria met. "
                f"self.failure({value!r}) returned True"
            )
        if self.success is not None:
            return bool(self.success(value))
        return bool(value)
