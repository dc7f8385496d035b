"""Human-in-the-loop operators: a task that asks a person and goes on with the answer.

``HITLOperator`` renders its subject and body, tells its notifiers, and ends its try as
``awaiting_input`` (no worker slot, no pool slot, no triggerer) with its question stored. A
person answers through ``PATCH .../hitlDetails`` or the UI's Required actions page; nobody
answering by ``response_timeout`` takes the defaults, or fails the task when it has none. The
next try resumes at :meth:`HITLOperator.execute_complete` with the answer, which is the
task's XCom. ``ApprovalOperator`` skips what follows on "Reject"; ``HITLBranchOperator``
follows the chosen options; ``HITLEntryOperator`` asks for its params only.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any, ClassVar, TypedDict
from urllib.parse import urlencode

from conveyor.exceptions import AirflowException, TaskAwaitingInput
from conveyor.model.params import NOTSET, Param, schema_error
from conveyor.model.task import BaseOperator


class HITLUser(TypedDict):
    """A person who may answer (``assigned_users``), or who answered: Airflow's ``HITLUser``."""

    id: str
    name: str


class HITLTriggerEventError(AirflowException):
    """The wait for an answer ended in an error."""


class HITLTimeoutError(HITLTriggerEventError):
    """Nobody answered by ``response_timeout`` and the task has no defaults."""


class HITLRejectException(AirflowException):
    """An ``ApprovalOperator`` with ``fail_on_reject=True`` was answered "Reject"."""


def _param_spec(value: Any) -> dict[str, Any]:
    """One param as the stored question shows it: its value, description and schema."""
    if isinstance(value, Param):
        shown = None if value.value is NOTSET else value.value
        return {"value": shown, "description": value.description, "schema": value.schema}
    return {"value": value, "description": None, "schema": {}}


