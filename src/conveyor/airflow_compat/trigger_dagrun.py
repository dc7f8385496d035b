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
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from conveyor.clock import utcnow
from conveyor.operators import trigger_dagrun

#: The XCom key Airflow's operator pushes the triggered run's id under.
TRIGGER_RUN_ID_KEY = "trigger_run_id"


class TriggerDagRunOperator(trigger_dagrun.TriggerDagRunOperator):
    """``TriggerDagRunOperator`` as Airflow's files mean it: a new run per try."""

    retry_finds_its_run: ClassVar[bool] = False
    failed_run_is_final: ClassVar[bool] = False  # Airflow retries a failed triggered run
    taken_run_id_is_final: ClassVar[bool] = True  # Airflow 3 fails it without retries

    def execute(self, context: dict[str, Any]) -> Any:
        made = super().execute(context)
        # Airflow's key for the run it triggered (its extra link reads it; DAG files too).
        context["ti"].xcom_push(TRIGGER_RUN_ID_KEY, made["run_id"])
        return made

    def _logical_date(self) -> datetime | None:
        # Not given: now, as Airflow's operator sets it (and its run id says it).
        return super()._logical_date() or utcnow()

    def default_run_id(self, context: dict[str, Any], logical_date: datetime | None) -> str:
        return f"manual__{(logical_date or utcnow()).isoformat()}"
