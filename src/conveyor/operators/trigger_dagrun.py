"""``TriggerDagRunOperator``: start a run of another DAG, and optionally wait for it."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from conveyor import strict_json
from conveyor.exceptions import DagDefinitionError, Fail, NotFoundError, Skip
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
    ``wait_for_completion`` the task polls every ``poke_interval`` until that run is in one
    of ``allowed_states`` (default success: the task succeeds) or ``failed_states`` (default
    failed: the task fails). ``logical_date`` may be a template (``"{{ logical_date }}"``).
    ``skip_when_already_exists`` skips the task when the run exists already (made by an
    earlier try); ``reset_dag_run`` is accepted, and such a run is waited on as it is rather
    than cleared. ``deferrable`` waits in the worker. Returns ``{"dag_id", "run_id",
    "state"}``.
    """

    template_fields: ClassVar[tuple[str, ...]] = (
        "trigger_dag_id",
        "conf",
        "trigger_run_id",
        "logical_date",
    )
    ui_color = "#ffefeb"

    def __init__(
        self,
        task_id: str,
        *,
        trigger_dag_id: str,
        conf: dict[str, Any] | None = None,
        trigger_run_id: str | None = None,
        logical_date: datetime | str | None = None,
        wait_for_completion: bool = False,
        poke_interval: timedelta | float = 10,
        allowed_states: list[str] | None = None,
        failed_states: list[str] | None = None,
        reset_dag_run: bool = False,
        skip_when_already_exists: bool = False,
        deferrable: bool = False,
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
        # Airflow: no allowed_states (None or empty) means success; failed_states=[] means none.
        self.allowed_states = _run_states(
            task_id, "allowed_states", allowed_states or None, "success"
        )
        self.failed_states = _run_states(task_id, "failed_states", failed_states, "failed")
        self.reset_dag_run = bool(reset_dag_run)
        self.skip_when_already_exists = bool(skip_when_already_exists)
        self.deferrable = bool(deferrable)

    def execute(self, context: dict[str, Any]) -> Any:
        ti = context["ti"]
        run_id = check_run_id(
            self.trigger_run_id
            or (f"triggered__{context['dag'].dag_id}__{context['run_id']}__{self.task_id}")[:250]
        )
        run_pk = self._create_run(ti, run_id)
        if run_pk is None and self.skip_when_already_exists:
            raise Skip(f"run {run_id} of DAG {self.trigger_dag_id} exists already")
        verb = "triggered" if run_pk is not None else "found (made by an earlier try)"
        print(f"[conveyor] {verb} run {run_id} of DAG {self.trigger_dag_id}", flush=True)
        state = ti.dag_run_state(self.trigger_dag_id, run_id)
        ends = {*self.allowed_states, *self.failed_states}
        while self.wait_for_completion and state not in ends:
            time.sleep(self.poke_interval.total_seconds() if self.poke_interval else 1)
            state = ti.dag_run_state(self.trigger_dag_id, run_id)
        if self.wait_for_completion and state in self.failed_states:
            raise Fail(
                f"the triggered run {run_id} of DAG {self.trigger_dag_id} ended {state.value}, "
                f"one of failed_states ({', '.join(s.value for s in self.failed_states)})"
            )
        return {"dag_id": self.trigger_dag_id, "run_id": run_id, "state": state.value}

    def _logical_date(self) -> datetime | None:
        """The logical date given, a rendered template's text read as an ISO date-time."""
        found = self.logical_date
        if found is None or isinstance(found, datetime):
            return found
        text = str(found).strip()
        if not text or text == "None":
            return None
        try:
            parsed = datetime.fromisoformat(text.replace(" ", "T", 1))
        except ValueError:
            raise Fail(
                f"task {self.task_id!r}: logical_date {text!r} is not an ISO date-time"
            ) from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)

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
                    logical_date=self._logical_date(),
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


def _run_states(task_id: str, name: str, given: list[str] | None, default: str) -> list[RunState]:
    """Airflow's run-state names (``"success"``, ``DagRunState.FAILED``) as run states."""
    found = []
    for state in [default] if given is None else given:
        try:
            found.append(RunState(str(getattr(state, "value", state)).lower()))
        except ValueError:
            known = ", ".join(s.value for s in RunState)
            raise DagDefinitionError(
                f"task {task_id!r}: {name}: {state!r} is not a run state ({known})"
            ) from None
    return found
