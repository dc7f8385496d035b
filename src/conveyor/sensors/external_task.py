"""``ExternalTaskSensor``: waits until a task of another DAG succeeded for the same date."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, ClassVar

from conveyor.exceptions import DagDefinitionError, Fail
from conveyor.sensors.base import BaseSensor
from conveyor.states import FAILED_LIKE, TaskState


class ExternalTaskSensor(BaseSensor):
    """Done when ``external_task_id`` of ``external_dag_id`` succeeded in a run with this
    run's logical date (shifted by ``execution_delta`` if given). Without a task id, when
    such a run succeeded. Fails at once if that task failed, unless it will be retried.

    ``external_task_group_id`` waits for every task of that group instead; ``allowed_states``
    (default success) and ``failed_states`` (default failed, upstream_failed) say which
    states count as done and as failed.
    """

    #: Templated as in Airflow; ``conveyor run`` also reads the DAG id from here.
    template_fields: ClassVar[tuple[str, ...]] = (
        "external_dag_id",
        "external_task_id",
        "external_task_group_id",
    )

    def __init__(
        self,
        task_id: str,
        *,
        external_dag_id: str,
        external_task_id: str | None = None,
        external_task_group_id: str | None = None,
        execution_delta: timedelta | None = None,
        allowed_states: list[str] | None = None,
        failed_states: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        if external_task_id is not None and external_task_group_id is not None:
            raise DagDefinitionError(
                f"task {task_id!r}: give external_task_id= or external_task_group_id=, not both"
            )
        self.external_dag_id = external_dag_id
        self.external_task_id = external_task_id
        self.external_task_group_id = external_task_group_id
        self.execution_delta = execution_delta or timedelta(0)
        self.allowed_states = [TaskState(s).value for s in allowed_states or ["success"]]
        self.failed_states = [TaskState(s).value for s in failed_states or sorted(FAILED_LIKE)]

    def poke(self, context: dict[str, Any]) -> Any:
        when = context["logical_date"] - self.execution_delta
        states = context["ti"].external_states(
            self.external_dag_id,
            when,
            task_id=self.external_task_id,
            group_id=self.external_task_group_id,
        )
        target = self.external_task_id or self.external_task_group_id or "(run)"
        what = f"{self.external_dag_id}.{target} at {when.isoformat()}"
        print(f"[conveyor] {self.task_id}: {what}: {states or 'no run yet'}", flush=True)
        if self.external_task_group_id is not None:  # every task of the group
            if states and all(s in self.allowed_states for s in states):
                return True
            if any(s in self.failed_states for s in states):
                raise Fail(f"{what}: a task of the group ended in {self.failed_states}")
            return False
        if any(s in self.allowed_states for s in states):
            return True
        if states and all(s in self.failed_states for s in states):
            raise Fail(f"{what} ended {states[0]}: it will not succeed")
        return False
