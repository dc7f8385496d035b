"""``TriggerDagRunOperator``: start a run of another DAG, and optionally wait for it."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from conveyor import strict_json
from conveyor.exceptions import DagDefinitionError, Fail, NotFoundError, Skip, TaskError
from conveyor.model.params import ConfRefused
from conveyor.model.task import BaseOperator, _as_timedelta
from conveyor.run_ids import check_run_id, run_id_problem
from conveyor.states import RUN_FINISHED, RunState

#: How long a trigger waits for its target DAG to be registered, and how often it looks.
TARGET_WAIT_SECONDS = 60.0
TARGET_POLL_SECONDS = 1.0


class TriggerDagRunOperator(BaseOperator):
    """Create a manual run of ``trigger_dag_id`` (its newest version) with ``conf``.

    The run id defaults to one derived from this task's own run, so a retry of this task
    finds the run it made before instead of starting a second one. A run of that id made by
    anyone else is Airflow's "already exists": ``reset_dag_run=True`` clears it so that it
    runs again, else ``skip_when_already_exists=True`` skips this task, else the try fails.

    With ``wait_for_completion`` the task polls every ``poke_interval`` until the run's state
    is in ``allowed_states`` (default success) or ``failed_states`` (default failed), and
    fails in the latter case, or when the run ended in a state neither lists. Returns
    ``{"dag_id", "run_id", "state"}``.
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
        where = f"task {task_id!r}"
        # Airflow: no allowed_states (None or empty) means success; failed_states=[] means none.
        self.allowed_states = _run_states(
            allowed_states or None, [RunState.SUCCESS], f"{where}: allowed_states"
        )
        self.failed_states = _run_states(
            failed_states, [RunState.FAILED], f"{where}: failed_states"
        )
        self.reset_dag_run = bool(reset_dag_run)
        self.skip_when_already_exists = bool(skip_when_already_exists)
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
        self.deferrable = bool(deferrable)

    #: Whether a run an earlier try of this task made is taken as this try's (Conveyor's
    #: default run id makes a retry find it); Airflow's face makes a new run per try instead.
    retry_finds_its_run: ClassVar[bool] = True
    #: Whether a triggered run that ended in ``failed_states`` fails the try for good (a
    #: retry would find the same run) or as an error retries may answer (Airflow's face).
    failed_run_is_final: ClassVar[bool] = True
    #: Whether a run id that is taken fails the try for good (Airflow 3's face) or as an
    #: error retries may answer.
    taken_run_id_is_final: ClassVar[bool] = False

    def execute(self, context: dict[str, Any]) -> Any:
        logical_date = self._logical_date()
        run_id = self.trigger_run_id or self.default_run_id(context, logical_date)
        return self.trigger(context, run_id, self.conf, logical_date)

    def trigger(
        self,
        context: dict[str, Any],
        run_id: str,
        conf: dict[str, Any],
        logical_date: datetime | None,
    ) -> dict[str, Any]:
        """Make (or find, or clear) the run ``run_id`` with ``conf``, wait for it if asked."""
        ti = context["ti"]
        run_id = check_run_id(run_id)
        run_pk = self._create_run(ti, run_id, conf, logical_date)
        verb = "triggered"
        if run_pk is None:
            verb = self._when_it_exists(ti, run_id)
        print(f"[conveyor] {verb} run {run_id} of DAG {self.trigger_dag_id}", flush=True)
        state = ti.dag_run_state(self.trigger_dag_id, run_id)
        if self.wait_for_completion:
            state = self._wait(ti, run_id, state)
        return {"dag_id": self.trigger_dag_id, "run_id": run_id, "state": state.value}

    def default_run_id(self, context: dict[str, Any], logical_date: datetime | None) -> str:
        """The run id when ``trigger_run_id`` is not given: derived from this task's run, so
        a retry finds the run an earlier try made."""
        return f"triggered__{context['dag'].dag_id}__{context['run_id']}__{self.task_id}"[:250]

    def _when_it_exists(self, ti: Any, run_id: str) -> str:
        """The run id is taken: by an earlier try of this task (use it), or else as
        ``reset_dag_run`` and ``skip_when_already_exists`` say."""
        if self.retry_finds_its_run and ti.made_dag_run(self.trigger_dag_id, run_id):
            return "found (made by an earlier try)"
        if self.reset_dag_run:
            ti.reset_dag_run(self.trigger_dag_id, run_id)
            return "cleared (reset_dag_run) the existing"
        if self.skip_when_already_exists:
            raise Skip(f"DAG {self.trigger_dag_id!r} already has a run {run_id!r}")
        error = Fail if self.taken_run_id_is_final else TaskError
        raise error(
            f"DAG {self.trigger_dag_id!r} already has a run {run_id!r} (DagRunAlreadyExists): "
            "give reset_dag_run=True to run it again, or skip_when_already_exists=True"
        )

    def _wait(self, ti: Any, run_id: str, state: RunState) -> RunState:
        while True:
            if state in self.failed_states:
                raise (Fail if self.failed_run_is_final else TaskError)(
                    f"the triggered run {run_id} of DAG {self.trigger_dag_id} ended "
                    f"{state.value}, one of failed_states "
                    f"({', '.join(s.value for s in self.failed_states)})"
                )
            if state in self.allowed_states:
                return state
            if state in RUN_FINISHED:  # it will not change again: waiting would be forever
                raise Fail(
                    f"the triggered run {run_id} of DAG {self.trigger_dag_id} ended "
                    f"{state.value}, in neither allowed_states nor failed_states"
                )
            time.sleep(self.poke_interval.total_seconds() if self.poke_interval else 1)
            state = ti.dag_run_state(self.trigger_dag_id, run_id)

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

    def _create_run(
        self, ti: Any, run_id: str, conf: dict[str, Any], logical_date: datetime | None
    ) -> int | None:
        """Make the run, waiting up to ``TARGET_WAIT_SECONDS`` for a target DAG not parsed
        yet: at scheduler start an ``@once`` DAG can run before the folder is all parsed."""
        deadline = time.monotonic() + TARGET_WAIT_SECONDS
        while True:
            try:
                made: int | None = ti.trigger_dag_run(
                    self.trigger_dag_id,
                    run_id=run_id,
                    conf=conf,
                    logical_date=logical_date,
                )
                return made
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


def _run_states(values: Any, default: list[RunState], where: str) -> list[RunState]:
    """Airflow's run states, as given (strings or states); ``default`` when None."""
    if values is None:
        return list(default)
    if isinstance(values, str):
        values = [values]
    found = []
    for value in values:
        try:
            found.append(RunState(getattr(value, "value", value)))
        except ValueError:
            names = ", ".join(s.value for s in RunState)
            raise DagDefinitionError(
                f"{where}: {value!r} is not a run state; expected {names}"
            ) from None
    return found
