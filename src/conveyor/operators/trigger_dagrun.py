"""``TriggerDagRunOperator``: start a run of another DAG, and optionally wait for it."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any, ClassVar

from conveyor import strict_json
from conveyor.exceptions import DagDefinitionError, Fail, NotFoundError
from conveyor.model.params import ConfRefused
from conveyor.model.task import BaseOperator, _as_timedelta
from conveyor.run_ids import check_run_id, run_id_problem
from conveyor.states import RunState

#: How long a trigger waits for its target DAG to be registered, and how often it looks.
TARGET_WAIT_SECONDS = 60.0
TARGET_POLL_SECONDS = 1.0


class TriggerDagRunOperator(BaseOperator):
    """Create a manual run of ``trigger_dag_id`` (its newest version) with ``conf``.

    The run id defaults to one derived from this task's own run, so a retry of this task
    finds the run it made before instead of starting a second one. With
    ``wait_for_completion`` the task polls every ``poke_interval`` until that run ends and
    fails if it failed. Returns ``{"dag_id", "run_id", "state"}``.
    """

    template_fields: ClassVar[tuple[str, ...]] = ("trigger_dag_id", "conf", "trigger_run_id")
    ui_color = "#ffefeb"

    def __init__(
        self,
        task_id: str,
        *,
        trigger_dag_id: str,
        conf: dict[str, Any] | None = None,
        trigger_run_id: str | None = None,
        logical_date: datetime | None = None,
        wait_for_completion: bool = False,
        poke_interval: timedelta | float = 10,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        self.trigger_dag_id = trigger_dag_id
        self.conf = dict(conf or {})
        # NaN or a lone surrogate: no template rendering makes it strict JSON later.
        found = strict_json.problem(self.conf, "conf")
        if found is not None:
            raise DagDefinitionError(f"task {task_id!r}: {found} ({strict_json.RULE})")
        if trigger_run_id is not None and "{" not in trigger_run_id:  # a template: when run
            problem = run_id_problem(trigger_run_id)
            if problem is not None:
                raise DagDefinitionError(f"task {task_id!r}: trigger_run_id: {problem}")
        self.trigger_run_id = trigger_run_id
        self.logical_date = logical_date
        self.wait_for_completion = bool(wait_for_completion)
        self.poke_interval = _as_timedelta(poke_interval, f"task {self.task_id!r}: poke_interval")

    def execute(self, context: dict[str, Any]) -> Any:
        ti = context["ti"]
        run_id = check_run_id(
            self.trigger_run_id
            or (f"triggered__{context['dag'].dag_id}__{context['run_id']}__{self.task_id}")[:250]
        )
        run_pk = self._create_run(ti, run_id)
        verb = "triggered" if run_pk is not None else "found (made by an earlier try)"
        print(f"[conveyor] {verb} run {run_id} of DAG {self.trigger_dag_id}", flush=True)
        state = ti.dag_run_state(self.trigger_dag_id, run_id)
        while self.wait_for_completion and state not in (RunState.SUCCESS, RunState.FAILED):
            time.sleep(self.poke_interval.total_seconds() if self.poke_interval else 1)
            state = ti.dag_run_state(self.trigger_dag_id, run_id)
        if self.wait_for_completion and state is RunState.FAILED:
            raise Fail(f"the triggered run {run_id} of DAG {self.trigger_dag_id} failed")
        return {"dag_id": self.trigger_dag_id, "run_id": run_id, "state": state.value}

    def _create_run(self, ti: Any, run_id: str) -> int | None:
        """Make the run, waiting up to ``TARGET_WAIT_SECONDS`` for a target DAG not parsed
        yet: at scheduler start an ``@once`` DAG can run before the folder is all parsed."""
        deadline = time.monotonic() + TARGET_WAIT_SECONDS
        while True:
            try:
                return ti.trigger_dag_run(
                    self.trigger_dag_id,
                    run_id=run_id,
                    conf=self.conf,
                    logical_date=self.logical_date,
                )
            except ConfRefused as refused:  # the check every trigger makes: no retry helps
                raise Fail(f"conf for DAG {self.trigger_dag_id!r} refused: {refused}") from None
            except NotFoundError:
                if time.monotonic() >= deadline:
                    raise
                print(
                    f"[conveyor] DAG {self.trigger_dag_id!r} is not registered yet; "
                    "waiting for it to be parsed",
                    flush=True,
                )
                time.sleep(TARGET_POLL_SECONDS)
