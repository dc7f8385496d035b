"""``BaseSensor``: a task that waits for a condition, poking every ``poke_interval``.

In ``poke`` mode the try loops in its own process (and holds its slot). In ``reschedule``
mode each try pokes once; if the condition is not met it ends as ``up_for_reschedule``,
which frees the slot, and the scheduler starts the next poke after ``poke_interval``. A
poke is numbered as a try but does not use up a retry. ``timeout`` counts from the first
poke, across reschedules; past it the sensor fails, or is skipped with ``soft_fail``.

``deferrable=True``: a sensor that has a trigger for its condition (:meth:`trigger_for`:
the time sensors, ``FileSensor``) pokes once, then defers to the trigger, which a triggerer
runs without holding any slot (``engine/deferral.py``); on its event the sensor pokes once
more for its return value. A sensor with no trigger runs in reschedule mode instead.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from conveyor.clock import utcnow
from conveyor.exceptions import DagDefinitionError, Fail, Reschedule, Skip, TaskError
from conveyor.model.task import BaseOperator, _as_timedelta

MODES = ("poke", "reschedule")


class SensorTimeout(TaskError, Fail):
    """The condition was not met within the sensor's timeout. A ``Fail``: the try fails
    without its remaining retries, as Airflow's ``AirflowSensorTimeout`` (also when a task
    raises it itself), and ``except AirflowException`` catches it."""


class PokeReturnValue:
    """What ``poke`` may return to say whether it is done and what the task's XCom is."""

    def __init__(self, is_done: bool, xcom_value: Any = None) -> None:
        self.is_done = bool(is_done)
        self.xcom_value = xcom_value

    def __bool__(self) -> bool:
        return self.is_done


class BaseSensor(BaseOperator):
    """Subclasses implement :meth:`poke`, returning True once the condition holds.

    ``poke`` may also return a non-boolean truthy value: it becomes the task's XCom (or a
    :class:`PokeReturnValue`). ``deferrable=True``: see the module's description.
    """

    ui_color = "#e6f1f2"

    def __init__(
        self,
        task_id: str,
        *,
        poke_interval: timedelta | float = 60,
        timeout: timedelta | float = timedelta(days=7),
        soft_fail: bool = False,
        mode: str = "poke",
        deferrable: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        self.deferrable = bool(deferrable)
        if deferrable:
            # Without a trigger, waits without holding a slot, which is what deferring buys.
            mode = "reschedule"
        interval = _as_timedelta(poke_interval, f"task {self.task_id!r}: poke_interval")
        limit = _as_timedelta(timeout, f"task {self.task_id!r}: timeout")
        if interval is None or interval.total_seconds() < 0:
            raise DagDefinitionError(f"task {self.task_id!r}: poke_interval must be >= 0")
        if limit is None:
            raise DagDefinitionError(f"task {self.task_id!r}: timeout is required")
        if mode not in MODES:
            raise DagDefinitionError(
                f"task {self.task_id!r}: mode must be one of {', '.join(MODES)}, got {mode!r}"
            )
        self.poke_interval = interval
        self.timeout = limit
        self.soft_fail = bool(soft_fail)
        self.mode = mode

    def poke(self, context: dict[str, Any]) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not implement poke()")

    def trigger_for(self, context: dict[str, Any]) -> Any:
        """The trigger that fires once the condition may hold (None: this sensor has none)."""
        return None

    def execute(self, context: dict[str, Any]) -> Any:
        if self.deferrable:
            trigger = self.trigger_for(context)
            if trigger is not None:
                done, value = self._poked(context)
                if done:
                    return value
                self.defer(trigger=trigger, method_name="execute_complete", timeout=self.timeout)
        return self._wait(context)

    def execute_complete(self, context: dict[str, Any], event: Any = None) -> Any:
        """Where a deferred sensor resumes: its trigger fired; one more poke gives the value."""
        done, value = self._poked(context)
        if not done:
            print(f"[conveyor] {self.task_id}: the trigger fired ({event!r})", flush=True)
        return value

    def _poked(self, context: dict[str, Any]) -> tuple[bool, Any]:
        result = self.poke(context)
        if isinstance(result, PokeReturnValue):
            return result.is_done, result.xcom_value
        return bool(result), None if result is True or not result else result

    def _wait(self, context: dict[str, Any]) -> Any:
        started = context["ti"].first_poke_time() if self.mode == "reschedule" else utcnow()
        while True:
            result = self.poke(context)
            if isinstance(result, PokeReturnValue):
                if result.is_done:
                    return result.xcom_value
            elif result:
                return None if result is True else result
            waited = utcnow() - started
            if waited >= self.timeout:
                message = (
                    f"sensor {self.task_id!r} timed out: condition not met after "
                    f"{waited.total_seconds():.0f}s (timeout {self.timeout.total_seconds():g}s)"
                )
                if self.soft_fail:
                    raise Skip(message)
                raise SensorTimeout(message)
            print(
                f"[conveyor] {self.task_id}: condition not met; poking again in "
                f"{self.poke_interval.total_seconds():g}s",
                flush=True,
            )
            if self.mode == "reschedule":
                raise Reschedule(utcnow() + self.poke_interval)
            time.sleep(self.poke_interval.total_seconds())