class HITLOperator(BaseOperator):
    """Ask a person ``subject`` (and ``body``, Markdown) to choose among ``options`` (one, or
    several with ``multiple``) and to fill ``params``; ``defaults`` are taken when nobody
    answers by ``response_timeout``."""

    template_fields: ClassVar[Sequence[str]] = ("subject", "body")
    ui_color = "#ffd8a8"

    def __init__(
        self,
        task_id: str,
        *,
        subject: str,
        options: list[str],
        body: str | None = None,
        defaults: str | list[str] | None = None,
        multiple: bool = False,
        params: Mapping[str, Any] | None = None,
        notifiers: Sequence[Any] | Any | None = None,
        assigned_users: HITLUser | list[HITLUser] | None = None,
        response_timeout: timedelta | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        if self.execution_timeout and not response_timeout:
            # Airflow's old spelling: the wait's limit, not the try's (the try would be killed).
            warnings.warn(
                f"task {task_id!r}: passing execution_timeout to a human-in-the-loop operator "
                "to limit the wait for an answer is deprecated; use response_timeout",
                DeprecationWarning,
                stacklevel=2,
            )
            response_timeout = self.execution_timeout
            self.execution_timeout = None
        self.response_timeout = response_timeout
        self.subject = subject
        self.body = body
        self.options = list(options or [])
        self.defaults = [defaults] if isinstance(defaults, str) else defaults
        self.multiple = bool(multiple)
        if params is None:  # an Airflow file's operator: its keywords took ``params`` first
            params = getattr(self, "params", None)
        self.params: dict[str, Any] = dict(params or {})
        if notifiers is None:
            self.notifiers: list[Any] = []
        else:
            self.notifiers = list(notifiers) if isinstance(notifiers, list | tuple) else [notifiers]
        if isinstance(assigned_users, dict):
            assigned_users = [assigned_users]
        self.assigned_users: list[HITLUser] = list(assigned_users or [])
        self._validate()

    def _validate(self) -> None:
        where = f"task {self.task_id!r}"
        if not self.options:
            raise ValueError(f'{where}: "options" cannot be empty.')
        if "_options" in self.params:
            raise ValueError(f'{where}: "_options" is not allowed in params')
        if self.defaults is not None:
            if not set(self.defaults).issubset(self.options):
                raise ValueError(
                    f'{where}: defaults "{self.defaults}" should be a subset of options '
                    f'"{self.options}"'
                )
            if not self.multiple and len(self.defaults) > 1:
                raise ValueError(f'{where}: more than one default given when "multiple" is False.')

    @property
    def serialized_params(self) -> dict[str, dict[str, Any]]:
        return {key: _param_spec(value) for key, value in self.params.items()}

    def execute(self, context: dict[str, Any]) -> Any:
        """Tell the notifiers, then end the try awaiting a person's input."""
        print(f"[conveyor] waiting for a person's answer to {self.subject!r}", flush=True)
        for notifier in self.notifiers:
            notifier(context)
        raise TaskAwaitingInput(
            request={
                "subject": self.subject,
                "body": self.body,
                "options": self.options,
                "defaults": self.defaults,
                "multiple": self.multiple,
                "params": self.serialized_params,
                "assigned_users": [dict(user) for user in self.assigned_users],
            },
            method_name="execute_complete",
            timeout=self.response_timeout,
        )

    def execute_complete(self, context: dict[str, Any], event: dict[str, Any]) -> Any:
        """The answer (or the timeout's defaults): checked, and kept as the task's XCom."""
        if "error" in event:
            if event.get("error_type") == "timeout":
                raise HITLTimeoutError(event["error"])
            raise HITLTriggerEventError(event["error"])
        chosen = list(event["chosen_options"])
        params_input = dict(event.get("params_input") or {})
        self.validate_chosen_options(chosen)
        self.validate_params_input(params_input)
        responded_at = event["responded_at"]
        return {
            "chosen_options": chosen,
            "params_input": params_input,
            # XCom is JSON: the time as ISO 8601 text.
            "responded_at": getattr(responded_at, "isoformat", lambda: responded_at)(),
            "responded_by_user": event.get("responded_by_user"),
        }

    def generate_link_to_ui(
        self,
        *,
        task_instance: Any,
        base_url: str | None = None,
        options: str | list[str] | None = None,
        params_input: dict[str, Any] | None = None,
    ) -> str:
        """A link to the web UI's Required actions page for this task's question, as
        Airflow's (its base: ``base_url``, else the try's web UI address)."""
        chosen = [options] if isinstance(options, str) else list(options or [])
        if diff := set(chosen) - set(self.options):
            raise ValueError(f"options {diff} are not valid options")
        if params_input and (diff := set(params_input) - set(self.params)):
            raise ValueError(f"params {diff} are not valid params")
        base = base_url or getattr(task_instance, "_web_url", None)
        if not base:
            raise ValueError("Not able to retrieve base_url")
        query: dict[str, Any] = {"dag_id": task_instance.dag_id, "run_id": task_instance.run_id}
        query.update(task_id=task_instance.task_id, map_index=task_instance.map_index)
        if chosen:
            query["_options"] = chosen
        query.update(params_input or {})
        return f"{str(base).rstrip('/')}/required-actions?{urlencode(query, doseq=True)}"

    @staticmethod
    def generate_link_to_ui_from_context(
        *,
        context: dict[str, Any],
        base_url: str | None = None,
        options: list[str] | None = None,
        params_input: dict[str, Any] | None = None,
    ) -> str:
        task = context["task"]
        if not isinstance(task, HITLOperator):
            raise ValueError("This method only supports HITLOperator")
        return task.generate_link_to_ui(
            task_instance=context["task_instance"],
            base_url=base_url,
            options=options,
            params_input=params_input,
        )

    def validate_chosen_options(self, chosen_options: list[str]) -> None:
        if diff := set(chosen_options) - set(self.options):
            raise ValueError(f"Responses {diff} not in {self.options}")

    def validate_params_input(self, params_input: Mapping[str, Any]) -> None:
        """The params given match the task's, each valid by its Param's schema."""
        if self.params and params_input and set(self.params) ^ set(params_input):
            raise ValueError(f"params_input {params_input} does not match params {self.params}")
        for key, value in params_input.items():
            param = self.params.get(key)
            if isinstance(param, Param) and (problem := schema_error(param.schema, value)):
                raise ValueError(f"params_input.{key}: {value!r} {problem}")


class ApprovalOperator(HITLOperator):
    """Two fixed options, "Approve" and "Reject": approval lets what follows run; rejection
    skips the direct downstream tasks (every downstream task with
    ``ignore_downstream_trigger_rules``), or fails the task with ``fail_on_reject``."""

    FIXED_ARGS: ClassVar[tuple[str, ...]] = ("options", "multiple")
    APPROVE = "Approve"
    REJECT = "Reject"

    def __init__(
        self,
        task_id: str,
        *,
        ignore_downstream_trigger_rules: bool = False,
        fail_on_reject: bool = False,
        **kwargs: Any,
    ) -> None:
        for arg in self.FIXED_ARGS:
            if arg in kwargs:
                raise ValueError(f"Passing {arg} to ApprovalOperator is not allowed.")
        self.ignore_downstream_trigger_rules = bool(ignore_downstream_trigger_rules)
        self.fail_on_reject = bool(fail_on_reject)
        super().__init__(task_id, options=[self.APPROVE, self.REJECT], multiple=False, **kwargs)

    def execute_complete(self, context: dict[str, Any], event: dict[str, Any]) -> Any:
        answer = super().execute_complete(context, event)
        if answer["chosen_options"][0] == self.APPROVE:
            print("[conveyor] approved: downstream tasks go on", flush=True)
            return answer
        if self.fail_on_reject:
            raise HITLRejectException('Receive "Reject"')
        if self.downstream_task_ids:
            self.skip_downstream = "all" if self.ignore_downstream_trigger_rules else "direct"
            print("[conveyor] rejected: skipping downstream tasks", flush=True)
        return answer


class HITLBranchOperator(HITLOperator):
    """Follow the tasks the chosen options name (``options_mapping``: option -> task id;
    an option not in it names a task itself)."""

    is_branch = True

    def __init__(
        self, task_id: str, *, options_mapping: dict[str, str] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(task_id, **kwargs)
        self.options_mapping = dict(options_mapping or {})
        invalid = set(self.options_mapping) - set(self.options)
        if invalid:
            raise ValueError(
                f"`options_mapping` contains keys that are not in `options`: {sorted(invalid)}"
            )
        bad = {k: v for k, v in self.options_mapping.items() if not isinstance(v, str)}
        if bad:
            raise ValueError(f"`options_mapping` values must be strings (task_ids): {bad}")

    def execute_complete(self, context: dict[str, Any], event: dict[str, Any]) -> Any:
        answer = super().execute_complete(context, event)
        chosen = [self.options_mapping.get(option, option) for option in answer["chosen_options"]]
        print(f"[conveyor] following {chosen}", flush=True)
        return chosen


class HITLEntryOperator(HITLOperator):
    """Ask only for ``params`` (a form): one option, "OK", which is also the default."""

    OK = "OK"

    def __init__(self, task_id: str, **kwargs: Any) -> None:
        if "options" not in kwargs:
            kwargs["options"] = [self.OK]
            kwargs.setdefault("defaults", [self.OK])
        super().__init__(task_id, **kwargs)
