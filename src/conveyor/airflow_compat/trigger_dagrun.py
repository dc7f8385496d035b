"""Airflow's ``TriggerDagRunOperator``: Conveyor's, with Airflow's run id and logical date.

Without ``trigger_run_id`` each try triggers a run of its own, ``manual__<logical date>``,
the logical date being now unless ``logical_date`` is given, as Airflow's operator does: a
retry starts a second run. A triggered run that ends in ``failed_states`` fails the try as
an error its retries answer. A run of the id that exists (a ``trigger_run_id`` or a
``logical_date`` an earlier try used too) is Airflow's ``DagRunAlreadyExists`` for a retry as
for anyone: ``reset_dag_run`` or ``skip_when_already_exists`` say what happens, else the task
fails without retrying, as on Airflow 3. The triggered run's id is pushed as the XCom
``trigger_run_id``, as Airflow pushes it. Conveyor's own operator
(``conveyor.operators.trigger_dagrun``) keeps one run per task instance instead.

Airflow 1.10's ``python_callable(context, dag_run_obj)`` is called with a
:class:`DagRunOrder` (the run id, ``trig__<logical date>``, and the payload, the conf): the
run it returns is triggered, with its payload as the conf; returning nothing triggers no run
and the task succeeds, as 1.10's did ("criteria not met").
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar

from conveyor.clock import utcnow
from conveyor.exceptions import Fail
from conveyor.operators import trigger_dagrun

#: The XCom key Airflow's operator pushes the triggered run's id under.
TRIGGER_RUN_ID_KEY = "trigger_run_id"


class DagRunOrder:
    """Airflow 1.10's run to trigger, as its ``python_callable`` receives and returns it."""

    def __init__(self, run_id: str | None = None, payload: Any = None) -> None:
        self.run_id = run_id
        self.payload = payload


class TriggerDagRunOperator(trigger_dagrun.TriggerDagRunOperator):
    """``TriggerDagRunOperator`` as Airflow's files mean it: a new run per try."""

    retry_finds_its_run: ClassVar[bool] = False
    failed_run_is_final: ClassVar[bool] = False  # Airflow retries a failed triggered run
    taken_run_id_is_final: ClassVar[bool] = True  # Airflow 3 fails it without retries

    def __init__(
        self,
        task_id: str,
        *,
        python_callable: Callable[[dict[str, Any], DagRunOrder], Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        self.python_callable = python_callable

    def execute(self, context: dict[str, Any]) -> Any:
        if self.python_callable is None:
            made = super().execute(context)
        else:
            made = self._ordered(context, self.python_callable)
            if made is None:
                return None
        # Airflow's key for the run it triggered (its extra link reads it; DAG files too).
        context["ti"].xcom_push(TRIGGER_RUN_ID_KEY, made["run_id"])
        return made

    def _ordered(
        self,
        context: dict[str, Any],
        python_callable: Callable[[dict[str, Any], DagRunOrder], Any],
    ) -> dict[str, Any] | None:
        """Airflow 1.10's way: the callable decides whether to trigger, the run id and conf."""
        logical_date = self._logical_date()
        proposed = DagRunOrder(
            run_id=self.trigger_run_id or f"trig__{logical_date.isoformat()}",
            payload=dict(self.conf) or None,
        )
        order = python_callable(context, proposed)
        if not order:
            print("[conveyor] python_callable returned no run: criteria not met, no run triggered")
            return None
        payload = getattr(order, "payload", None)
        if payload is not None and not isinstance(payload, dict):
            raise Fail(
                f"task {self.task_id!r}: python_callable's payload is the triggered run's conf "
                f"and must be a dict, got {type(payload).__name__}"
            )
        run_id = getattr(order, "run_id", None) or proposed.run_id
        return self.trigger(context, str(run_id), payload or {}, logical_date)

    def _logical_date(self) -> datetime:
        # Not given: now, as Airflow's operator sets it (and its run id says it).
        return super()._logical_date() or utcnow()

    def default_run_id(self, context: dict[str, Any], logical_date: datetime | None) -> str:
        return f"manual__{(logical_date or utcnow()).isoformat()}"
